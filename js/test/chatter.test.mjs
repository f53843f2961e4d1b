// chatter's generated browser client against a real chatter server
// (NAGARE_URL), with Node's test runner and Node's own WebSocket and fetch:
// every method, and the error paths before and after the upgrade.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatterClient, NagareError } from "./chatter.js";
import { next } from "./support.mjs";

const client = new ChatterClient(process.env.NAGARE_URL);
const token = await client.login({ user: "goa", password: "rocks" });

test("login hands out a token, and a wrong password is the designed 401", async () => {
  assert.equal(typeof token, "string");
  await assert.rejects(client.login({ user: "goa", password: "wrong" }), (e) => {
    assert.ok(e instanceof NagareError);
    assert.equal(e.kind, "designed");
    assert.equal(e.status, 401);
    assert.equal(e.error, "unauthorized");
    assert.equal(e.temporary, false);
    return true;
  });
});

test("echoer echoes each message in order, and ends cleanly", async () => {
  const echo = client.echoer({ token });
  for (const m of ["one", "two", "three"]) await echo.send(m);
  for (const m of ["one", "two", "three"]) assert.deepEqual(await next(echo), { value: m, done: false });
  await echo.end();
  assert.deepEqual(await next(echo), { value: undefined, done: true });
  assert.equal(echo.state.state, "closed");
  assert.equal(echo.state.error, undefined);
});

test("subscribe sees what listener sends, and who lists the subscriber", async () => {
  const events = client.subscribe({ token, name: "node" });
  await events.opened();
  const who = await client.who({ token });
  assert.ok(who.some((s) => s.name === "node"), JSON.stringify(who));
  const listener = client.listener({ token });
  const text = `hello ${Date.now()}`;
  await listener.send(text);
  await listener.end();
  for (;;) {
    const { value } = await next(events);
    if (value.message === text) {
      assert.equal(value.action, "added");
      assert.ok(!Number.isNaN(Date.parse(value.added_at)));
      break;
    }
  }
  assert.equal(typeof events.position.epoch, "string");
  assert.ok(events.position.seq > 0);
  events.close();
  assert.equal(events.state.state, "closed");
});

test("summary answers with one result after the client's stream", async () => {
  const summary = client.summary({ token });
  await summary.send("a");
  await summary.send("bcd");
  const result = await summary.result();
  assert.deepEqual(result.map((s) => [s.message, s.length]), [["a", 1], ["bcd", 3]]);
});

test("history renders the view the client asks for, and refuses an unknown one", async () => {
  const listener = client.listener({ token });
  await listener.send("for history");
  await listener.end();
  const tiny = [];
  for await (const h of client.history({ token, view: "tiny" })) tiny.push(h);
  assert.ok(tiny.length > 0);
  for (const h of tiny) assert.deepEqual(Object.keys(h), ["message"]);
  const full = [];
  for await (const h of client.history({ token })) full.push(h);
  assert.ok(full.every((h) => typeof h.sent_at === "string"));
  await assert.rejects(client.history({ token, view: "nope" }).opened(), (e) => {
    assert.equal(e.kind, "http");
    assert.equal(e.status, 400);
    return true;
  });
});

test("a stream with a bad token is refused before the upgrade with the designed 401", async () => {
  const stream = client.echoer({ token: "not-a-jwt" });
  await assert.rejects(stream.opened(), (e) => {
    assert.ok(e instanceof NagareError);
    assert.equal(e.kind, "designed");
    assert.equal(e.status, 401);
    assert.equal(e.error, "unauthorized");
    return true;
  });
  assert.equal(stream.state.state, "closed");
  await assert.rejects(stream.next(), (e) => e.kind === "designed");
});

test("a token without the scope is refused with the designed 403", async () => {
  const stream = client.echoer({ token: process.env.READ_ONLY_TOKEN });
  await assert.rejects(stream.opened(), (e) => {
    assert.equal(e.kind, "designed");
    assert.equal(e.status, 403);
    assert.equal(e.error, "invalid-scopes");
    return true;
  });
  // The same token reads.
  const history = client.history({ token: process.env.READ_ONLY_TOKEN });
  await history.opened();
  history.close();
});
