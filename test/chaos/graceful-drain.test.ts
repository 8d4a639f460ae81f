import { createSimNode } from '@lingua/node-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProc, startGatewayProc, stopProc } from '../../bench/lib/procs';
import { nodeToken, sessionToken, TEST_GATEWAY_ENV } from '../support/auth';
import { StreamingSessions } from '../support/chaos';
import { until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

const ENV = {
  ...TEST_GATEWAY_ENV,
  LINGUA_KEY_PREFIX: 'lingua:drain:',
  LINGUA_PRESENCE_TTL_MS: '1000',
  LINGUA_NODE_HEARTBEAT_MS: '200',
  LINGUA_NODE_HEARTBEAT_TIMEOUT_MS: '1500',
  LINGUA_SWEEP_INTERVAL_MS: '200',
  LINGUA_JOB_TIMEOUT_MS: '3000',
  LINGUA_DRAIN_TIMEOUT_MS: '5000',
};

let redis: RedisServer;
const gws: GatewayProc[] = [];

beforeAll(async () => {
  redis = await startRedis();
  // In parallel: on a loaded 2-core machine each start takes seconds.
  gws.push(
    ...(await Promise.all(
      Array.from({ length: 2 }, (_, i) => startGatewayProc(`gw-${i + 1}`, redis.url, ENV)),
    )),
  );
}, 300_000);
afterAll(async () => {
  await Promise.all(gws.map((g) => stopProc(g.child, 'SIGKILL')));
  await redis?.stop();
});

describe('graceful drain (SIGTERM)', () => {
  it('not ready, hands sessions and nodes off, exits 0 in bounded time, nothing lost', async () => {
    const sessUrls = gws.map((g) => `ws://127.0.0.1:${g.port}/ws/session`);
    const nodeUrls = gws.map((g) => `ws://127.0.0.1:${g.port}/ws/node`);
    const simToken = await nodeToken('sim-*');
    const nodes = [0, 1].map((i) =>
      createSimNode({
        urls: [nodeUrls[i]!, nodeUrls[1 - i]!],
        nodeId: `sim-${i}`,
        token: simToken,
        latencyMs: [10, 40],
        reconnect: { initialMs: 50, maxMs: 300 },
      }),
    );
    await Promise.all(nodes.map((n) => n.start()));
    const load = new StreamingSessions(sessUrls, 8, 'zh', 'en', { token: await sessionToken() });
    await load.start();
    const streaming = load.stream(12, 80);
    await new Promise((r) => setTimeout(r, 300));
    const gw1 = gws[0]!;
    const t0 = Date.now();
    const exited = new Promise<number | null>((res) => gw1.child.once('exit', (code) => res(code)));
    gw1.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await streaming;
    await until(() => load.settled(), 'every utterance accepted with one outcome', 45_000);
    const t = load.tally();
    console.log('graceful-drain tally', JSON.stringify(t), 'reconnects', load.reconnects);
    expect(load.reconnects).toBeGreaterThanOrEqual(4);
    expect(t.unaccepted).toBe(0);
    expect(t.lost).toBe(0);
    expect(t.duplicated).toBe(0);
    expect(t.wrong).toBe(0);
    await load.close();
    await Promise.all(nodes.map((n) => n.close()));
  }, 300_000);
});
