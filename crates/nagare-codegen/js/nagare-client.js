// The runtime of nagare's generated JavaScript clients: unary calls over
// fetch, streams over the browser's WebSocket speaking Goa's protocol, typed
// errors, reconnection with backoff and jitter, and the nagare.v1 extension
// that resumes a server stream where it stopped. No dependency beyond the
// platform's WebSocket and fetch. Generated modules import it; its types are
// in nagare-client.d.ts.

/** Close codes a nagare server ends a stream with. */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  ABNORMAL: 1006,
  INVALID_DATA: 1007,
  POLICY: 1008,
  TOO_BIG: 1009,
  INTERNAL: 1011,
  RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  DESIGNED_ERROR: 4000,
  TOO_FAR_BEHIND: 4010,
});

/** Close codes after which trying again can help. */
const RETRYABLE_CLOSES = new Set([1001, 1006, 1011, 1012, 1013]);

/**
 * Every failure of a call or a stream. `kind` says what happened:
 * `designed` (an error of the design, with `error` and `data`), `http` (a
 * status before the upgrade, with Goa's error body in `data`), `closed` (a
 * close code other than 1000 after the upgrade), `network` (no answer),
 * `protocol` (the server broke the protocol: a gap, a bad frame),
 * `too_far_behind` (close 4010: the stream cannot resume), `cancelled`.
 * `temporary` says whether trying again can help.
 */
export class NagareError extends Error {
  constructor(message, fields = {}) {
    super(message);
    this.name = "NagareError";
    this.kind = fields.kind ?? "network";
    this.status = fields.status;
    this.code = fields.code;
    this.reason = fields.reason;
    this.error = fields.error;
    this.data = fields.data;
    this.temporary = fields.temporary ?? false;
  }
}

/**
 * Exponential backoff with jitter: attempt n waits about
 * `initialMs * factor^n`, at most `maxMs`, with up to `jitter` of it random.
 */
export class RetryPolicy {
  constructor({ initialMs = 250, maxMs = 30_000, factor = 2, jitter = 0.5, maxAttempts = Infinity } = {}) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.factor = factor;
    this.jitter = jitter;
    this.maxAttempts = maxAttempts;
  }

  /** The delay before attempt `attempt` (0 is the first retry). */
  delay(attempt) {
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** attempt);
    return Math.round(base * (1 - this.jitter * Math.random()));
  }
}

/** Reads a failed HTTP response as a typed error. */
async function httpError(response) {
  const text = await response.text().catch(() => "");
  let data = text;
  try {
    data = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  const designed = response.headers.get("goa-error");
  const status = response.status;
  const temporary = status === 429 || status === 503 || (data && data.temporary === true);
  if (designed) {
    return new NagareError(`${designed}: ${messageOf(data)}`, { kind: "designed", status, error: designed, data, temporary });
  }
  return new NagareError(`HTTP ${status}: ${messageOf(data)}`, { kind: "http", status, error: data?.name, data, temporary });
}

function messageOf(data) {
  if (typeof data === "string") return data;
  if (data && typeof data.message === "string") return data.message;
  return JSON.stringify(data);
}

/** The error a close frame reports, or undefined for a normal end. */
function closeError(code, reason, designed) {
  if (code === CloseCode.NORMAL) return undefined;
  if (code === CloseCode.DESIGNED_ERROR) {
    if (designed) {
      return new NagareError(`${designed.error}: ${messageOf(designed.data)}`, { kind: "designed", code, reason, error: designed.error, data: designed.data });
    }
    const at = reason.indexOf(": ");
    const error = at < 0 ? reason : reason.slice(0, at);
    const data = at < 0 ? "" : reason.slice(at + 2);
    return new NagareError(reason, { kind: "designed", code, reason, error, data });
  }
  if (code === CloseCode.TOO_FAR_BEHIND) {
    return new NagareError(reason || "too far behind", { kind: "too_far_behind", code, reason });
  }
  return new NagareError(`connection closed with ${code}${reason ? `: ${reason}` : ""}`, {
    kind: "closed",
    code,
    reason,
    temporary: RETRYABLE_CLOSES.has(code),
  });
}

/** `text` cut to a close reason's 123 bytes of UTF-8, on a character boundary. */
function reasonOf(text) {
  const encoder = new TextEncoder();
  let out = "";
  for (const c of text) {
    if (encoder.encode(out + c).length > 123) break;
    out += c;
  }
  return out;
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const cancel = () => {
      clearTimeout(timer);
      reject(new NagareError("cancelled", { kind: "cancelled" }));
    };
    // The listener goes with the wait: a stream that reconnects often must
    // not collect one per attempt on its signal.
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", cancel);
      resolve();
    }, ms);
    signal?.addEventListener("abort", cancel, { once: true });
  });
}

