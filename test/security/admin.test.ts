/**
 * Issue 9, finding 7 and the admin part of B, against real gateway processes: /api/*, the
 * live feed, /metrics (unless LINGUA_METRICS_PUBLIC=true) and /dashboard need the admin token,
 * as a bearer header or as the dashboard's login cookie (HttpOnly, SameSite=Strict, signed,
 * expiring; the token itself never in a URL); a gateway with no credentials refuses to start
 * unless LINGUA_INSECURE=true, and an insecure one runs open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders, INSECURE, TEST_CREDENTIALS } from '../support/auth';
import { type GatewayProcesses, spawnGateway, startGatewayProcesses } from '../support/gateway-procs';
import { startGateways } from '../support/gateways';
import { RawPeer } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

const ADMIN_ROUTES = [
  '/api/v1/cluster',
  '/api/v1/stats',
  '/api/v1/nodes',
  '/api/v1/jobs/x.0',
  '/api/v1/events',
];
let redis: RedisServer;
let cluster: GatewayProcesses;

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGatewayProcesses(redis.url, 2, {}, [{}, { LINGUA_METRICS_PUBLIC: 'true' }]);
}, 150_000);
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

/** Status of a GET that must not stream forever (the events feed answers 200 then streams). */
async function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  const ctl = new AbortController();
  const r = await fetch(url, { headers, signal: ctl.signal, redirect: 'manual' });
  ctl.abort();
  return r.status;
}

function login(base: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/dashboard/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
    redirect: 'manual',
  });
}

describe('admin surface', { timeout: 240_000 }, () => {
  it('/api/*, the feed and /metrics need the admin bearer token; /health and /ready do not', async () => {
    const { base } = cluster.gateways[0]!;
    for (const path of [...ADMIN_ROUTES, '/metrics']) {
      expect(await status(`${base}${path}`), path).toBe(401);
      expect(await status(`${base}${path}`, { authorization: 'Bearer wrong-admin-token-000' }), path).toBe(
        401,
      );
      expect(await status(`${base}${path}`, adminHeaders()), path).toBe(
        path === '/api/v1/jobs/x.0' ? 404 : 200,
      );
    }
    expect(await status(`${base}/health`)).toBe(200);
    expect(await status(`${base}/ready`)).toBe(200);
  });

  it('LINGUA_METRICS_PUBLIC=true opens /metrics only', async () => {
    const { base } = cluster.gateways[1]!;
    expect(await status(`${base}/metrics`)).toBe(200);
    expect(await status(`${base}/api/v1/cluster`)).toBe(401);
  });

  it('the dashboard: a login form, then an HttpOnly SameSite=Strict cookie that any instance accepts; logout', async () => {
    const [gw1, gw2] = cluster.gateways;
    const form = await fetch(`${gw1!.base}/dashboard`);
    expect(form.status).toBe(401);
    const html = await form.text();
    expect(html).toContain('action="/dashboard/login"');
    expect(html).not.toContain('data-testid="instances-alive"');

    const wrong = await login(gw1!.base, 'token=not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect((await login(gw1!.base, `token=${'x'.repeat(100_000)}`)).status).toBe(413); // the seam's body bound

    const ok = await login(gw1!.base, `token=${encodeURIComponent(TEST_CREDENTIALS.adminToken)}`);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/dashboard');
    const setCookie = ok.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^lingua_admin=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect(setCookie).not.toContain(TEST_CREDENTIALS.adminToken);
    const cookie = { cookie: setCookie.split(';')[0]! };

    // The cookie opens the page, the feed, the API and /metrics, on every instance.
    for (const gw of [gw1!, gw2!]) {
      const page = await fetch(`${gw.base}/dashboard`, { headers: cookie });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('data-testid="instances-alive"');
      for (const path of ['/api/v1/cluster', '/api/v1/events', '/metrics']) {
        expect(await status(`${gw.base}${path}`, cookie), path).toBe(200);
      }
    }
    // A forged or altered cookie does not.
    const [name, value] = cookie.cookie.split('=') as [string, string];
    const altered = value.replace(/\.(\d+)\./, (_m, exp) => `.${Number(exp) + 86_400_000}.`);
    expect(await status(`${gw1!.base}/api/v1/cluster`, { cookie: `${name}=${altered}` })).toBe(401);
    expect(await status(`${gw1!.base}/dashboard`, { cookie: `${name}=v1.9999999999999.forged` })).toBe(401);

    // Behind a TLS-terminating load balancer the cookie is Secure.
    const viaTls = await login(gw2!.base, `token=${encodeURIComponent(TEST_CREDENTIALS.adminToken)}`, {
      'x-forwarded-proto': 'https',
    });
    expect(viaTls.headers.get('set-cookie')).toMatch(/; Secure$/);

    const out = await fetch(`${gw1!.base}/dashboard/logout`, {
      method: 'POST',
      headers: cookie,
      redirect: 'manual',
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/^lingua_admin=; .*Max-Age=0/);
  });

  it('a gateway without credentials refuses to start, naming what is missing', async () => {
    // Both start at once (loading a gateway is the slow part on a busy machine).
    const [open, old] = await Promise.all([
      spawnGateway('gw-open', { LINGUA_REDIS_URL: redis.url }, { waitReady: false }),
      spawnGateway(
        'gw-old',
        { LINGUA_REDIS_URL: redis.url, LINGUA_AUTH_TOKEN: 'shared-secret', LINGUA_INSECURE: 'true' },
        { waitReady: false },
      ),
    ]);
    const exits = (g: typeof open) =>
      new Promise((r) => (g.child.exitCode !== null ? r(g.child.exitCode) : g.child.once('exit', r)));
    expect(await exits(open)).toBe(2);
    for (const name of [
      'LINGUA_SESSION_JWT_SECRET',
      'LINGUA_NODE_JWT_SECRET',
      'LINGUA_ADMIN_TOKEN',
      'LINGUA_INSECURE=true',
    ]) {
      expect(open.output()).toContain(name);
    }
    expect(await exits(old)).toBe(2);
    expect(old.output()).toContain('LINGUA_AUTH_TOKEN was removed');
    expect(old.output()).not.toContain('shared-secret');
  });

  it('LINGUA_INSECURE=true runs open (development only)', async () => {
    const open = await startGateways(redis.url, 1, INSECURE);
    try {
      const base = `http://127.0.0.1:${open.gateways[0]!.port}`;
      expect(await status(`${base}/api/v1/cluster`)).toBe(200);
      expect(await status(`${base}/dashboard`)).toBe(200);
      const s = await RawPeer.connect(open.urls('session')[0]!, { token: null });
      s.send({ type: 'client_heartbeat', ts: 1 });
      await s.next('server_heartbeat');
      s.close();
    } finally {
      await open.stop();
    }
  });
});
