// The chatter page in headless Chromium (Debian's, driven by playwright-core
// through executablePath), against a real chatter (NAGARE_URL) that
// CONTROL_URL/restart kills and starts again on the same port. Each scenario
// leaves a screenshot of its end state in SCREENSHOTS for a person to look at.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = process.env.NAGARE_URL;
const shots = process.env.SCREENSHOTS;
let context;
let profile;

before(async () => {
  await mkdir(shots, { recursive: true });
  profile = await mkdtemp(join(tmpdir(), "nagare-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1100, height: 720 },
    // The https:// scenario's server has a certificate of the test's own CA.
    ignoreHTTPSErrors: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

/** A new page on the chatter page, its errors logged. */
async function open(origin = base) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`page error: ${e.message}`));
  await page.goto(`${origin}/`);
  return page;
}

async function signIn(page, password = "rocks") {
  await page.fill("#user", "goa");
  await page.fill("#password", password);
  await page.click("#sign-in");
}

/** Signs in and waits for the subscription; the state badge's changes are recorded in `window.states`. */
async function live(page) {
  await signIn(page);
  await page.waitForSelector("#chat:not([hidden])");
  await page.waitForSelector('#state[data-state="open"]');
  await page.evaluate(() => {
    const badge = document.querySelector("#state");
    window.states = [badge.dataset.state];
    // One callback may stand for several changes made in one task (the
    // runtime reports "reconnecting" and then "connecting" at once when a
    // connection drops): each record's old value is the state the change
    // before it set, so every state is kept, in order.
    new MutationObserver((records) => {
      for (const r of records.slice(1)) window.states.push(r.oldValue);
      window.states.push(badge.dataset.state);
    }).observe(badge, { attributes: true, attributeFilter: ["data-state"], attributeOldValue: true });
  });
}

async function say(page, text) {
  // A page behind another gets no animation frames, and the click's
  // stability check waits on them (about a second): the page says its
  // line in front.
  await page.bringToFront();
  await page.fill("#text", text);
  await page.click("#send");
  await page.waitForFunction(() => document.querySelector("#text").value === "", null, { timeout: 15_000, polling: 50 });
}

const shown = (page) =>
  page.$$eval("#messages li[data-message]", (items) => items.map((li) => li.dataset.message));

async function waitShown(page, texts) {
  await page.waitForFunction(
    (wanted) => {
      const seen = [...document.querySelectorAll("#messages li[data-message]")].map((li) => li.dataset.message);
      return wanted.every((w) => seen.includes(w));
    },
    texts,
    // Polled on a timer: a page in the background gets no animation frames.
    { timeout: 15_000, polling: 50 },
  );
}

test("two pages log in and see each other's messages, in the same order", async () => {
  const [a, b] = [await open(), await open()];
  await live(a);
  await live(b);
  // The first scenario: the server's chat is empty, so plain words will do.
  const texts = ["Hello from the first page", "Hi! The second page here", "Both pages see this third, in order"];
  await say(a, texts[0]);
  await say(b, texts[1]);
  await say(a, texts[2]);
  for (const page of [a, b]) {
    await waitShown(page, texts);
    const mine = (await shown(page)).filter((m) => texts.includes(m));
    assert.deepEqual(mine, texts);
  }
  await a.waitForFunction(() => document.querySelectorAll("#who li").length > 0, null, { polling: 50 });
  await a.screenshot({ path: join(shots, "two-pages-a.png") });
  await b.screenshot({ path: join(shots, "two-pages-b.png") });
  await a.close();
  await b.close();
});

test("history renders in the view the page picks", async () => {
  const page = await open();
  await live(page);
  await say(page, "for the history");
  await page.selectOption("#view", "tiny");
  await page.click("#load-history");
  await page.waitForSelector('#history[data-view="tiny"] li');
  assert.equal(await page.$$eval("#history li time", (t) => t.length), 0, "the tiny view has no times");
  await page.selectOption("#view", "default");
  await page.click("#load-history");
  await page.waitForSelector('#history[data-view="default"] li time');
  const items = await page.$$eval("#history li", (l) => l.length);
  assert.equal(await page.$$eval("#history li time", (t) => t.length), items, "the full view has a time per message");
  await page.screenshot({ path: join(shots, "history.png") });
  await page.close();
});

test("a wrong password shows the designed error", async () => {
  const page = await open();
  await signIn(page, "wrong");
  await page.waitForFunction(() => document.querySelector("#login-error").textContent !== "", null, { polling: 50 });
  assert.match(await page.textContent("#login-error"), /^unauthorized/);
  assert.equal(await page.isHidden("#chat"), true);
  await page.screenshot({ path: join(shots, "wrong-password.png") });
  await page.close();
});

test("Chromium negotiates permessage-deflate and sends the token as a subprotocol, never in a URL", async () => {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  const urls = [];
  const requests = [];
  const responses = [];
  cdp.on("Network.requestWillBeSent", (e) => urls.push(e.request.url));
  cdp.on("Network.webSocketCreated", (e) => urls.push(e.url));
  cdp.on("Network.webSocketWillSendHandshakeRequest", (e) => requests.push(e.request.headers));
  cdp.on("Network.webSocketHandshakeResponseReceived", (e) => responses.push(e.response.headers));
  await page.goto(`${base}/`);
  await live(page);
  await say(page, "compressed or not, it flows");
  await waitShown(page, ["compressed or not, it flows"]);
  const header = (headers, name) =>
    Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1] ?? "";
  assert.ok(responses.length >= 2, `${responses.length} upgrades seen`);
  for (const r of responses) assert.match(header(r, "Sec-WebSocket-Extensions"), /permessage-deflate/);
  for (const r of requests) assert.match(header(r, "Sec-WebSocket-Protocol"), /nagare\.bearer\./);
  assert.ok(urls.length > 0);
  for (const u of urls) assert.doesNotMatch(u, /eyJ/, `a token in ${u}`);
  await page.screenshot({ path: join(shots, "compression.png") });
  await page.close();
});

