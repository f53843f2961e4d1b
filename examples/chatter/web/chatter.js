import { ChatterClient, NagareError, RetryPolicy } from "/js/chatter.js";

const chatter = new ChatterClient(location.origin);
const $ = (id) => document.getElementById(id);
let token;
let echo;

/** Words for an error, as a person reads them. */
function describe(e) {
  if (e instanceof NagareError) {
    if (e.kind === "designed") return `${e.error}: ${typeof e.data === "string" ? e.data : JSON.stringify(e.data)}`;
    if (e.kind === "http") return e.data?.message ?? `HTTP ${e.status}`;
    if (e.kind === "closed") return `connection closed (${e.code}${e.reason ? `: ${e.reason}` : ""})`;
  }
  return e?.message ?? String(e);
}

function showState(s) {
  const el = $("state");
  el.dataset.state = s.state;
  if (s.state === "connecting") el.textContent = "connecting…";
  else if (s.state === "open") el.textContent = "live";
  else if (s.state === "reconnecting") el.textContent = s.attempt === 0 ? "connection lost, reconnecting" : `reconnecting in ${(s.delayMs / 1000).toFixed(1)} s (attempt ${s.attempt})`;
  else el.textContent = s.error ? `offline: ${describe(s.error)}` : "offline";
  // Present from the moment the subscription is open: say so at once.
  if (s.state === "open") refreshWho();
  if (s.state === "open" && s.restarted) notice("The server restarted without its history: the chat goes on from here.");
  else if (s.state === "open" && s.resumedAfter !== undefined) notice("Reconnected: nothing was missed.");
}

function time(iso) {
  const t = document.createElement("time");
  t.dateTime = iso;
  t.textContent = new Date(iso).toLocaleTimeString();
  return t;
}

function notice(text) {
  const li = document.createElement("li");
  li.className = "notice";
  li.textContent = text;
  append(li);
}

function append(li) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(li);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

async function follow(name) {
  const events = chatter.subscribe({ token, name });
  events.onState(showState);
  try {
    for await (const event of events) {
      const li = document.createElement("li");
      li.dataset.message = event.message;
      li.append(time(event.added_at), event.message);
      append(li);
    }
  } catch (e) {
    $("chat-error").textContent = describe(e);
  }
}

async function refreshWho() {
  if (!token) return;
  try {
    const here = await chatter.who({ token });
    const names = [...new Set(here.map((s) => s.name ?? "someone"))].sort();
    const items = names.map((n) => Object.assign(document.createElement("li"), { textContent: n }));
    $("who").replaceChildren(...items);
  } catch (e) {
    $("chat-error").textContent = describe(e);
  }
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  $("sign-in").disabled = true;
  const user = $("user").value;
  try {
    token = await chatter.login({ user, password: $("password").value });
  } catch (e) {
    $("login-error").textContent = describe(e);
    $("sign-in").disabled = false;
    return;
  }
  $("login").hidden = true;
  $("chat").hidden = false;
  $("me").textContent = `signed in as ${user}`;
  follow(user);
  echo = chatter.echoer({ token });
  refreshWho();
  setInterval(refreshWho, 3000);
  $("text").focus();
});

$("compose").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("chat-error").textContent = "";
  $("send").disabled = true;
  try {
    await say(text);
    $("text").value = "";
  } catch (e) {
    $("chat-error").textContent = describe(e);
  } finally {
    $("send").disabled = false;
  }
});

/**
 * Sends through the echoer stream and waits for the echo, which says the
 * server has the message (everyone, this page included, sees it through the
 * subscription). A stream lost with the connection is opened again, with
 * backoff, and the message sent on the new one: it never reached the server.
 */
async function say(text) {
  for (let attempt = 0; ; attempt++) {
    try {
      await echo.send(text);
      const { done } = await echo.next();
      if (done) throw new NagareError("the echo stream ended", { kind: "closed", temporary: true });
      return;
    } catch (e) {
      const retry = e instanceof NagareError && e.temporary && attempt < 5;
      echo.close();
      echo = chatter.echoer({ token }, { retry: new RetryPolicy({ initialMs: 200, maxAttempts: 5 }) });
      if (!retry) throw e;
    }
  }
}

$("load-history").addEventListener("click", async () => {
  const view = $("view").value;
  const items = [];
  try {
    for await (const h of chatter.history({ token, view })) {
      const li = document.createElement("li");
      if (h.sent_at) li.append(time(h.sent_at));
      li.append(h.message);
      if (h.length !== undefined) li.title = `${h.length} characters`;
      items.push(li);
    }
    $("history").replaceChildren(...items);
    $("history").dataset.view = view;
  } catch (e) {
    $("chat-error").textContent = describe(e);
  }
});
