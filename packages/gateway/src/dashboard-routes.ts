/**
 * The cluster dashboard page and its live feed, served by every gateway.
 *
 *   GET /dashboard         the page, or a login form (401) without the admin login cookie
 *   POST /dashboard/login  form field `token` = the admin token → login cookie, 303 to the page
 *   POST /dashboard/logout clears the cookie
 *   GET /api/v1/events     Server-Sent Events: one `snapshot` event per second with
 *                          { served_by, cluster, stats } (admin bearer token or login cookie)
 *
 * One snapshot is read per second per instance, only while someone listens, and shared by
 * every listener. uWS rules: a response is never touched after onAborted or end, writes are
 * corked, and a listener that cannot keep up skips snapshots until the socket drains.
 */
import { dashboardPage, loginPage } from '@lingua/dashboard';
import { clusterReader } from './api';
import { ADMIN_COOKIE, ADMIN_COOKIE_TTL_MS, type AdminAuth } from './auth';
import type { GatewayContext } from './context';
import { unauthorized } from './http';
import type { HttpRequest, HttpResponse, TemplatedApp } from './uws';

const TICK_MS = 1000;
/** a listener whose socket stayed backed up this long is dropped */
const STALL_MS = 30_000;

interface Listener {
  res: HttpResponse;
  done: boolean;
  stalledSince: number;
}

export class SnapshotFeed {
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(private readonly ctx: GatewayContext) {}

  get size(): number {
    return this.listeners.size;
  }

  /** Takes over `res` (headers already checked): sends the stream headers and joins the tick. */
  subscribe(res: HttpResponse): void {
    const l: Listener = { res, done: false, stalledSince: 0 };
    res.onAborted(() => {
      l.done = true;
      this.listeners.delete(l);
    });
    res.cork(() => {
      res
        .writeStatus('200 OK')
        .writeHeader('content-type', 'text/event-stream; charset=utf-8')
        .writeHeader('cache-control', 'no-store')
        .writeHeader('x-accel-buffering', 'no')
        .write('retry: 1000\n\n');
    });
    this.listeners.add(l);
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), TICK_MS);
      this.timer.unref();
    }
    void this.tick();
  }

  private async tick(): Promise<void> {
    if (this.ctx.draining) return this.closeAll();
    if (this.listeners.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.busy) return;
    this.busy = true;
    let payload: string;
    try {
      const reader = clusterReader(this.ctx);
      const cluster = await reader.cluster(this.ctx.now());
      payload = JSON.stringify({
        served_by: this.ctx.cfg.instanceId,
        cluster,
        stats: reader.statsFrom(cluster),
      });
    } catch (err) {
      payload = JSON.stringify({
        served_by: this.ctx.cfg.instanceId,
        error: String((err as Error)?.message ?? err),
      });
    } finally {
      this.busy = false;
    }
    this.broadcast(`event: snapshot\ndata: ${payload}\n\n`);
  }

  private broadcast(chunk: string): void {
    const now = Date.now();
    for (const l of this.listeners) {
      if (l.done) continue;
      if (l.stalledSince) {
        if (now - l.stalledSince > STALL_MS) this.end(l);
        continue;
      }
      let ok = true;
      l.res.cork(() => {
        ok = l.res.write(chunk);
      });
      if (!ok) {
        l.stalledSince = now;
        l.res.onWritable(() => {
          l.stalledSince = 0;
          return true;
        });
      }
    }
  }

  private end(l: Listener): void {
    this.listeners.delete(l);
    if (l.done) return;
    l.done = true;
    l.res.cork(() => l.res.end());
  }

  /** Ends every stream (the instance is draining: the page reconnects to another one). */
  closeAll(): void {
    for (const l of [...this.listeners]) this.end(l);
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Largest login form body read (the token is at most MAX_TOKEN_BYTES). */
const MAX_LOGIN_BODY = 8192;

function reply(res: HttpResponse, status: string, headers: Record<string, string>, body = ''): void {
  res.cork(() => {
    res.writeStatus(status);
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    res.end(body);
  });
}

/** Headers of both HTML pages: never cached, never framed (clickjacking), no referrer. */
const HTML = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** Reads a bounded request body; `done(null)` when it is too large (the reply is the caller's). */
function readBody(res: HttpResponse, max: number, done: (body: string | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  res.onData((chunk, isLast) => {
    if (over) return;
    size += chunk.byteLength;
    if (size > max) {
      over = true;
      done(null);
      return;
    }
    chunks.push(Buffer.from(chunk.slice(0))); // uWS reuses the buffer after this callback
    if (isLast) done(Buffer.concat(chunks).toString('utf8'));
  });
}

/**
 * The dashboard and its login. With an admin token configured, GET /dashboard without a valid
 * login cookie answers 401 with a login form; the form POSTs the token to /dashboard/login,
 * which sets an HttpOnly, SameSite=Strict, expiring cookie (auth.ts AdminAuth) and redirects
 * back; POST /dashboard/logout clears it. The token never appears in a URL.
 */
export function registerDashboardRoutes(app: TemplatedApp, ctx: GatewayContext, admin?: AdminAuth): void {
  const page = (res: HttpResponse, req: HttpRequest) => {
    if (admin && !admin.allows(req.getHeader('authorization'), req.getHeader('cookie'))) {
      reply(res, '401 Unauthorized', HTML, loginPage());
      return;
    }
    reply(res, '200 OK', HTML, dashboardPage());
  };
  app.get('/dashboard', page);
  app.get('/dashboard/', page);
  app.post('/dashboard/login', (res, req) => {
    // Secure cookies when the load balancer terminated TLS (docs/security.md).
    const secure = /^https$/i.test(req.getHeader('x-forwarded-proto').trim()) ? '; Secure' : '';
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    readBody(res, MAX_LOGIN_BODY, (body) => {
      if (aborted) return;
      if (body === null) {
        reply(res, '413 Payload Too Large', { 'content-type': 'text/plain' }, 'too large');
        return;
      }
      if (!admin) {
        reply(res, '303 See Other', { location: '/dashboard', 'cache-control': 'no-store' });
        return;
      }
      const token = new URLSearchParams(body).get('token') ?? '';
      if (!admin.checkToken(token)) {
        ctx.metrics.authRefused.inc({ kind: 'admin', reason: 'bad_token' });
        reply(res, '401 Unauthorized', HTML, loginPage('That is not the admin token.'));
        return;
      }
      const maxAge = Math.floor(ADMIN_COOKIE_TTL_MS / 1000);
      reply(res, '303 See Other', {
        location: '/dashboard',
        'cache-control': 'no-store',
        'set-cookie': `${ADMIN_COOKIE}=${admin.mintCookie()}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure}`,
      });
    });
  });
  app.post('/dashboard/logout', (res) => {
    reply(res, '303 See Other', {
      location: '/dashboard',
      'cache-control': 'no-store',
      'set-cookie': `${ADMIN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`,
    });
  });
  const feed = new SnapshotFeed(ctx);
  app.get('/api/v1/events', (res, req) => {
    if (admin && !admin.allows(req.getHeader('authorization'), req.getHeader('cookie'))) {
      const r = unauthorized();
      reply(res, '401 Unauthorized', { 'content-type': 'application/json' }, r.body);
      return;
    }
    if (ctx.draining) {
      res.cork(() => {
        res.writeStatus('503 Service Unavailable').end('draining');
      });
      return;
    }
    feed.subscribe(res);
  });
}
