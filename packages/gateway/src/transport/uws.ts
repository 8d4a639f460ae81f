/**
 * The seam on native uWebSockets.js. uWS rules kept here and nowhere else: request fields are
 * read before returning from the handler; an answer given later checks `onAborted` and is
 * corked; a socket is never touched after its close callback (uWS throws on a closed one);
 * exceptions never escape a callback (uWS would take the process down).
 */
import type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  us_listen_socket,
  us_socket_context_t,
  WebSocket,
} from 'uWebSockets.js';
import { BODY_TOO_LARGE_BODY, INTERNAL_ERROR_BODY, runHandler, statusLine } from './http-util';
import type {
  GuardSite,
  HttpHandler,
  HttpMethod,
  HttpRequestInfo,
  HttpResult,
  HttpStream,
  HttpTransport,
  TransportOptions,
  WsConn,
  WsHandlers,
  WsOptions,
} from './types';
import type { UwsModule } from './uws-native';

const DEFAULT_MAX_BODY = 64 * 1024;

/** A frame count no honest peer reaches before its upgrade's verdict (a few ms of JWT check). */
const HELD_MAX_FRAMES = 16;

interface Slot<D> {
  /** set once the handlers see the connection */
  conn?: UwsConn<D>;
  /** the connection's data, when the verdict was known at upgrade time */
  data?: D;
  /** the connection's data once the verdict still being decided is known */
  pending?: Promise<D>;
  /** frames received while the verdict is pending (replayed to `message` in order) */
  held?: [Uint8Array, boolean][];
  heldBytes?: number;
  closed?: boolean;
}

/**
 * Most frames leave outside a uWS callback (on a Redis reply, from the inbox, on a timer), where
 * uWS does not cork: every send would be its own write syscall. They are queued per socket and
 * each socket's queue goes out corked, in one write, once per event-loop turn (setImmediate:
 * after the I/O that produced them, before the next poll), in order.
 */
const unflushed = new Set<UwsConn<unknown>>();
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  const conns = [...unflushed];
  unflushed.clear();
  for (const c of conns) c.flush();
}

class UwsConn<D> implements WsConn<D> {
  closed = false;
  /** text frames as strings, binary frames as bytes */
  private queue: (string | Uint8Array)[] = [];
  private queuedBytes = 0;
  constructor(
    private readonly ws: WebSocket<Slot<D>>,
    readonly data: D,
  ) {}
  send(text: string): void {
    this.enqueue(text);
  }
  sendBinary(bytes: Uint8Array): void {
    this.enqueue(bytes);
  }
  private enqueue(frame: string | Uint8Array): void {
    if (this.closed) return;
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    if (this.queue.length === 1) {
      unflushed.add(this as UwsConn<unknown>);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    }
  }
  /** Sends what is queued, corked (one write). */
  flush(): void {
    if (!this.queue.length) return;
    const q = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.closed) return;
    this.ws.cork(() => {
      for (const frame of q) this.ws.send(frame, typeof frame !== 'string');
    });
  }
  bufferedAmount(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount() + this.queuedBytes;
  }
  end(code: number, reason: string): void {
    if (this.closed) return;
    this.flush(); // what was sent before the close goes first
    this.closed = true;
    this.ws.end(code, reason);
  }
  terminate(): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close();
  }
}

function readRequest(res: HttpResponse, req: HttpRequest, paramCount: number): HttpRequestInfo {
  const headers = new Map<string, string>();
  req.forEach((k, v) => {
    headers.set(k, v);
  });
  const params: string[] = [];
  for (let i = 0; i < paramCount; i++) params.push(req.getParameter(i) ?? '');
  let remoteAddress = '';
  try {
    remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
  } catch {}
  return {
    method: req.getCaseSensitiveMethod?.() ?? req.getMethod().toUpperCase(),
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    header: (name) => headers.get(name) ?? '',
    remoteAddress,
    params,
    body: Buffer.alloc(0),
  };
}

