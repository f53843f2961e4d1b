// The guide's generated browser client against a real guide server
// (NAGARE_URL), with Node's test runner: every method, the errors before the
// upgrade, and a resumable subscription through a fault-injecting proxy
// (NAGARE_PROXY_URL; CONTROL_URL/cut drops its connections) that loses
// nothing and repeats nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatClient, MonitorClient, NagareError, RetryPolicy } from "./guide.js";
import { next } from "./support.mjs";

const chat = new ChatClient(process.env.NAGARE_URL);
const monitor = new MonitorClient(process.env.NAGARE_URL);

test("echo answers every message in order", async () => {
  const echo = chat.echo();
  for (let i = 0; i < 20; i++) await echo.send({ message: `m${i}` });
  for (let i = 0; i < 20; i++) assert.deepEqual((await next(echo)).value, { message: `m${i}` });
  await echo.end();
  assert.equal((await next(echo)).done, true);
});

test("an invalid message closes the stream with 1007 and the validation's words", async () => {
  const echo = chat.echo();
  await echo.send({ message: "" });
  await assert.rejects(next(echo), (e) => {
    assert.ok(e instanceof NagareError);
    assert.equal(e.kind, "closed");
    assert.equal(e.code, 1007);
    assert.match(e.reason, /length of message/);
    assert.equal(e.temporary, false);
    return true;
  });
});

test("analytics renders the chosen view, and refuses bad parameters before the upgrade", async () => {
  const updates = [];
  for await (const u of monitor.analytics({ view: "summary", rounds: 1, interval_ms: 10 })) updates.push(u);
  assert.ok(updates.length > 0);
  for (const u of updates) assert.deepEqual(Object.keys(u).sort(), ["metric", "value"]);
  await assert.rejects(monitor.analytics({ interval_ms: 5 }).opened(), (e) => {
    assert.equal(e.kind, "http");
    assert.equal(e.status, 400);
    assert.match(e.data.message, /interval_ms/);
    return true;
  });
  await assert.rejects(monitor.analytics({ view: "nope" }).opened(), (e) => e.status === 400);
});

test("a subscription through drops resumes where it stopped: nothing lost, nothing twice", async () => {
  const proxied = new ChatClient(process.env.NAGARE_PROXY_URL);
  const events = proxied.subscribe({}, { retry: new RetryPolicy({ initialMs: 20, maxMs: 200 }) });
  const states = [];
  events.onState((s) => states.push(s.state === "open" && s.resumedAfter !== undefined ? `open after ${s.resumedAfter}` : s.state));
  await events.opened();
  const tag = `cut-${Date.now()}`;
  const listener = chat.listener();
  const total = 60;
  const seen = [];
  for (let i = 0; i < total; i++) {
    await listener.send({ message: `${tag} ${i}` });
    if (i % 20 === 10) {
      // Drop the subscriber's connection mid-stream.
      const r = await fetch(`${process.env.CONTROL_URL}/cut`);
      assert.equal(r.status, 200);
    }
  }
  await listener.end();
  while (seen.length < total) {
    const { value } = await next(events, 10_000);
    if (value.message.startsWith(tag)) seen.push(value.message);
  }
  assert.deepEqual(seen, Array.from({ length: total }, (_, i) => `${tag} ${i}`));
  assert.ok(states.includes("reconnecting"), states.join(", "));
  assert.ok(states.some((s) => s.startsWith("open after")), states.join(", "));
  events.close();
});

test("a server that is not there is a temporary network error", async () => {
  const gone = new ChatClient("http://127.0.0.1:9");
  await assert.rejects(gone.echo().opened(), (e) => {
    assert.equal(e.kind, "network");
    assert.equal(e.temporary, true);
    return true;
  });
});
