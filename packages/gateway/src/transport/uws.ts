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
  UpgradeRequest,
  WsConn,
  WsHandlers,
  WsOptions,
} from './types';
import type { UwsModule } from './uws-native';

const DEFAULT_MAX_BODY = 64 * 1024;

interface Slot<D> {
  conn?: UwsConn<D>;
  data: D;
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
  private queue: string[] = [];
  private queuedBytes = 0;
  constructor(
    private readonly ws: WebSocket<Slot<D>>,
    readonly data: D,
  ) {}
  send(text: string): void {
    if (this.closed) return;
    this.queue.push(text);
    this.queuedBytes += text.length;
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
      for (const text of q) this.ws.send(text, false);
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
    const conn = (ws: WebSocket<Slot<D>>) => ws.getUserData().conn!;
    this.app.ws<Slot<D>>(path, {
      maxPayloadLength: o.maxPayloadBytes,
      // our own limit (the gateway closes with 1013) is checked after each send; uWS must
      // never drop a frame silently before that, so its limit is far above ours
      maxBackpressure: 1024 * 1024 * 1024,
      idleTimeout: Math.max(8, Math.round(o.idleTimeoutSec)),
      sendPingsAutomatically: true,
      upgrade: (res, req, context: us_socket_context_t) => {
        const r = new Responder(res);
        let info: UpgradeRequest;
        let key: string;
        let protocol: string;
        let extensions: string;
        try {
          info = readRequest(res, req, 0);
          key = req.getHeader('sec-websocket-key');
          protocol = req.getHeader('sec-websocket-protocol');
          extensions = req.getHeader('sec-websocket-extensions');
        } catch (err) {
          this.guard('upgrade', err);
          r.reply(500, 'application/json', '{"error":"internal"}');
          return;
        }
        const accept = (verdict: Awaited<ReturnType<WsHandlers<D>['upgrade']>>) => {
          if (r.done) return;
          if (!verdict.ok && !verdict.close) {
            r.reply(
              verdict.status,
              'application/json',
              JSON.stringify({ error: { code: verdict.code, message: verdict.message } }),
            );
            return;
          }
          const slot: Slot<D> = { data: h.data(info, verdict) };
          r.done = true;
          res.cork(() => res.upgrade(slot, key, protocol, extensions, context));
        };
        const fail = (err: unknown) => {
          this.guard('upgrade', err);
          r.reply(500, 'application/json', '{"error":"internal"}');
        };
        try {
          const v = h.upgrade(info);
          if (v instanceof Promise) v.then(accept).catch(fail);
          else accept(v);
        } catch (err) {
          fail(err);
        }
      },
      open: (ws) => {
        const slot = ws.getUserData();
        const c = new UwsConn<D>(ws, slot.data);
        slot.conn = c;
        this.conns.add(c as UwsConn<unknown>);
        try {
          h.open(c);
        } catch (err) {
          this.guard('open', err);
          c.end(1011, 'internal error');
        }
      },
      message: (ws, message, isBinary) => {
        const c = conn(ws);
        if (c.closed) return;
        try {
          h.message(c, new Uint8Array(message), isBinary);
        } catch (err) {
          this.guard('message', err);
          c.end(1011, 'internal error');
        }
      },
      drain: (ws) => {
        const c = conn(ws);
        if (c.closed || !h.drain) return;
        try {
          h.drain(c);
        } catch (err) {
          this.guard('drain', err);
          c.end(1011, 'internal error');
        }
      },
      close: (ws, code) => {
        const c = conn(ws);
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
  }
}
