// Checks generated API documents with the ecosystem's own validators:
//   node validate-specs.mjs asyncapi FILE...   (@asyncapi/parser)
//   node validate-specs.mjs openapi FILE...    (@seriousme/openapi-schema-validator)
// Prints every finding; exits 1 when any document has an error, or an
// AsyncAPI message an example that its payload schema refuses.
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const [kind, ...files] = process.argv.slice(2);
if (!["asyncapi", "openapi"].includes(kind) || files.length === 0) {
  console.error("usage: node validate-specs.mjs asyncapi|openapi FILE...");
  process.exit(2);
}

let failed = false;
for (const file of files) {
  const text = await readFile(file, "utf8");
  if (kind === "asyncapi") {
    const diagnostics = await new Parser().validate(text, { source: file });
    const names = Object.fromEntries(
      Object.entries(DiagnosticSeverity).map(([k, v]) => [v, k]),
    );
    for (const d of diagnostics) {
      console.log(`${file}: ${names[d.severity]} ${d.code} at ${d.path.join(".")}: ${d.message}`);
    }
    const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
    // The parser does not check examples against their payloads: Ajv does.
    const { document } = await new Parser().parse(text, { source: file });
    for (const message of document?.allMessages() ?? []) {
      const payload = message.payload()?.json();
      if (!payload) continue;
      const ajv = new Ajv({ strict: false, allErrors: true });
      addFormats(ajv);
      const check = ajv.compile(payload);
      for (const example of message.examples()) {
        if (!check(example.payload())) {
          const why = ajv.errorsText(check.errors);
          console.log(`${file}: Error example of message ${message.id()} does not match its payload: ${why}`);
          errors.push({ example: message.id() });
        }
      }
    }
    console.log(`${file}: AsyncAPI ${errors.length === 0 ? "valid" : "INVALID"} (${errors.length} errors, ${diagnostics.length} diagnostics)`);
    failed ||= errors.length > 0;
  } else {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(text));
    if (!result.valid) {
      console.log(JSON.stringify(result.errors, null, 2));
    }
    console.log(`${file}: OpenAPI ${validator.version} ${result.valid ? "valid" : "INVALID"}`);
    failed ||= !result.valid;
  }
}
process.exit(failed ? 1 : 0);
