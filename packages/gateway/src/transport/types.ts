/**
 * The gateway's HTTP/WebSocket seam. Everything above it (sessions, nodes, routes) talks to
 * these interfaces only; two implementations sit below: native uWebSockets.js (`uws.ts`) and
 * `ws` on `node:http` (`node.ts`). Both follow uWS's rules, so code that is correct on one is
 * correct on the other:
 *
 * - request data (path, query, headers) is read before any await: it is copied into
 *   `HttpRequestInfo` / `UpgradeRequest` up front, so handlers may be async freely;
 * - a message's bytes are valid only during the `message` callback (uWS detaches its
 *   ArrayBuffer afterwards; the node transport zero-fills it under test to catch misuse);
 * - a connection or response is never touched after it closed (methods become no-ops);
 * - every callback is guarded by the seam: a throw closes that one connection (1011) or
 *   answers that one request (500) and is reported through `onError`, never the process.
 */

export type TransportImpl = 'uws' | 'node';

/** What an upgrade or HTTP request carries, copied out of the native request object. */
export interface RequestInfo {
  method: string;
  /** URL path without the query string, e.g. `/ws/session` */
  path: string;
  /** raw query string without `?` (may hold malformed escapes: decode with `query.ts`) */
  query: string;
  /** header by lower-case name; '' when absent */
  header(name: string): string;
  remoteAddress: string;
}

export interface HttpRequestInfo extends RequestInfo {
  /** values of `:name` segments of the route pattern, in order (raw, not decoded) */
  params: string[];
  /** request body (POST/PUT), bounded by `maxBodyBytes`; empty for GET */
  body: Buffer;
}

export interface HttpReply {
  status?: number;
  body: string;
  type?: string;
  headers?: Record<string, string>;
}

/** A long-lived response (Server-Sent Events). */
export interface HttpStream {
  /** false when the chunk was buffered (backpressure): wait for `onWritable` */
  write(chunk: string): boolean;
  /** called once when buffered data drained after a write returned false */
  onWritable(cb: () => void): void;
  /** called once when the peer went away */
  onAborted(cb: () => void): void;
  end(): void;
  readonly done: boolean;
}

/** A route's answer: a reply, or a stream (status 200 with the given headers, then `open`). */
export type HttpResult =
  | HttpReply
  | { stream: (s: HttpStream) => void; type: string; headers?: Record<string, string> };

export type HttpHandler = (req: HttpRequestInfo) => HttpResult | Promise<HttpResult>;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * The outcome of the upgrade hook. `ok` attaches `claims` (e.g. a JWT's tenant) to the
 * connection. A refusal is either an HTTP answer before the upgrade (cheapest: no socket
 * state; e.g. 401, or 503 over a connection cap) or, with `close`, an upgrade followed by an
 * `error` frame and that close code (browsers cannot read the status of a failed upgrade).
 */
export type UpgradeVerdict<C = Record<string, unknown>> =
  | { ok: true; claims?: C }
  | { ok: false; status: number; code: string; message: string; close?: number };

export interface UpgradeRequest extends RequestInfo {}

/** One WebSocket connection. Safe to call after close (no-ops). */
export interface WsConn<D> {
  readonly data: D;
  /** sends one text frame */
  send(text: string): void;
  /**
   * sends one binary frame (protocol v1.12 binary job_assign). The transport may send it later
   * (uWS corks per event-loop turn) without copying: the caller hands `bytes` over.
   */
  sendBinary(bytes: Uint8Array): void;
  /** bytes queued for this socket and not yet written to the kernel */
  bufferedAmount(): number;
  /** graceful close with a close frame */
  end(code: number, reason: string): void;
  /** immediate close without a close handshake */
  terminate(): void;
  readonly closed: boolean;
}

export interface WsHandlers<D> {
  /**
   * Decides whether the connection is accepted. A verdict returned at once is applied before
   * the upgrade (an HTTP refusal is possible only then). A promised one may be applied after
   * the 101 (uWS upgrades at once, see uws.ts): `open` and then the frames received meanwhile
   * follow the verdict, and a refusal reaches the client as the close its `data` leads to.
   */
  upgrade(req: UpgradeRequest): UpgradeVerdict | Promise<UpgradeVerdict>;
  /** builds the connection's data from an accepted upgrade */
  data(req: UpgradeRequest, verdict: UpgradeVerdict): D;
  open(conn: WsConn<D>): void;
  /** `bytes` is valid only during this call */
  message(conn: WsConn<D>, bytes: Uint8Array, isBinary: boolean): void;
  drain?(conn: WsConn<D>): void;
  close(conn: WsConn<D>, code: number): void;
}

export interface WsOptions {
  /** frames larger than this close the connection (1009) */
  maxPayloadBytes: number;
  /** no frame or pong for this long closes the connection; pings are sent before */
  idleTimeoutSec: number;
}

/** Where a guarded callback failed: the label of `lingua_handler_errors_total{where}`. */
export type GuardSite = 'upgrade' | 'open' | 'message' | 'drain' | 'close' | 'http' | 'listen';

export interface TransportOptions {
  /** a guarded callback threw; the seam already closed / answered the one connection */
  onError(where: GuardSite, err: unknown): void;
  /** largest accepted HTTP request body (bigger → 413) */
  maxBodyBytes?: number;
}

export interface HttpTransport {
  readonly impl: TransportImpl;
  /** true when the native uWebSockets.js binary serves */
  readonly native: boolean;
  ws<D>(path: string, opts: WsOptions, handlers: WsHandlers<D>): void;
  route(method: HttpMethod, pattern: string, handler: HttpHandler): void;
  /** answers everything no route matched */
  fallback(handler: HttpHandler): void;
  /** resolves with the bound port */
  listen(host: string, port: number): Promise<number>;
  /** stops accepting connections; open ones stay */
  stopListening(): void;
  /** closes every open connection at once */
  closeAll(): void;
}
