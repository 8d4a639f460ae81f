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
 * every listener. A listener that cannot keep up skips snapshots until its socket drains
 * (the transport seam's HttpStream never touches a response after it ended or aborted).
 */
import { dashboardPage, loginPage } from '@lingua/dashboard';
import { clusterReader } from './api';
import { ADMIN_COOKIE, ADMIN_COOKIE_TTL_MS, type AdminAuth } from './auth';
import type { GatewayContext } from './context';
import { type HttpReply, unauthorized } from './http';
import type { HttpRequestInfo, HttpStream, HttpTransport } from './transport/types';

const TICK_MS = 1000;
/** a listener whose socket stayed backed up this long is dropped */
const STALL_MS = 30_000;
/** event streams per instance (each holds a socket); more get 503 */
export const MAX_FEED_LISTENERS = 256;

interface Listener {
  res: HttpStream;
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

  /** Takes over an open event stream (headers already sent) and joins the tick. */
  subscribe(res: HttpStream): void {
    const l: Listener = { res, done: false, stalledSince: 0 };
    res.onAborted(() => {
      l.done = true;
      this.listeners.delete(l);
    });
    res.write('retry: 1000\n\n');
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
      if (!l.res.write(chunk)) {
        l.stalledSince = now;
        l.res.onWritable(() => {
          l.stalledSince = 0;
        });
      }
    }
  }

  private end(l: Listener): void {
    this.listeners.delete(l);
    if (l.done) return;
    l.done = true;
    l.res.end();
  }

  /** Ends every stream (the instance is draining: the page reconnects to another one). */
  closeAll(): void {
    for (const l of [...this.listeners]) this.end(l);
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Headers of both HTML pages (the seam adds cache-control: no-store): never framed, no referrer. */
const HTML_HEADERS = { 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' };
const HTML = 'text/html; charset=utf-8';

function redirect(cookie: string): HttpReply {
  return {
    status: 303,
    body: '',
    headers: { location: '/dashboard', 'set-cookie': cookie },
  };
}

/**
 * The dashboard and its login. With an admin token configured, GET /dashboard without a valid
 * login cookie answers 401 with a login form; the form POSTs the token to /dashboard/login
 * (body bounded by the seam), which sets an HttpOnly, SameSite=Strict, expiring cookie
 * (auth.ts AdminAuth) and redirects back; POST /dashboard/logout clears it. The token never
 * appears in a URL.
 */
export function registerDashboardRoutes(app: HttpTransport, ctx: GatewayContext, admin?: AdminAuth): void {
  const allowed = (req: HttpRequestInfo) =>
    !admin || admin.allows(req.header('authorization'), req.header('cookie'));
  const page = (req: HttpRequestInfo): HttpReply =>
    allowed(req)
      ? { body: dashboardPage(), type: HTML, headers: HTML_HEADERS }
      : { status: 401, body: loginPage(), type: HTML, headers: HTML_HEADERS };
  app.route('GET', '/dashboard', page);
  app.route('GET', '/dashboard/', page);
  app.route('POST', '/dashboard/login', (req) => {
    if (!admin) return redirect(`${ADMIN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    const token = new URLSearchParams(req.body.toString('utf8')).get('token') ?? '';
    if (!admin.checkToken(token)) {
      ctx.metrics.authRefused.inc({ kind: 'admin', reason: 'bad_token' });
      return {
        status: 401,
        body: loginPage('That is not the admin token.'),
        type: HTML,
        headers: HTML_HEADERS,
      };
    }
    // Secure cookies when the load balancer terminated TLS (docs/security.md).
    const secure = /^https$/i.test(req.header('x-forwarded-proto').trim()) ? '; Secure' : '';
    const maxAge = Math.floor(ADMIN_COOKIE_TTL_MS / 1000);
    return redirect(
      `${ADMIN_COOKIE}=${admin.mintCookie()}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure}`,
    );
  });
  app.route('POST', '/dashboard/logout', () =>
    redirect(`${ADMIN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`),
  );
  const feed = new SnapshotFeed(ctx);
  app.route('GET', '/api/v1/events', (req) => {
    if (!allowed(req)) return unauthorized();
    if (ctx.draining) return { status: 503, body: 'draining' };
    if (feed.size >= MAX_FEED_LISTENERS) return { status: 503, body: 'too many dashboard listeners here' };
    return {
      type: 'text/event-stream; charset=utf-8',
      headers: { 'x-accel-buffering': 'no' },
      stream: (s) => feed.subscribe(s),
    };
  });
}
