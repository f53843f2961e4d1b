// The client runtime (nagare-client.js) against a peer that misbehaves on
// purpose (FAKE_URL, a scripted WebSocket server of the Rust test): every
// way a stream can end, as a typed error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { NagareError, Request, Stream } from "./nagare-client.js";

const base = process.env.FAKE_URL;
const stream = (path, resumable = false) => new Stream(new Request(base, path), { resumable, retry: false });

async function drain(s) {
  const got = [];
  try {
    for await (const v of s) got.push(v);
  } catch (e) {
    return { got, error: e };
  }
  return { got, error: undefined };
}

test("close 4000 is the designed error named in its reason", async () => {
  const { error } = await drain(stream("/designed-close"));
  assert.ok(error instanceof NagareError);
  assert.equal(error.kind, "designed");
  assert.equal(error.code, 4000);
  assert.equal(error.error, "rejected");
  assert.equal(error.data, "too many");
});

test("over nagare.v1 the designed error arrives whole before its close", async () => {
  const { got, error } = await drain(stream("/designed-frame", true));
  assert.deepEqual(got, ["one"]);
  assert.equal(error.kind, "designed");
  assert.equal(error.error, "rejected");
  assert.deepEqual(error.data, { reason: "a reason longer than a close frame could carry", code: 7 });
});

test("a gap in the numbers is a protocol error, never hidden", async () => {
  const { got, error } = await drain(stream("/gap", true));
  assert.deepEqual(got, ["one"]);
  assert.equal(error.kind, "protocol");
  assert.match(error.message, /gap.*3 after 1/);
});

test("close 4010 says the stream cannot resume", async () => {
  const { error } = await drain(stream("/behind", true));
  assert.equal(error.kind, "too_far_behind");
  assert.equal(error.code, 4010);
  assert.match(error.reason, /is gone/);
});

test("close 1011 is a closed error that trying again may fix", async () => {
  const { error } = await drain(stream("/internal"));
  assert.equal(error.kind, "closed");
  assert.equal(error.code, 1011);
  assert.equal(error.temporary, true);
});

test("a binary message where JSON text is expected is a protocol error", async () => {
  const { error } = await drain(stream("/binary"));
  assert.equal(error.kind, "protocol");
});

test("a new epoch mid-stream is reported as a restart, and numbering goes on from it", async () => {
  const s = stream("/restart", true);
  const states = [];
  s.onState((st) => states.push(st));
  const { got, error } = await drain(s);
  assert.equal(error, undefined);
  assert.deepEqual(got, ["one", "eleven"]);
  assert.ok(states.some((st) => st.state === "open" && st.restarted === true && st.resumedAfter === 10), JSON.stringify(states));
  assert.deepEqual(s.position, { epoch: "e2", seq: 11 });
});
