/**
 * The smallest socket surface the SDKs need, so tests and unusual runtimes can inject their own.
 * Browser-safe: this package does not depend on `ws`; a Node SDK passes it to
 * `webSocketTransportFactory` as the fallback for runtimes without a global WebSocket.
 */

export interface Transport {
  /** Sends one text frame. Throws when the socket is not open (the caller keeps what it must resend). */
  send(text: string): void;
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onmessage: ((text: string) => void) | null;
  /**
   * v1.12, optional: binary frames (a node's binary `job_assign`). A transport that sets
   * `binary: true` delivers them here; without it the SDK never asks for binary frames.
   */
  readonly binary?: boolean;
  onbinary?: ((bytes: Uint8Array) => void) | null;
  /**
   * v1.13, optional: sends one binary frame (a client's binary audio). Throws like `send`.
   * Without it the SDK sends everything as text.
   */
  sendBinary?(bytes: Uint8Array): void;
  /** Fires once per transport, also when the connection attempt fails. */
  onclose: ((code: number, reason: string) => void) | null;
}

export interface TransportOptions {
  /**
   * A credential for the upgrade. A factory must present it: as `Authorization: Bearer` where
   * the runtime lets it set headers (Node), else as `?token=` (browsers cannot set headers on
   * a WebSocket). The header keeps it out of URLs, and so out of proxy and access logs.
   */
  token?: string;
}

export type TransportFactory = (url: string, opts?: TransportOptions) => Transport;

/** What both the WHATWG WebSocket and `ws` provide. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  terminate?: () => void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  /** 'arraybuffer' makes binary frames arrive as ArrayBuffer (browsers and `ws`) */
  binaryType?: string;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** A WebSocket class: the global one, or `ws`'s (which also takes `{ headers }`). */
export type WebSocketConstructor = new (
  url: string,
  options?: { headers?: Record<string, string> },
) => unknown;

const OPEN = 1;

/**
 * Adapts a WebSocket-like object: text frames, binary ones received (v1.12) to `onbinary`, and
 * binary ones sent (v1.13) with `sendBinary`.
 */
export function wrapWebSocket(sock: WebSocketLike): Transport {
  let closed = false;
  sock.binaryType = 'arraybuffer';
  const t: Transport = {
    binary: true,
    onopen: null,
    onmessage: null,
    onbinary: null,
    onclose: null,
    send(text) {
      if (sock.readyState !== OPEN) throw new Error('WebSocket is not open');
      sock.send(text);
    },
    sendBinary(bytes) {
      if (sock.readyState !== OPEN) throw new Error('WebSocket is not open');
      sock.send(bytes);
    },
    close(code = 1000, reason = '') {
      // A non-normal close is how the SDK abandons a dead peer: do not wait for a close handshake.
      if (code !== 1000 && typeof sock.terminate === 'function') {
        sock.terminate();
        return;
      }
      try {
        sock.close(code, reason);
      } catch {
        // Browsers only accept 1000 and 3000-4999.
        sock.close();
      }
    },
  };
  sock.onopen = () => t.onopen?.();
  sock.onmessage = (ev) => {
    const d = ev.data;
    if (typeof d === 'string') t.onmessage?.(d);
    else if (d instanceof ArrayBuffer) t.onbinary?.(new Uint8Array(d));
    else if (d instanceof Uint8Array) t.onbinary?.(d);
  };
  sock.onclose = (ev) => {
    if (closed) return;
    closed = true;
    t.onclose?.(ev.code, ev.reason);
  };
  // Errors are always followed by a close event; without a handler `ws` would throw.
  sock.onerror = () => {};
  return t;
}

/**
 * A factory that opens the global WebSocket (browsers, Node >= 22) and, where there is none,
 * `fallback` (the SDKs pass `ws`). The global is looked up per connection, not at creation.
 * With a token: in Node the `fallback` is used so the token travels as a header; elsewhere it
 * goes into the URL as `?token=`.
 */
export function webSocketTransportFactory(fallback?: WebSocketConstructor): TransportFactory {
  return (url, opts = {}) => {
    const { token } = opts;
    if (token !== undefined && fallback && isNodeRuntime()) {
      return wrapWebSocket(
        new fallback(url, { headers: { authorization: `Bearer ${token}` } }) as WebSocketLike,
      );
    }
    const Global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    const Ctor = typeof Global === 'function' ? Global : fallback;
    if (!Ctor) throw new Error('no WebSocket implementation in this runtime; pass a transportFactory');
    return wrapWebSocket(new Ctor(token === undefined ? url : withTokenQuery(url, token)) as WebSocketLike);
  };
}

/** `url` with `token=` set in its query (for runtimes that cannot send headers). */
export function withTokenQuery(url: string, token: string): string {
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.toString();
}

function isNodeRuntime(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof p?.versions?.node === 'string';
}

/** Stops listening to a transport and closes it; its late events are ignored. */
export function abandonTransport(t: Transport, code = 4000, reason = ''): void {
  t.onopen = null;
  t.onmessage = null;
  t.onbinary = null;
  t.onclose = null;
  try {
    t.close(code, reason);
  } catch {
    // already closed
  }
}
