/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core): two gateways
 * with an admin token, two nodes, a session with a few utterances and one failover. The
 * browser logs in through the form (the token never goes into a URL), then the page must show
 * the real instance and node counts, chart the jobs, list the failover, and log no console or
 * page errors. The final screenshot goes to test-output/ (and docs/dashboard.png with LINGUA_UPDATE_SCREENSHOT=1).
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CREDENTIALS } from '../support/auth';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, rawNode, type TestNode, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

const ROOT = resolve(import.meta.dirname, '../..');
const CHROMIUM = process.env.LINGUA_CHROMIUM ?? '/usr/bin/chromium';
const ADMIN = TEST_CREDENTIALS.adminToken;
const OUT_DIR = join(ROOT, 'test-output');

let redis: RedisServer;
let cluster: TestCluster;
let nodes: TestNode[] = [];
let browser: Browser | undefined;

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGateways(redis.url, 2, { shards: 2 });
});
afterAll(async () => {
  await browser?.close();
  for (const n of nodes) n.close();
  await cluster?.stop();
  await redis?.stop();
});

async function data(page: Page, testid: string, attr: string): Promise<string | null> {
  return page.getAttribute(`[data-testid="${testid}"]`, `data-${attr}`);
}

describe('dashboard in Chromium', () => {
  it('shows instances, nodes, pools, the jobs chart and failovers live, without console errors', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: the dashboard test needs it. Install it with ` +
          '`npm run setup` (as root) or `apt-get install -y chromium` (or set LINGUA_CHROMIUM).',
      );
    }
    const [nodeUrlA, nodeUrlB] = cluster.urls('node');
    nodes = [
      await rawNode(nodeUrlA!, 'node-a', { asr: ['zh', 'en'], tts: ['zh', 'en', 'ja'], heartbeatMs: 1000 }),
      await rawNode(nodeUrlB!, 'node-b', { asr: ['en', 'ja'], tts: ['en', 'zh', 'ja'], heartbeatMs: 1000 }),
    ];
    const session = await RawPeer.connect(cluster.urls('session')[1]!);
    session.send({
      type: 'session_init',
      src_lang: 'en',
      tgt_lang: 'ja',
      audio_format: 'pcm16',
      sample_rate: 16000,
    });
    await session.next('session_init_ack');
    const say = (i: number) =>
      session.send({
        type: 'utterance',
        data: Buffer.from(`dashboard utterance ${i} `.repeat(30)).toString('base64'),
      });
    say(0);
    const [first] = await session.next('translation_result', 1);
    // Affinity sends the next utterance to the same node: make it fail once → failover.
    const served = nodes.find((n) => n.assigns.length > 0)!;
    served.behaviour.fail = true;
    say(1);
    await session.next('translation_result', 2);
    served.behaviour.fail = false;
    for (let i = 2; i < 8; i++) say(i);
    const results = await session.next('translation_result', 8);
    expect(results.map((r) => r.utterance_index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(results[1]!.node_id).not.toBe(first!.node_id);
    session.send({ type: 'room_join', room_id: 'dash-room', display_name: 'Dash' });
    await session.next('room_joined');
    // One utterance in the room: the rooms table shows its rate.
    say(8);
    await session.next('translation_result', 9);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      // The login form is served with 401 (no valid cookie), which Chromium logs as a failed load.
      if (m.type() === 'error' && !/status of 401/.test(m.text())) errors.push(`console: ${m.text()}`);
    });
    const unauthorized: string[] = [];
    page.on('response', (r) => {
      if (r.status() === 401) unauthorized.push(new URL(r.url()).pathname);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => {
      // A live stream (or the rooms poll) is aborted when the page closes; anything else is a real failure.
      if (!/\/api\/v1\/(events|rooms)$/.test(r.url())) errors.push(`requestfailed: ${r.url()}`);
    });

    const port = cluster.gateways[0]!.port;
    // Without the login cookie: the login form (401), never the data.
    const login = await page.goto(`http://127.0.0.1:${port}/dashboard`);
    expect(login?.status()).toBe(401);
    await page.fill('[data-testid="login-token"]', 'not-the-token');
    await page.click('[data-testid="login-submit"]');
    expect(await page.textContent('[data-testid="login-error"]')).toContain('not the admin token');
    await page.fill('[data-testid="login-token"]', ADMIN);
    await Promise.all([
      page.waitForURL(`http://127.0.0.1:${port}/dashboard`),
      page.click('[data-testid="login-submit"]'),
    ]);
    const cookies = await page.context().cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['lingua_admin', true, 'Strict']]);
    expect(cookies[0]!.value).not.toContain(ADMIN);
    await until(
      async () =>
        (await data(page, 'instances-alive', 'value')) === '2' &&
        (await data(page, 'nodes-online', 'value')) === '2' &&
        Number(await data(page, 'jobs-chart', 'total')) >= 8 &&
        Number(await data(page, 'latency-chart', 'points')) > 0 &&
        (await page.locator('[data-testid="failovers"] tbody tr td').first().textContent()) !== 'none',
      'the dashboard to show 2 instances, 2 nodes, 8 jobs and a failover',
      20_000,
    );
    expect(await page.getAttribute('[data-testid="feed-status"]', 'data-state')).toBe('live');
    expect(await page.textContent('[data-pool="en:ja"]')).toMatch(/^2 · \d+$/);
    expect(await page.textContent('[data-pool="zh:en"]')).toMatch(/^1 · \d+$/);
    const nodeRows = await page.locator('[data-testid="nodes-table"] tbody tr').allTextContents();
    expect(nodeRows.join('\n')).toMatch(/node-a\s*online/);
    expect(nodeRows.join('\n')).toMatch(/node-b\s*online/);
    const failover = await page.locator('[data-testid="failovers"] tbody tr').first().textContent();
    expect(failover).toContain(served === nodes[0] ? 'node-a' : 'node-b');
    expect(failover).toContain('failed');
    expect(await page.textContent('[data-testid="dlq-length"]')).toBe('0');
    // Meeting rooms: polled from /api/v1/rooms.
    await until(
      async () =>
        /dash-room[\s\S]*Dash\s*en → ja/.test(
          (await page.locator('[data-testid="rooms-table"] tbody').textContent()) ?? '',
        ),
      'the rooms table to show dash-room',
      10_000,
    );
    // utterances/min: the one utterance spoken in the room (less once its minute starts to slide out)
    expect(
      Number(await page.locator('[data-testid="rooms-table"] td[data-rate]').first().textContent()),
    ).toBeGreaterThan(0);

    // Live: another instance joins and the page follows without a reload.
    const third = await startGateways(redis.url, 1, {
      shards: 2,
      keyPrefix: cluster.gateways[0]!.cfg.keyPrefix,
      instanceId: 'gw-3',
    });
    try {
      await until(
        async () => (await data(page, 'instances-alive', 'value')) === '3',
        'the page to show gw-3',
        10_000,
      );
    } finally {
      await third.stop();
    }
    await until(
      async () => (await data(page, 'instances-alive', 'value')) === '2',
      'gw-3 gone again',
      10_000,
    );

    mkdirSync(OUT_DIR, { recursive: true });
    const shot = join(OUT_DIR, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    // The README's screenshot is refreshed on request only, so test runs leave the tree clean.
    if (process.env.LINGUA_UPDATE_SCREENSHOT === '1') copyFileSync(shot, join(ROOT, 'docs', 'dashboard.png'));
    // Log out: the cookie is gone and the form is back.
    await Promise.all([
      page.waitForURL(`http://127.0.0.1:${port}/dashboard`),
      page.click('[data-testid="logout"]'),
    ]);
    expect(await page.context().cookies()).toEqual([]);
    expect(await page.locator('[data-testid="login-form"]').count()).toBe(1);
    await page.close();
    expect(errors).toEqual([]);
    // 401s only for the login form (first visit, the wrong token, after logout): never the feed.
    expect(unauthorized).toEqual(['/dashboard', '/dashboard/login', '/dashboard']);
  });

  it('the API and the feed refuse requests without the admin token', async () => {
    const base = `http://127.0.0.1:${cluster.gateways[1]!.port}`;
    for (const path of ['/api/v1/cluster', '/api/v1/stats', '/api/v1/nodes', '/api/v1/events', '/metrics']) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(401);
      const wrong = {
        authorization: 'Bearer not-the-admin-token',
        cookie: 'lingua_admin=v1.9999999999999.AAAAAAAAAAAAAAAA.x',
      };
      expect((await fetch(`${base}${path}`, { headers: wrong })).status, path).toBe(401);
    }
    const ok = await fetch(`${base}/api/v1/stats`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(ok.status).toBe(200);
    const stats = await ok.json();
    // 8 utterances, and one more in the room
    expect(stats.jobs.by_state.completed).toBe(9);
    expect(stats.last_minute.completed).toBe(9);
    expect(stats.last_minute.failovers).toBe(1);
    const page = await fetch(`${base}/dashboard`);
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('action="/dashboard/login"');
  });
});
