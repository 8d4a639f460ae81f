/**
 * The WebSocket endpoints `/ws/session` and `/ws/node` on top of the transport seam, with the
 * connection-level bounds that hold whatever the peer sends:
 *
 * - upgrade: over `LINGUA_MAX_PENDING_CONNECTIONS` connections not yet initialised → 503;
 *   then the `authorize` hook (path, query, headers) accepts with claims or refuses;
 * - a connection must complete `session_init` / `node_register` within
 *   `LINGUA_INIT_TIMEOUT_MS` of connecting, else `error` + close 1008;
 * - every rejected frame (unparsable, or refused by the session/node for a client fault)
 *   counts; more than `LINGUA_ABUSE_LIMIT` within `LINGUA_ABUSE_WINDOW_MS` → close 1008;
 * - a socket that reads too slowly is closed with 1013 (the client resumes, nothing is lost).
 *
 * Frames are parsed synchronously inside the `message` callback (the bytes die with it).
 */
import {
  type BinaryParseSuccess,
  isBinaryFrame,
  parseClientBinaryFrame,
  parseClientFrame,
  parseNodeBinaryFrame,
  parseNodeFrame,
} from '@lingua/protocol';
import type { GatewayContext, Transport } from './context';
import { NodeConn } from './node-conn';
import { SessionActor } from './session-actor';
import type { HttpTransport, UpgradeRequest, UpgradeVerdict, WsConn, WsHandlers } from './transport/types';

export type ConnKind = 'session' | 'node';

/** Claims an accepted upgrade attaches to its connection (e.g. from a JWT). */
export interface ConnClaims {
  tenant?: string;
  [k: string]: unknown;
}

/**
 * The upgrade-time auth hook: sees the path, query string and headers before the socket is
 * upgraded; accepts (claims go to the connection) or refuses (HTTP status, or with `close`
 * an `error` frame then that close code).
 */
export type Authorize = (
  kind: ConnKind,
  req: UpgradeRequest,
) => UpgradeVerdict<ConnClaims> | Promise<UpgradeVerdict<ConnClaims>>;

/**
 * Error codes that mean "the peer sent something it should not have": each counts toward the
 * abuse limit. Not counted: server-side conditions (INTERNAL, UNAVAILABLE, DRAINING,
 * BACKPRESSURE, NO_POOL_FOR_LANG_PAIR) and races an honest peer meets (SEQ_GAP after a
 * reconnect, JOB_NOT_HELD after a failover).
 */
export const ABUSE_CODES: ReadonlySet<string> = new Set([
  'BAD_MESSAGE',
  'PAYLOAD_TOO_LARGE',
  'NOT_INITIALIZED',
  'SESSION_CLOSED',
  'NODE_NOT_REGISTERED',
  'UNAUTHORIZED',
  'RESUME_REJECTED',
  'SESSION_NOT_FOUND',
  'RATE_LIMITED',
]);

/** The acks that complete a connection's initialisation (see `SocketTransport.send`). */
const READY_FRAMES: ReadonlySet<string> = new Set(['session_init_ack', 'node_register_ack']);

export interface ConnData {
  kind: ConnKind;
  claims: ConnClaims;
  /** set when the upgrade hook refused with a close code: told on open, then closed */
  refused?: Extract<UpgradeVerdict, { ok: false }>;
  transport?: SocketTransport;
  session?: SessionActor;
  node?: NodeConn;
}

export interface ConnLimits {
  maxBackpressureBytes: number;
  abuseLimit: number;
  abuseWindowMs: number;
  initTimeoutMs: number;
}

/**
 * One WebSocket as the session/node layers see it: JSON frames, never touched after close,
 * closed with 1013 over the backpressure limit, and the connection's bounds (init deadline,
 * abuse count) kept here because every frame the peer is refused passes through `send`.
 */
export class SocketTransport implements Transport {
  closed = false;
  /** completed session_init / node_register */
  isReady = false;
  private rejected = 0;
  private windowStart = 0;
  private initTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly conn: WsConn<ConnData>,
    private readonly kind: ConnKind,
    private readonly limits: ConnLimits,
    private readonly hooks: {
      now: () => number;
      /** the connection became ready or closed: it no longer counts as pending */
      settled(): void;
      refused(reason: 'init_timeout' | 'abuse' | 'backpressure'): void;
    },
  ) {
    this.initTimer = setTimeout(() => this.initTimedOut(), limits.initTimeoutMs);
    this.initTimer.unref();
  }

  send(frame: object): boolean {
    if (this.closed) return false;
    this.conn.send(JSON.stringify(frame));
    const { type, code } = frame as { type?: unknown; code?: unknown };
    if (type === 'error' && typeof code === 'string' && ABUSE_CODES.has(code)) {
      this.countRejected();
    } else if (!this.isReady && READY_FRAMES.has(type as string)) {
      this.settle(true);
    }
    return this.checkBackpressure();
  }

  sendBinary(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    this.conn.sendBinary(bytes);
    return this.checkBackpressure();
  }

  private checkBackpressure(): boolean {
    if (this.closed) return false;
    if (this.conn.bufferedAmount() > this.limits.maxBackpressureBytes) {
      this.hooks.refused('backpressure');
      this.close(1013, 'backpressure: client too slow');
      return false;
    }
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.settle(false);
    this.conn.end(code, reason);
  }

  /** The socket is gone (close callback). */
  onClosed(): void {
    this.closed = true;
    this.settle(false);
  }

  /** A frame was refused because the peer broke the protocol. */
  countRejected(): void {
    const now = this.hooks.now();
    if (now - this.windowStart > this.limits.abuseWindowMs) {
      this.windowStart = now;
      this.rejected = 0;
    }
    this.rejected++;
    if (this.rejected > this.limits.abuseLimit) {
      this.hooks.refused('abuse');
      this.close(1008, 'too many rejected frames');
    }
  }

  private settle(ready: boolean): void {
    if (this.initTimer === undefined) return;
    clearTimeout(this.initTimer);
    this.initTimer = undefined;
    if (ready) this.isReady = true;
    this.hooks.settled();
  }

  private initTimedOut(): void {
    this.initTimer = undefined;
    if (this.closed || this.isReady) return;
    this.hooks.settled();
    this.hooks.refused('init_timeout');
    const what = this.kind === 'session' ? 'session_init' : 'node_register';
    this.send({
      type: 'error',
      code: this.kind === 'session' ? 'NOT_INITIALIZED' : 'NODE_NOT_REGISTERED',
      message: `${what} was not completed within ${this.limits.initTimeoutMs} ms of connecting`,
    });
    this.close(1008, `${what} timeout`);
  }
}