/** One HTTP response: never touched after it ended or was aborted; writes are corked. */
class Responder implements HttpStream {
  done = false;
  private aborted: (() => void)[] = [];
  constructor(private readonly res: HttpResponse) {
    res.onAborted(() => {
      if (this.done) return;
      this.done = true;
      for (const cb of this.aborted.splice(0)) cb();
    });
  }
  reply(status: number, type: string, body: string, headers?: Record<string, string>): void {
    if (this.done) return;
    this.done = true;
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status)).writeHeader('content-type', type);
      this.res.writeHeader('cache-control', 'no-store');
      for (const [k, v] of Object.entries(headers ?? {})) this.res.writeHeader(k, v);
      this.res.end(body);
    });
  }
  start(type: string, headers?: Record<string, string>): void {
    this.res.cork(() => {
      this.res
        .writeStatus('200 OK')
        .writeHeader('content-type', type)
        .writeHeader('cache-control', 'no-store');
      for (const [k, v] of Object.entries(headers ?? {})) this.res.writeHeader(k, v);
    });
  }
  write(chunk: string): boolean {
    if (this.done) return false;
    let ok = false;
    this.res.cork(() => {
      ok = this.res.write(chunk);
    });
    return ok;
  }
  onWritable(cb: () => void): void {
    if (this.done) return;
    this.res.onWritable(() => {
      if (!this.done) cb();
      return true;
    });
  }
  onAborted(cb: () => void): void {
    if (this.done) cb();
    else this.aborted.push(cb);
  }
  end(): void {
    if (this.done) return;
    this.done = true;
    this.res.cork(() => this.res.end());
  }
}

export class UwsTransport implements HttpTransport {
  readonly impl = 'uws' as const;
  readonly native = true;
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | null = null;
  private readonly conns = new Set<UwsConn<unknown>>();
  /** upgraded sockets whose verdict is still pending (not yet seen by the handlers) */
  private readonly held = new Set<WebSocket<unknown>>();
  private fallbackHandler: HttpHandler = () => ({ status: 404, body: 'not found' });

  constructor(
    private readonly uws: UwsModule,
    private readonly opts: TransportOptions,
  ) {
    this.app = uws.App();
  }

  private guard(where: GuardSite, err: unknown): void {
    try {
      this.opts.onError(where, err);
    } catch {}
  }

