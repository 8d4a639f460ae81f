import { createSimNode } from '@lingua/node-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProc, startGatewayProc, stopProc } from '../../bench/lib/procs';
import { nodeToken, sessionToken, TEST_GATEWAY_ENV } from '../support/auth';
import { StreamingSessions } from '../support/chaos';
import { until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

const ENV = {
  ...TEST_GATEWAY_ENV,
  LINGUA_KEY_PREFIX: 'lingua:rr:',
  LINGUA_NODE_HEARTBEAT_MS: '300',
  LINGUA_NODE_HEARTBEAT_TIMEOUT_MS: '3000',
  LINGUA_SWEEP_INTERVAL_MS: '300',
  LINGUA_JOB_TIMEOUT_MS: '2000',
  LINGUA_INBOX_CLAIM_IDLE_MS: '500',
};

let redis: RedisServer;
const gws: GatewayProc[] = [];

beforeAll(async () => {
  redis = await startRedis({ aof: true });
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

const readyStatus = (port: number) =>
  fetch(`http://127.0.0.1:${port}/ready`).then(
    (r) => r.status,
    () => 0,
  );

describe('Redis killed and restarted (AOF) under light load', () => {
  it('gateways recover without restarting; /ready 503 then 200; no utterance silent', async () => {
    const sessUrls = gws.map((g) => `ws://127.0.0.1:${g.port}/ws/session`);
    const nodeUrls = gws.map((g) => `ws://127.0.0.1:${g.port}/ws/node`);
    const simToken = await nodeToken('sim-*');
    const nodes = [0, 1].map((i) =>
      createSimNode({
        urls: [nodeUrls[i]!, nodeUrls[1 - i]!],
        nodeId: `sim-${i}`,
        token: simToken,
        latencyMs: 10,
        reconnect: { initialMs: 50, maxMs: 500 },
      }),
    );
    await Promise.all(nodes.map((n) => n.start()));
    const load = new StreamingSessions(sessUrls, 6, 'zh', 'en', { token: await sessionToken() });
    await load.start();
    const streaming = load.stream(20, 100);
    await new Promise((r) => setTimeout(r, 500));
    await redis.kill();
    // Readiness reflects the outage on every gateway, and the processes stay up.
    for (const g of gws) await until(async () => (await readyStatus(g.port)) === 503, `gw ${g.id} not ready`);
    await new Promise((r) => setTimeout(r, 500));
    await redis.restart();
    for (const g of gws)
      await until(async () => (await readyStatus(g.port)) === 200, `gw ${g.id} ready`, 20_000);
    expect(gws.every((g) => g.child.exitCode === null)).toBe(true);
    await streaming;
    await until(() => load.settled(), 'every utterance accepted with one outcome', 45_000);
    const t = load.tally();
    console.log('redis-restart tally', JSON.stringify(t));
    expect(t.unaccepted).toBe(0);
    expect(t.lost).toBe(0);
    expect(t.duplicated).toBe(0);
    expect(t.wrong).toBe(0);
    await load.close();
    await Promise.all(nodes.map((n) => n.close()));
  }, 300_000);
});