/** Waits until the recorded states satisfy `done`; a timeout says which states were seen. */
async function waitStates(page, done, what) {
  try {
    await page.waitForFunction(done, null, { timeout: 15_000, polling: 50 });
  } catch (e) {
    const states = await page.evaluate(() => window.states).catch(() => "unreadable");
    throw new Error(`${what}: not seen in 15 s; states ${JSON.stringify(states)}`, { cause: e });
  }
}

// Its waits (a restart, then up to 15 s each) may add up to more than the
// runner's default timeout, which would hide which one failed.
test("the server killed and restarted: the page shows reconnecting, then carries on without duplicates", { timeout: 60_000 }, async () => {
  const page = await open();
  await live(page);
  await say(page, "before the restart");
  await waitShown(page, ["before the restart"]);
  const r = await fetch(`${process.env.CONTROL_URL}/restart`);
  assert.equal(r.status, 200, await r.text());
  await waitStates(page, () => window.states.includes("reconnecting"), "reconnecting");
  await waitStates(page, () => window.states.at(-1) === "open", "open again");
  // The restarted server kept nothing: the page says so instead of hiding it.
  await page.waitForSelector("#messages li.notice");
  assert.match(await page.textContent("#messages li.notice"), /restarted/);
  // The list of who is here is refreshed after the restart, too.
  await page.waitForSelector("#who li");
  await say(page, "after the restart");
  await waitShown(page, ["after the restart"]);
  const messages = await shown(page);
  for (const m of ["before the restart", "after the restart"]) {
    assert.equal(messages.filter((x) => x === m).length, 1, `${m} shown once: ${messages}`);
  }
  assert.equal(await page.getAttribute("#state", "data-state"), "open");
  await page.screenshot({ path: join(shots, "restart.png") });
  await page.close();
});

test("served over https, the page streams over wss", async () => {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  const sockets = [];
  cdp.on("Network.webSocketCreated", (e) => sockets.push(e.url));
  await page.goto(`${process.env.NAGARE_TLS_URL}/`);
  await live(page);
  await say(page, "over wss");
  await waitShown(page, ["over wss"]);
  assert.ok(sockets.length >= 2, sockets.join(", "));
  for (const url of sockets) assert.match(url, /^wss:\/\/localhost:/);
  await page.screenshot({ path: join(shots, "tls.png") });
  await page.close();
});