/**
 * A request as the generated code describes it: the path with its
 * parameters filled in, the query, the headers and the JSON body of a unary
 * call, and the bearer token of a stream.
 */
export class Request {
  constructor(baseUrl, path) {
    this.url = new URL(path, baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
    this.url.pathname = path;
    this.headers = {};
    this.body = undefined;
    this.token = undefined;
  }

  /** Adds a query parameter; arrays repeat the key; absent values are left out. */
  query(name, value) {
    if (value === undefined || value === null) return this;
    for (const v of Array.isArray(value) ? value : [value]) {
      this.url.searchParams.append(name, String(v));
    }
    return this;
  }

  header(name, value) {
    if (value !== undefined && value !== null) this.headers[name] = String(value);
    return this;
  }

  bearer(token) {
    if (token !== undefined && token !== null) {
      this.token = String(token).replace(/^Bearer /, "");
      this.headers.Authorization = `Bearer ${this.token}`;
    }
    return this;
  }

  basic(user, password) {
    this.headers.Authorization = `Basic ${btoa(`${user}:${password}`)}`;
    return this;
  }

  field(name, value) {
    if (value === undefined || value === null) return this;
    this.body ??= {};
    this.body[name] = value;
    return this;
  }
}

/** Performs a unary call; the decoded result, or a typed error. */
export async function call(method, request, { signal } = {}) {
  const init = { method, headers: { ...request.headers }, signal };
  if (request.body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(request.body);
  }
  let response;
  try {
    response = await fetch(request.url, init);
  } catch (e) {
    throw new NagareError(`cannot reach ${request.url.origin}: ${e?.message ?? e}`, { kind: "network", temporary: true });
  }
  if (!response.ok) throw await httpError(response);
  if (response.status === 204) return undefined;
  const text = await response.text();
  return text.trim() === "" ? undefined : JSON.parse(text);
}

/**
 * One WebSocket stream of a method. Results are read with `for await` (or
 * `next()`); the client's messages are sent with `send` and its half ended
 * with `end` (JSON null); `close` leaves. Connection states are observable
 * for a UI with `onState`. A resumable stream (a room's) reconnects after a
 * drop and resumes after the last result it delivered; others report the
 * drop as an error.
 */
export class Stream {
  #request;
  #protocols;
  #resumable;
  #retry;
  #ws = undefined;
  #results = [];
  #waiters = [];
  #done = false;
  #failure = undefined;
  #listeners = new Set();
  #state = { state: "connecting" };
  #epoch = undefined;
  #seq = 0;
  #designed = undefined;
  /** Whether this connection's first nagare.v1 position frame has come. */
  #positioned = true;
  #opened = undefined;
  #closing = false;
  /** The client's half is over (it sent `null`). */
  #ended = false;
  #abort = new AbortController();

  constructor(request, { protocols = [], resumable = false, retry } = {}) {
    this.#request = request;
    this.#protocols = protocols;
    this.#resumable = resumable;
    this.#retry = retry === undefined ? (resumable ? new RetryPolicy() : false) : retry;
    this.#opened = this.#run();
    // A stream nobody reads must not report an unhandled rejection.
    this.#opened.catch(() => {});
  }

