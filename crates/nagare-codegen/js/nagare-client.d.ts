// Types of nagare-client.js, the runtime of nagare's generated JavaScript
// clients.

/** Close codes a nagare server ends a stream with. */
export declare const CloseCode: Readonly<{
  NORMAL: 1000;
  GOING_AWAY: 1001;
  PROTOCOL_ERROR: 1002;
  ABNORMAL: 1006;
  INVALID_DATA: 1007;
  POLICY: 1008;
  TOO_BIG: 1009;
  INTERNAL: 1011;
  RESTART: 1012;
  TRY_AGAIN_LATER: 1013;
  DESIGNED_ERROR: 4000;
  TOO_FAR_BEHIND: 4010;
}>;

/** What went wrong, as `NagareError.kind` says. */
export type ErrorKind =
  | "designed"
  | "http"
  | "closed"
  | "network"
  | "protocol"
  | "too_far_behind"
  | "cancelled";

/** Goa's error object: the body of the errors the server itself answers. */
export interface GoaError {
  name: string;
  id: string;
  message: string;
  temporary: boolean;
  timeout: boolean;
  fault: boolean;
}

/** Every failure of a call or a stream. `E` is the union of the method's designed errors. */
export declare class NagareError<E extends { error: string; data: unknown } = { error: string; data: unknown }> extends Error {
  constructor(message: string, fields?: Partial<NagareError<E>>);
  kind: ErrorKind;
  /** The HTTP status, for an error before the upgrade or of a unary call. */
  status?: number;
  /** The close code, for an error after the upgrade. */
  code?: number;
  /** The close reason. */
  reason?: string;
  /** The designed error's name (`kind === "designed"`), or Goa's error name. */
  error?: E["error"] | string;
  /** The designed error's value, or Goa's error object. */
  data?: E["data"] | GoaError | string;
  /** Whether trying again can help. */
  temporary: boolean;
}

/** Exponential backoff with jitter. */
export declare class RetryPolicy {
  constructor(options?: {
    initialMs?: number;
    maxMs?: number;
    factor?: number;
    jitter?: number;
    maxAttempts?: number;
  });
  initialMs: number;
  maxMs: number;
  factor: number;
  jitter: number;
  maxAttempts: number;
  /** The delay before retry `attempt` (0 is the first). */
  delay(attempt: number): number;
}

/** A stream's connection, for a UI. */
export type ConnectionState =
  | { state: "connecting" }
  | { state: "open"; resumedAfter?: number; restarted?: boolean }
  /** After a drop (attempt 0, at once) or a failed attempt (1, 2, ...: after `delayMs`). */
  | { state: "reconnecting"; attempt: number; delayMs: number; error: NagareError }
  | { state: "closed"; error?: NagareError };

/** A request as generated code builds it. */
export declare class Request {
  constructor(baseUrl: string, path: string);
  url: URL;
  headers: Record<string, string>;
  body: Record<string, unknown> | undefined;
  token: string | undefined;
  query(name: string, value: unknown): this;
  header(name: string, value: unknown): this;
  bearer(token: string | undefined): this;
  basic(user: string, password: string): this;
  field(name: string, value: unknown): this;
}

/** Options of a unary call. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** Performs a unary call. */
export declare function call(method: string, request: Request, options?: CallOptions): Promise<unknown>;

/** Options of a stream. */
export interface StreamOptions {
  /** Subprotocols offered besides nagare's own. */
  protocols?: string[];
  /** Whether the stream resumes after a drop (set by generated code). */
  resumable?: boolean;
  /** How to retry connecting; `false` never retries. Resumable streams retry by default. */
  retry?: RetryPolicy | false;
}

/** One WebSocket stream: `Send` is what the client streams, `Recv` what it receives. */
export declare class Stream<Send, Recv> implements AsyncIterable<Recv> {
  constructor(request: Request, options?: StreamOptions);
  readonly state: ConnectionState;
  readonly position: { epoch: string | undefined; seq: number };
  onState(listener: (state: ConnectionState) => void): () => void;
  opened(): Promise<void>;
  next(): Promise<IteratorResult<Recv, undefined>>;
  [Symbol.asyncIterator](): AsyncIterator<Recv, undefined>;
  send(message: Send): Promise<void>;
  end(): Promise<void>;
  result(): Promise<Recv>;
  close(): void;
}
