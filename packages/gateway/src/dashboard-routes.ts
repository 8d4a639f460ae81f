/**
 * The cluster dashboard page and its live feed, served by every gateway.
 *
 *   GET /dashboard         the page (static: no data, so no token; it passes `?token=` on as
 *                          a bearer header to the feed)
 *   GET /api/v1/events     Server-Sent Events: one `snapshot` event per second with
 *                          { served_by, cluster, stats } (admin bearer token when configured)
 *
 * One snapshot is read per second per instance, only while someone listens, and shared by
 * every listener. A listener that cannot keep up skips snapshots until its socket drains
 * (the transport seam's HttpStream never touches a response after it ended or aborted).
 */
import { dashboardPage } from '@lingua/dashboard';
import { clusterReader } from './api';
import type { GatewayContext } from './context';
import { getRoute, unauthorized } from './http';
import type { HttpStream, HttpTransport } from './transport/types';

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

export function registerDashboardRoutes(app: HttpTransport, ctx: GatewayContext, adminToken?: string): void {
  const page = () => ({ body: dashboardPage(), type: 'text/html; charset=utf-8' });
  getRoute(app, '/dashboard', page);
  getRoute(app, '/dashboard/', page);
  const feed = new SnapshotFeed(ctx);
  app.route('GET', '/api/v1/events', (req) => {
    if (adminToken && req.header('authorization') !== `Bearer ${adminToken}`) return unauthorized();
    if (ctx.draining) return { status: 503, body: 'draining' };
    if (feed.size >= MAX_FEED_LISTENERS) return { status: 503, body: 'too many dashboard listeners here' };
    return {
      type: 'text/event-stream; charset=utf-8',
      headers: { 'x-accel-buffering': 'no' },
      stream: (s) => feed.subscribe(s),
    };
  });
}
