/**
 * The seam on `node:http` + `ws`: runs on every Node (the fallback where no native uWS binary
 * loads, e.g. Node 24 on glibc < 2.38). It keeps uWS's contracts (see types.ts) so the layers
 * above cannot tell the two apart: idle timeout with automatic pings, a frame size limit that
 * closes with 1009, guarded callbacks, and message bytes that must not be kept after the call
 * (with `poisonMessages` they are zero-filled afterwards, so tests catch code that keeps them).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ListenOptions, Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { BODY_TOO_LARGE_BODY, INTERNAL_ERROR_BODY, matchRoute, runHandler, statusText } from './http-util';
import type {
  GuardSite,
  HttpHandler,
  HttpMethod,
  HttpReply,
  HttpRequestInfo,
  HttpResult,
  HttpStream,
  HttpTransport,
  RequestInfo,
  TransportOptions,
  UpgradeVerdict,
  WsConn,
  WsHandlers,
  WsOptions,
} from './types';

const DEFAULT_MAX_BODY = 64 * 1024;

export interface NodeTransportOptions extends TransportOptions {
  /** zero-fill each message's bytes after the `message` callback (tests) */
  poisonMessages?: boolean;
}

/** WebSocket close reasons are limited to 123 bytes; `ws` throws beyond that. */
function shortReason(reason: string): string {
  return Buffer.byteLength(reason) <= 123 ? reason : Buffer.from(reason).subarray(0, 120).toString();
}

class NodeConn<D> implements WsConn<D> {
  closed = false;
  lastSeen = Date.now();
  constructor(
    readonly ws: WebSocket,
    readonly data: D,
  ) {}
  send(text: string): void {
    if (!this.closed) this.ws.send(text);
  }
  sendBinary(bytes: Uint8Array): void {
    if (!this.closed) this.ws.send(bytes, { binary: true });
  }
  bufferedAmount(): number {
    return this.closed ? 0 : this.ws.bufferedAmount;
  }
  end(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.ws.close(code, shortReason(reason));
    } catch {
      this.ws.terminate();
    }
  }
  terminate(): void {
    this.closed = true;
    this.ws.terminate();
  }
}

interface WsRoute {
  wss: WebSocketServer;
  opts: WsOptions;
  handlers: WsHandlers<unknown>;
}

interface HttpRoute {
  method: HttpMethod;
  pattern: string;
  handler: HttpHandler;
}

function requestInfo(req: IncomingMessage): RequestInfo {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return {
    method: req.method ?? 'GET',
    path: q < 0 ? url : url.slice(0, q),
    query: q < 0 ? '' : url.slice(q + 1),
    header: (name) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : (v ?? '');
    },
    remoteAddress: req.socket.remoteAddress ?? '',
  };
}