/** Each endpoint's frame parsers: text, and v1.13 binary (client audio, a node's TTS). */
const PARSERS = {
  session: { text: parseClientFrame, binary: parseClientBinaryFrame },
  node: { text: parseNodeFrame, binary: parseNodeBinaryFrame },
} as const;

export interface SocketEndpointsOptions {
  authorize: Authorize;
  maxPendingConnections: number;
  wsIdleTimeoutSec: number;
}

/** Registers `/ws/session` and `/ws/node`; returns the live count of pending connections. */
export function registerSocketEndpoints(
  http: HttpTransport,
  ctx: GatewayContext,
  opts: SocketEndpointsOptions,
): { pending(): number } {
  const { cfg, metrics } = ctx;
  let pending = 0;
  const limits: ConnLimits = {
    maxBackpressureBytes: cfg.maxBackpressureBytes,
    abuseLimit: cfg.abuseLimit,
    abuseWindowMs: cfg.abuseWindowMs,
    initTimeoutMs: cfg.initTimeoutMs,
  };

  const handlers = (kind: ConnKind): WsHandlers<ConnData> => ({
    upgrade: (req) => {
      if (pending >= opts.maxPendingConnections) {
        metrics.connectionsRefused.inc({ kind, reason: 'pending_cap' });
        return {
          ok: false,
          status: 503,
          code: 'UNAVAILABLE',
          message: 'too many connections are still initialising here; retry shortly',
        };
      }
      return opts.authorize(kind, req);
    },
    data: (_req, verdict) => ({
      kind,
      claims: (verdict.ok ? verdict.claims : undefined) ?? {},
      refused: verdict.ok ? undefined : verdict,
    }),
    open: (conn) => {
      const data = conn.data;
      pending++;
      metrics.connections.inc({ kind });
      metrics.connectionsPending.set(pending);
      const transport = new SocketTransport(conn, kind, limits, {
        now: ctx.now,
        settled: () => {
          pending--;
          metrics.connectionsPending.set(pending);
        },
        refused: (reason) => metrics.connectionsRefused.inc({ kind, reason }),
      });
      data.transport = transport;
      if (data.refused) {
        metrics.connectionsRefused.inc({ kind, reason: 'unauthorized' });
        transport.send({ type: 'error', code: data.refused.code, message: data.refused.message });
        transport.close(data.refused.close ?? 1008, data.refused.code.toLowerCase());
        return;
      }
      if (ctx.draining) {
        transport.send({
          type: 'error',
          code: 'DRAINING',
          message: 'this instance is shutting down; reconnect',
        });
        transport.close(1012, 'draining');
        return;
      }
      if (kind === 'session') data.session = new SessionActor(ctx, transport, data.claims);
      else
        data.node = new NodeConn(ctx, transport, {
          upgradeToken: data.claims.nodeToken as string | undefined,
        });
    },
    message: (conn, bytes, isBinary) => {
      const data = conn.data;
      const transport = data.transport!;
      if (transport.closed) return;
      // `bytes` is only valid during this callback: parse decodes it synchronously, and a
      // binary frame's audio is copied out (v1.13: client audio, a node's TTS; a binary frame
      // holding JSON text still parses as text, as before).
      const binary = isBinary && isBinaryFrame(bytes);
      const parse = binary ? PARSERS[kind].binary : PARSERS[kind].text;
      const parsed = parse(bytes, { maxBytes: cfg.maxPayloadBytes });
      if (!parsed.ok) {
        metrics.framesRejected.inc({ kind, code: parsed.code });
        transport.send({ type: 'error', code: parsed.code, message: parsed.message, field: parsed.field });
        return;
      }
      // A copy (`new Uint8Array(view)`; a Buffer's `slice` would not copy).
      const audio = binary ? new Uint8Array((parsed as BinaryParseSuccess<unknown>).audio) : undefined;
      if (data.session) data.session.receive(parsed.msg as never, audio);
      else data.node?.receive(parsed.msg as never, audio);
    },
    close: (conn) => {
      const data = conn.data;
      data.transport?.onClosed();
      metrics.connections.dec({ kind });
      data.session?.onSocketClosed();
      void data.node?.onSocketClosed();
    },
  });

  const wsOpts = { maxPayloadBytes: cfg.maxPayloadBytes * 2, idleTimeoutSec: opts.wsIdleTimeoutSec };
  http.ws<ConnData>('/ws/session', wsOpts, handlers('session'));
  http.ws<ConnData>('/ws/node', wsOpts, handlers('node'));
  return { pending: () => pending };
}
