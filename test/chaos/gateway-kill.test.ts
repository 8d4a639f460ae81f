import { connectRedis, Keyspace, Presence } from '@lingua/cluster';
import { createSimNode } from '@lingua/node-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProc, startGatewayProc, stopProc } from '../../bench/lib/procs';
import { nodeToken, sessionToken, TEST_GATEWAY_ENV } from '../support/auth';
import { StreamingSessions } from '../support/chaos';
import { until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

const ENV = {
  ...TEST_GATEWAY_ENV,
  LINGUA_KEY_PREFIX: 'lingua:chaos:',
  LINGUA_PRESENCE_TTL_MS: '1000',
  LINGUA_NODE_HEARTBEAT_MS: '200',
  LINGUA_NODE_HEARTBEAT_TIMEOUT_MS: '1000',
  LINGUA_SWEEP_INTERVAL_MS: '200',
  LINGUA_JOB_TIMEOUT_MS: '3000',
  LINGUA_INBOX_CLAIM_IDLE_MS: '500',
};

let redis: RedisServer;
const gws: GatewayProc[] = [];

beforeAll(async () => {
  redis = await startRedis();
  // In parallel: on a loaded 2-core machine each start takes seconds.
  gws.push(
    ...(await Promise.all(
      Array.from({ length: 3 }, (_, i) => startGatewayProc(`gw-${i + 1}`, redis.url, ENV)),
    )),
  );
}, 300_000);
afterAll(async () => {
  await Promise.all(gws.map((g) => stopProc(g.child, 'SIGKILL')));
  await redis?.stop();
});

describe('kill -9 of a gateway that owns sessions and nodes', () => {
  it('sessions resume on survivors; every accepted utterance gets exactly one outcome; inbox drained', async () => {
    const sessUrls = gws.map((g) => `ws://127.0.0.1:${g.port}/ws/session`);
    const nodeUrls = gws.map((g) => `ws://127.0.0.1:${g.port}/ws/node`);
    const simToken = await nodeToken('sim-*');
    const nodes = Array.from({ length: 4 }, (_, i) =>
      createSimNode({
        urls: [...nodeUrls.slice(i % 3), ...nodeUrls.slice(0, i % 3)],
        nodeId: `sim-${i}`,
        token: simToken,
        latencyMs: [5, 30],
        maxConcurrentJobs: 8,
        reconnect: { initialMs: 50, maxMs: 300 },
      }),
    );
    await Promise.all(nodes.map((n) => n.start()));
    const load = new StreamingSessions(sessUrls, 20, 'zh', 'en', { token: await sessionToken() });
    await load.start();
    const streaming = load.stream(15, 60);
    await new Promise((r) => setTimeout(r, 400));
    gws[0]!.child.kill('SIGKILL');
    await streaming;
    await until(() => load.settled(), 'every utterance accepted with one outcome', 45_000);
    const t = load.tally();
    // The sessions on gw-1 had to resume elsewhere: 7 when every first connection went where it
    // was sent, fewer when a loaded gw-1 was slow to answer a session_init and the SDK moved on.
    expect(load.reconnects).toBeGreaterThanOrEqual(1);
    console.log('gateway-kill tally', JSON.stringify(t), 'reconnects', load.reconnects);
    expect(t.unaccepted).toBe(0);
    expect(t.lost).toBe(0);
    expect(t.duplicated).toBe(0);
    expect(t.wrong).toBe(0);
    expect(t.accepted).toBe(20 * 15);
    // Only exhausted attempts may turn into missing results; here every node survives.
    expect(t.delivered + Object.values(t.missing).reduce((a, b) => a + b, 0)).toBe(t.accepted);
    // The dead instance's inbox was drained by a survivor and it left the registry.
    const r = connectRedis({ url: redis.url, role: 'worker' });
    const ks = new Keyspace({ prefix: ENV.LINGUA_KEY_PREFIX, cells: 1, shards: 1 });
    await until(async () => (await r.exists(ks.inbox('gw-1'))) === 0, 'gw-1 inbox drained', 20_000);
    await until(
      async () => !(await Presence.list(r, ks)).some((i) => i.id === 'gw-1'),
      'gw-1 removed from registry',
      20_000,
    );
    r.disconnect();
    await load.close();
    await Promise.all(nodes.map((n) => n.close()));
  }, 300_000);
});