  ws<D>(path: string, o: WsOptions, h: WsHandlers<D>): void {
    const guarded = (where: GuardSite, c: UwsConn<D>, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        this.guard(where, err);
        c.end(1011, 'internal error');
      }
    };
    /** The handlers see the connection from here on (its verdict is known). */
    const opened = (ws: WebSocket<Slot<D>>, slot: Slot<D>, data: D) => {
      const c = new UwsConn<D>(ws, data);
      slot.conn = c;
      this.conns.add(c as UwsConn<unknown>);
      guarded('open', c, () => h.open(c));
      return c;
    };
    this.app.ws<Slot<D>>(path, {
      maxPayloadLength: o.maxPayloadBytes,
      // our own limit (the gateway closes with 1013) is checked after each send; uWS must
      // never drop a frame silently before that, so its limit is far above ours
      maxBackpressure: 1024 * 1024 * 1024,
      idleTimeout: Math.max(8, Math.round(o.idleTimeoutSec)),
      sendPingsAutomatically: true,
      upgrade: (res, req, context: us_socket_context_t) => {
        let slot: Slot<D>;
        try {
          const info = readRequest(res, req, 0);
          const verdict = h.upgrade(info);
          if (verdict instanceof Promise) {
            // Only the connection's data is kept, not the request (its headers would stay for
            // the socket's lifetime: ~1 KB per idle session).
            slot = { pending: verdict.then((v) => h.data(info, v)), held: [], heldBytes: 0 };
          } else if (!verdict.ok && !verdict.close) {
            new Responder(res).reply(
              verdict.status,
              'application/json',
              JSON.stringify({ error: { code: verdict.code, message: verdict.message } }),
            );
            return;
          } else {
            slot = { data: h.data(info, verdict) };
          }
        } catch (err) {
          this.guard('upgrade', err);
          new Responder(res).reply(500, 'application/json', INTERNAL_ERROR_BODY);
          return;
        }
        // Always upgraded here, inside uWS's own callback. Upgrading later (after an await,
        // in res.cork) hits a uWS bug (uWebSockets #1928/#1929): cork() can misread the
        // reallocated socket and close the fresh WebSocket (1006, no frame), about 1 in a few
        // thousand upgrades under load. A verdict still pending is applied on open (below).
        res.cork(() =>
          res.upgrade(
            slot,
            req.getHeader('sec-websocket-key'),
            req.getHeader('sec-websocket-protocol'),
            req.getHeader('sec-websocket-extensions'),
            context,
          ),
        );
      },
      open: (ws) => {
        const slot = ws.getUserData();
        if (!slot.pending) {
          opened(ws, slot, slot.data as D);
          return;
        }
        // The verdict (e.g. a JWT check) is still running: the handlers see the connection
        // once it is known; frames that arrive before are held (bounded) and replayed in order.
        this.held.add(ws as WebSocket<unknown>);
        slot.pending.then(
          (data) => {
            slot.pending = undefined;
            if (!this.held.delete(ws as WebSocket<unknown>)) return; // closed meanwhile
            const c = opened(ws, slot, data);
            for (const [bytes, isBinary] of slot.held!.splice(0)) {
              if (c.closed) break;
              guarded('message', c, () => h.message(c, bytes, isBinary));
            }
            slot.held = undefined;
          },
          (err) => {
            slot.pending = undefined;
            if (!this.held.delete(ws as WebSocket<unknown>)) return;
            this.guard('upgrade', err);
            slot.closed = true;
            ws.end(1011, 'internal error');
          },
        );
      },
      message: (ws, message, isBinary) => {
        const slot = ws.getUserData();
        const c = slot.conn;
        if (!c) {
          if (slot.closed || !slot.held) return;
          // copied: `message` is only valid during this callback
          slot.held.push([new Uint8Array(message.slice(0)), isBinary]);
          slot.heldBytes! += message.byteLength;
          if (slot.held.length > HELD_MAX_FRAMES || slot.heldBytes! > o.maxPayloadBytes) {
            this.held.delete(ws as WebSocket<unknown>);
            slot.closed = true;
            slot.held = undefined;
            ws.end(1008, 'too many frames before the connection was authorized');
          }
          return;
        }
        if (c.closed) return;
        guarded('message', c, () => h.message(c, new Uint8Array(message), isBinary));
      },
      drain: (ws) => {
        const c = ws.getUserData().conn;
        if (!c || c.closed || !h.drain) return;
        guarded('drain', c, () => h.drain!(c));
      },
      close: (ws, code) => {
        const slot = ws.getUserData();
        slot.closed = true;
        this.held.delete(ws as WebSocket<unknown>);
        const c = slot.conn;
        if (!c) return; // the handlers never saw it
        c.closed = true;
        this.conns.delete(c as UwsConn<unknown>);
        try {
          h.close(c, code);
        } catch (err) {
          this.guard('close', err);
        }
      },
    });
  }

  route(method: HttpMethod, pattern: string, handler: HttpHandler): void {
    const paramCount = pattern.split('/').filter((s) => s.startsWith(':')).length;
    const register = {
      GET: this.app.get,
      POST: this.app.post,
      PUT: this.app.put,
      DELETE: this.app.del,
    }[method].bind(this.app);
    register(pattern, (res, req) => this.serve(res, req, paramCount, handler));
  }

  fallback(handler: HttpHandler): void {
    this.fallbackHandler = handler;
  }

  private serve(res: HttpResponse, req: HttpRequest, paramCount: number, handler: HttpHandler): void {
    const r = new Responder(res);
    const fail = (err: unknown) => {
      this.guard('http', err);
      r.reply(500, 'application/json', INTERNAL_ERROR_BODY);
    };
    try {
      const info = readRequest(res, req, paramCount);
      runHandler(
        info,
        handler,
        (done) => this.readBody(res, r, done),
        (result) => this.answer(r, result),
        fail,
      );
    } catch (err) {
      fail(err);
    }
  }

  private readBody(res: HttpResponse, r: Responder, done: (body: Buffer) => void): void {
    const max = this.opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((ab, isLast) => {
      if (r.done) return;
      size += ab.byteLength;
      if (size > max) {
        r.reply(413, 'application/json', BODY_TOO_LARGE_BODY);
        return;
      }
      // the chunk is only valid during this callback: copy it
      chunks.push(Buffer.from(new Uint8Array(ab).slice()));
      if (isLast) done(Buffer.concat(chunks));
    });
  }

  private answer(r: Responder, result: HttpResult): void {
    if (r.done) return;
    if ('stream' in result) {
      r.start(result.type, result.headers);
      result.stream(r);
      return;
    }
    r.reply(result.status ?? 200, result.type ?? 'text/plain; charset=utf-8', result.body, result.headers);
  }

  listen(host: string, port: number): Promise<number> {
    // registered last so that it only catches what no route took (uWS would leave it hanging)
    this.app.any('/*', (res, req) => this.serve(res, req, 0, this.fallbackHandler));
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (sock) => {
        if (!sock) return reject(new Error(`cannot listen on ${host}:${port}`));
        this.listenSocket = sock;
        resolve(this.uws.us_socket_local_port(sock));
      });
    });
  }

  stopListening(): void {
    if (this.listenSocket) this.uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }

  closeAll(): void {
    for (const c of [...this.conns]) c.terminate();
    for (const ws of [...this.held]) ws.close();
    this.held.clear();
  }
}