  /** The current connection state. */
  get state() {
    return this.#state;
  }

  /** The position of the last result delivered (resumable streams). */
  get position() {
    return { epoch: this.#epoch, seq: this.#seq };
  }

  /** Calls `listener` with every state from now on; returns an unsubscribe function. */
  onState(listener) {
    this.#listeners.add(listener);
    listener(this.#state);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once the stream is open the first time; rejects if it never opens. */
  opened() {
    return this.#opened;
  }

  #setState(state) {
    this.#state = state;
    for (const l of this.#listeners) {
      try {
        l(state);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  async #run() {
    let attempt = 0;
    for (;;) {
      try {
        await this.#connect();
        return;
      } catch (error) {
        const retry = this.#retry && error.temporary && attempt < this.#retry.maxAttempts && !this.#closing;
        if (!retry) {
          this.#finish(error);
          throw error;
        }
        const delay = this.#retry.delay(attempt++);
        this.#setState({ state: "reconnecting", attempt, delayMs: delay, error });
        await sleep(delay, this.#abort.signal);
      }
    }
  }

  #offer() {
    const offered = [];
    if (this.#resumable) {
      offered.push("nagare.v1");
      if (this.#epoch !== undefined) offered.push(`nagare.resume.${this.#epoch}.${this.#seq}`);
    }
    offered.push(...this.#protocols);
    if (this.#request.token !== undefined) offered.push(`nagare.bearer.${this.#request.token}`);
    return offered;
  }

  #wsUrl() {
    const url = new URL(this.#request.url);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url;
  }

  /** Opens one connection; resolves when it is open, rejects with why it never opened. */
  #connect() {
    this.#setState({ state: "connecting" });
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(this.#wsUrl(), this.#offer());
      } catch (e) {
        reject(new NagareError(`cannot open a WebSocket: ${e?.message ?? e}`, { kind: "network" }));
        return;
      }
      this.#ws = ws;
      let open = false;
      ws.onopen = () => {
        open = true;
        this.#designed = undefined;
        // A client that ended its half before a drop ends it again on the
        // new connection (a resumable bidirectional stream).
        if (this.#ended) ws.send("null");
        if (this.#resumable && ws.protocol === "nagare.v1") {
          // Open is reported with the position frame that comes first: it
          // says whether the stream resumed or restarted.
          this.#positioned = false;
        } else {
          this.#setState({ state: "open" });
        }
        resolve();
      };
      ws.onmessage = (event) => this.#receive(event.data);
      let refused = false;
      const never = () => {
        if (open || refused) return;
        refused = true;
        // A browser does not say why an upgrade failed: ask the server the
        // same question over HTTP, where the answer has a status.
        this.#whyRefused().then(reject, reject);
      };
      // Some platforms report a refused upgrade as an error without a close.
      ws.onerror = never;
      ws.onclose = (event) => {
        if (!open) {
          never();
          return;
        }
        this.#closed(event.code, event.reason);
      };
    });
  }

  async #whyRefused() {
    const url = new URL(this.#request.url);
    let response;
    try {
      response = await fetch(url, { headers: this.#request.headers, signal: this.#abort.signal });
    } catch (e) {
      return new NagareError(`cannot reach ${url.origin}: ${e?.message ?? e}`, { kind: "network", temporary: true });
    }
    if (response.ok || response.status === 426) {
      return new NagareError(`the WebSocket upgrade of ${url.pathname} failed`, { kind: "network", temporary: true });
    }
    return httpError(response);
  }

  #receive(data) {
    if (typeof data !== "string") {
      this.#fail(new NagareError("a binary message where JSON text was expected", { kind: "protocol" }));
      return;
    }
    let value;
    try {
      value = JSON.parse(data);
    } catch {
      this.#fail(new NagareError(`a message that is not JSON: ${data.slice(0, 80)}`, { kind: "protocol" }));
      return;
    }
    if (this.#resumable && this.#ws?.protocol === "nagare.v1") {
      this.#envelope(value);
      return;
    }
    this.#deliver(value);
  }

  /** A nagare.v1 frame: a position, a numbered message, or a whole designed error. */
  #envelope(frame) {
    if (frame && typeof frame === "object" && "error" in frame && "data" in frame) {
      this.#designed = frame;
      return;
    }
    if (frame && typeof frame === "object" && "epoch" in frame) {
      const before = this.#epoch;
      const restarted = before !== undefined && frame.epoch !== before;
      this.#epoch = frame.epoch;
      this.#seq = frame.seq;
      if (restarted) {
        this.#setState({ state: "open", restarted: true, resumedAfter: frame.seq });
      } else if (!this.#positioned) {
        this.#setState({ state: "open", resumedAfter: before === undefined ? undefined : frame.seq });
      }
      this.#positioned = true;
      return;
    }
    if (frame && typeof frame === "object" && "seq" in frame && "data" in frame) {
      if (frame.seq !== this.#seq + 1) {
        this.#fail(new NagareError(`a gap in the stream: message ${frame.seq} after ${this.#seq}`, { kind: "protocol" }));
        return;
      }
      this.#seq = frame.seq;
      this.#deliver(frame.data);
      return;
    }
    this.#fail(new NagareError("a nagare.v1 frame of no known shape", { kind: "protocol" }));
  }

  #deliver(value) {
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve({ value, done: false });
    else this.#results.push(value);
  }

  #closed(code, reason) {
    this.#ws = undefined;
    const error = closeError(code, reason, this.#designed);
    if (!error || this.#closing) {
      this.#finish(undefined);
      return;
    }
    if (this.#resumable && this.#retry && error.temporary) {
      // The drop itself is reported (attempt 0, at once) before the new
      // connection, so a UI shows the stream reconnecting and why, however
      // soon the new connection opens.
      this.#setState({ state: "reconnecting", attempt: 0, delayMs: 0, error });
      this.#opened = this.#run();
      this.#opened.catch(() => {});
      return;
    }
    this.#finish(error);
  }

  #fail(error) {
    this.#closing = true;
    // A page may only close with 1000 or 3000-4999 (the WebSocket API throws
    // on 1002), and a reason of at most 123 bytes.
    this.#ws?.close(1000, reasonOf(error.message));
    this.#finish(error);
  }

  #finish(error) {
    if (this.#done) return;
    this.#done = true;
    this.#failure = error;
    this.#abort.abort();
    this.#setState({ state: "closed", error });
    for (const w of this.#waiters.splice(0)) {
      if (error) w.reject(error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  /** The next result: `{ value, done }`, rejected with the stream's error. */
  next() {
    if (this.#results.length > 0) return Promise.resolve({ value: this.#results.shift(), done: false });
    if (this.#done) {
      return this.#failure ? Promise.reject(this.#failure) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  [Symbol.asyncIterator]() {
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }

  /** Sends one message of the client's stream, once the stream is open. */
  async send(message) {
    await this.#opened;
    if (this.#done || !this.#ws) throw this.#failure ?? new NagareError("the stream is closed", { kind: "closed" });
    this.#ws.send(JSON.stringify(message));
  }

  /** Ends the client's half of the stream (JSON null); results keep coming. */
  async end() {
    await this.#opened;
    if (this.#ended) return;
    this.#ended = true;
    this.#ws?.send("null");
  }

  /** Ends the client's stream and waits for the one result the server answers with. */
  async result() {
    await this.end();
    const { value, done } = await this.next();
    if (done) throw new NagareError("the stream ended without a result", { kind: "protocol" });
    return value;
  }

  /** Leaves: closes the connection with 1000 and stops reconnecting. */
  close() {
    this.#closing = true;
    this.#abort.abort();
    if (this.#ws && this.#ws.readyState <= 1) this.#ws.close(1000, "client closing connection");
    this.#finish(undefined);
  }
}
