/**
 * Dead-instance inbox drain latency under load: two real gateways on a machine with a CPU hog;
 * 16 "dead instances" appear one after another (registered, presence about to expire, inbox
 * holding 150 outcome envelopes and probes each, like a gateway killed with a full inbox).
 * Measured per instance: presence expiry → inbox deleted and instance out of the registry.
 * Target (issue 10): p99 ≤ 5 s; the assertion is a generous hang bound, the numbers are logged.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connectRedis, encode, Keyspace, type RedisClient } from '@lingua/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProc, startGatewayProc, stopProc } from '../../bench/lib/procs';
import { tethered } from '../../packages/cli/src/tether';
import { until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

const ENV = {
  LINGUA_KEY_PREFIX: 'lingua:drain:',
  LINGUA_PRESENCE_TTL_MS: '1000',
  LINGUA_SWEEP_INTERVAL_MS: '200',
  LINGUA_NODE_HEARTBEAT_MS: '200',
  LINGUA_NODE_HEARTBEAT_TIMEOUT_MS: '1000',
  LINGUA_LOG_LEVEL: process.env.DRAIN_LOG ?? 'warn',
};
const ks = new Keyspace({ prefix: ENV.LINGUA_KEY_PREFIX, cells: 1, shards: 1 });

let redis: RedisServer;
let r: RedisClient;
let hog: ChildProcess | undefined;
const gws: GatewayProc[] = [];

beforeAll(async () => {
  redis = await startRedis();
  r = connectRedis({ url: redis.url, role: 'worker' });
  // In parallel: on a loaded 2-core machine each start takes seconds.
  gws.push(
    ...(await Promise.all(
      Array.from({ length: 2 }, (_, i) => startGatewayProc(`gw-${i + 1}`, redis.url, ENV)),
    )),
  );
  // One core busy for the whole test (the machine has two).
  const run = tethered(process.execPath, ['-e', 'for(;;);'], 'SIGKILL');
  hog = spawn(run.command, run.args, { stdio: 'ignore' });
}, 300_000);
afterAll(async () => {
  hog?.kill('SIGKILL');
  r?.disconnect();
  await Promise.all(gws.map((g) => stopProc(g.child, 'SIGKILL')));
  await redis?.stop();
});

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('dead-instance inbox drain', () => {
  it('drains each dead inbox and retires the instance within seconds of its presence expiring', async () => {
    const N = 16;
    const ENTRIES = 150;
    const expiresAt = new Map<string, number>();
    const drainedAt = new Map<string, number>();
    // Watch from the start (deaths and drains overlap): one pipelined round every 20 ms.
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const ids = [...expiresAt.keys()].filter((id) => !drainedAt.has(id));
        if (ids.length) {
          const p = r.pipeline();
          p.zrange(ks.instances(), 0, -1);
          for (const id of ids) p.exists(ks.inbox(id));
          const res = (await p.exec())!.map(([, v]) => v);
          const registered = new Set(res[0] as string[]);
          ids.forEach((id, i) => {
            if (!registered.has(id) && res[i + 1] === 0) drainedAt.set(id, Date.now());
          });
        }
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    for (let i = 0; i < N; i++) {
      const id = `dead-${i}`;
      const now = Date.now();
      const ttl = 300;
      const inbox = ks.inbox(id);
      await r.xgroup('CREATE', inbox, 'lingua', '0', 'MKSTREAM');
      const p = r.pipeline();
      for (let e = 0; e < ENTRIES; e++) {
        const env =
          e % 10 === 0
            ? { t: 'probe', from: id, ts: now }
            : {
                t: 'outcome',
                sessionId: `gone-${i}-${e}`,
                outcome: { index: e, kind: 'missing', reason: 'failed', jobId: `gone-${i}-${e}.${e}` },
              };
        p.xadd(inbox, '*', 'm', encode(env));
      }
      p.zadd(ks.instances(), now, id);
      p.set(ks.presence(id), '{}', 'PX', ttl);
      await p.exec();
      expiresAt.set(id, now + ttl);
      await new Promise((res) => setTimeout(res, 150)); // staggered, as deaths are
    }
    await until(() => drainedAt.size === N, 'every dead inbox drained and its instance retired', 60_000);
    watching = false;
    await watcher;
    const ms = [...drainedAt].map(([id, t]) => t - expiresAt.get(id)!).sort((a, b) => a - b);
    console.log(
      `inbox drain under load (${N} dead instances × ${ENTRIES} entries, 1 core busy): ` +
        `expiry → drained p50 ${pct(ms, 50)} ms, p99 ${pct(ms, 99)} ms, max ${ms[ms.length - 1]} ms`,
    );
    // A late write to a retired inbox (a sender still took dead-0 for an owner) is drained too.
    await r.xadd(
      ks.inbox('dead-0'),
      '*',
      'm',
      encode({
        t: 'outcome',
        sessionId: 'late',
        outcome: { index: 0, kind: 'missing', reason: 'failed', jobId: 'late.0' },
      }),
    );
    await until(
      async () => (await r.exists(ks.inbox('dead-0'))) === 0,
      'the late inbox drained again',
      20_000,
    );
    // Generous hang bound; the target (p99 ≤ 5 s) is reported above and by the drills.
    expect(ms[ms.length - 1]).toBeLessThan(20_000);
    // Both gateways still serve (nothing wedged by the drain).
    for (const g of gws) expect((await fetch(`http://127.0.0.1:${g.port}/ready`)).status).toBe(200);
  }, 300_000);
});