/** A raw HTTP answer on a socket that was not upgraded. */
function refuseSocket(socket: Socket, status: number, body: string): void {
  if (socket.destroyed) return;
  socket.end(
    `HTTP/1.1 ${status} ${statusText(status)}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}

class NodeStream implements HttpStream {
  done = false;
  private aborted: (() => void)[] = [];
  constructor(private readonly res: ServerResponse) {
    res.on('close', () => {
      if (this.done) return;
      this.done = true;
      for (const cb of this.aborted.splice(0)) cb();
    });
  }
  write(chunk: string): boolean {
    return this.done ? false : this.res.write(chunk);
  }
  onWritable(cb: () => void): void {
    if (!this.done) this.res.once('drain', () => !this.done && cb());
  }
  onAborted(cb: () => void): void {
    if (this.done) cb();
    else this.aborted.push(cb);
  }
  end(): void {
    if (this.done) return;
    this.done = true;
    this.res.end();
  }
}

export class NodeTransport implements HttpTransport {
  readonly impl = 'node' as const;
  readonly native = false;
  private readonly server: Server;
  private readonly wsRoutes = new Map<string, WsRoute>();
  private readonly routes: HttpRoute[] = [];
  private fallbackHandler: HttpHandler | undefined;
  private readonly conns = new Set<NodeConn<unknown>>();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: NodeTransportOptions) {
    this.server = createServer((req, res) => this.onRequest(req, res));
    // Slow-loris bounds, close to uWS's 10 s HTTP idle timeout.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    this.server.keepAliveTimeout = 5_000;
    this.server.on('upgrade', (req, socket: Socket, head) => this.onUpgrade(req, socket, head));
    this.server.on('clientError', (_err, socket: Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      socket.destroy();
    });
  }

  private guard(where: GuardSite, err: unknown): void {
    try {
      this.opts.onError(where, err);
    } catch {}
  }

  ws<D>(path: string, opts: WsOptions, handlers: WsHandlers<D>): void {
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxPayloadBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.wsRoutes.set(path, { wss, opts, handlers: handlers as WsHandlers<unknown> });
    this.startIdleSweep(opts.idleTimeoutSec * 1000);
  }

  /** uWS semantics: a ping after half the idle time without traffic, closed after all of it. */
  private startIdleSweep(idleMs: number): void {
    if (this.idleTimer) return;
    this.idleTimer = setInterval(
      () => {
        const now = Date.now();
        for (const c of this.conns) {
          const quiet = now - c.lastSeen;
          if (quiet > idleMs) c.terminate();
          else if (quiet > idleMs / 2 && !c.closed) c.ws.ping();
        }
      },
      Math.max(250, idleMs / 4),
    );
    this.idleTimer.unref();
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    // Until `ws` owns the socket, its errors are ours (a reset must not become uncaught).
    const onSocketError = () => socket.destroy();
    socket.on('error', onSocketError);
    try {
      const info = requestInfo(req);
      const route = this.wsRoutes.get(info.path);
      if (!route) {
        refuseSocket(socket, 404, '{"error":"not found"}');
        return;
      }
      const accept = (verdict: UpgradeVerdict) => {
        if (socket.destroyed) return;
        if (!verdict.ok && !verdict.close) {
          return refuseSocket(
            socket,
            verdict.status,
            JSON.stringify({ error: { code: verdict.code, message: verdict.message } }),
          );
        }
        const data = route.handlers.data(info, verdict);
        route.wss.handleUpgrade(req, socket, head, (ws) => {
          socket.off('error', onSocketError);
          this.onOpen(ws, data, route.handlers);
        });
      };
      const fail = (err: unknown) => {
        this.guard('upgrade', err);
        refuseSocket(socket, 500, '{"error":"internal"}');
      };
      const v = route.handlers.upgrade(info);
      if (v instanceof Promise) v.then(accept).catch(fail);
      else accept(v);
    } catch (err) {
      this.guard('upgrade', err);
      refuseSocket(socket, 500, '{"error":"internal"}');
    }
  }

  private onOpen(ws: WebSocket, data: unknown, h: WsHandlers<unknown>): void {
    const c = new NodeConn(ws, data);
    this.conns.add(c);
    const seen = () => {
      c.lastSeen = Date.now();
    };
    ws.on('pong', seen);
    ws.on('ping', seen);
    // Protocol errors (bad frames, too large, invalid UTF-8): `ws` closes the socket itself.
    ws.on('error', () => {});
    ws.on('message', (raw, isBinary) => {
      seen();
      if (c.closed) return;
      const bytes = raw as Buffer;
      try {
        h.message(c, bytes, isBinary);
      } catch (err) {
        this.guard('message', err);
        c.end(1011, 'internal error');
      } finally {
        if (this.opts.poisonMessages) bytes.fill(0);
      }
    });
    const sock = (ws as unknown as { _socket?: Socket })._socket;
    sock?.on('drain', () => {
      if (c.closed || !h.drain) return;
      try {
        h.drain(c);
      } catch (err) {
        this.guard('drain', err);
        c.end(1011, 'internal error');
      }
    });
    ws.on('close', (code) => {
      c.closed = true;
      this.conns.delete(c);
      try {
        h.close(c, code);
      } catch (err) {
        this.guard('close', err);
      }
    });
    try {
      h.open(c);
    } catch (err) {
      this.guard('open', err);
      c.end(1011, 'internal error');
    }
  }

  route(method: HttpMethod, pattern: string, handler: HttpHandler): void {
    this.routes.push({ method, pattern, handler });
  }

  fallback(handler: HttpHandler): void {
    this.fallbackHandler = handler;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const fail = (err: unknown) => {
      this.guard('http', err);
      this.reply(res, {
        status: 500,
        type: 'application/json',
        body: INTERNAL_ERROR_BODY,
      });
    };
    try {
      const info = requestInfo(req);
      let handler = this.fallbackHandler;
      let params: string[] = [];
      for (const r of this.routes) {
        if (r.method !== info.method) continue;
        const m = matchRoute(r.pattern, info.path);
        if (m) {
          handler = r.handler;
          params = m;
          break;
        }
      }
      const full: HttpRequestInfo = { ...info, params, body: Buffer.alloc(0) };
      runHandler(
        full,
        handler ?? (() => ({ status: 404, body: 'not found' })),
        (done) => this.readBody(req, res, done),
        (result) => this.answer(res, result),
        fail,
      );
    } catch (err) {
      fail(err);
    }
  }

  private readBody(req: IncomingMessage, res: ServerResponse, done: (body: Buffer) => void): void {
    const max = this.opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > max) {
        over = true;
        this.reply(res, {
          status: 413,
          type: 'application/json',
          body: BODY_TOO_LARGE_BODY,
        });
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) done(Buffer.concat(chunks));
    });
    req.on('error', () => {});
  }

  private answer(res: ServerResponse, result: HttpResult): void {
    if (res.headersSent || res.destroyed) return;
    if ('stream' in result) {
      res.writeHead(200, { 'content-type': result.type, 'cache-control': 'no-store', ...result.headers });
      res.flushHeaders();
      result.stream(new NodeStream(res));
      return;
    }
    this.reply(res, result);
  }

  private reply(res: ServerResponse, r: HttpReply): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(r.status ?? 200, {
      'content-type': r.type ?? 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      ...r.headers,
    });
    res.end(r.body);
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`cannot listen on ${host}:${port}: ${err.message}`));
      this.server.once('error', onError);
      // SO_REUSEPORT lets several gateway processes share one port, as uWS does on Linux
      // (Node >= 22.12 / 23.1; older Node ignores the option and the port is exclusive)
      this.server.listen({ host, port, reusePort: true } as ListenOptions, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  stopListening(): void {
    this.server.close();
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.idleTimer = undefined;
  }

  closeAll(): void {
    for (const c of [...this.conns]) c.terminate();
    this.server.closeAllConnections();
  }
}
