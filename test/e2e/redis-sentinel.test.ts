/**
 * `redis+sentinel://` on a real Sentinel set (primary, replica, 3 sentinels): every connection
 * role (request, worker with bullmq's duplicated connections, blocking XREADGROUP) runs Lua
 * scripts and commands through the primary the sentinels name, and follows a failover by
 * itself after the primary is SIGKILLed (its replica is promoted).
 */
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, JobStore, Keyspace, type RedisClient } from '../../packages/cluster/src/index';
import { until } from '../support/peers';
import { type RedisTopology, startRedisSentinel } from '../support/redis-topology';

let topo: RedisTopology;
const conns: RedisClient[] = [];
const ks = new Keyspace({ prefix: 'lingua:sent:', cells: 1, shards: 2 });

function connect(role: 'request' | 'worker' | 'blocking'): RedisClient {
  const c = connectRedis({ url: topo.url, role, name: `sentinel-test-${role}` });
  c.on('error', () => {}); // the failover below drops connections on purpose
  conns.push(c);
  return c;
}

beforeAll(async () => {
  topo = await startRedisSentinel({ downAfterMs: 1000 });
});
afterAll(async () => {
  for (const c of conns) c.disconnect();
  await topo?.stop();
});

const session = (sid: string, now: number) => ({
  sessionId: sid,
  tenant: 't',
  src: 'zh',
  tgt: 'en',
  audioFormat: 'pcm16',
  sampleRate: 16000,
  features: {},
  owner: 'gw-1',
  conn: 'c1',
  resumeToken: 'tok',
  now,
});

describe('redis+sentinel://', () => {
  it('every connection role follows a SIGKILL of the primary to the promoted replica', async () => {
    const request = connect('request');
    const worker = connect('worker');
    const blocking = connect('blocking');
    const cfg = {
      maxAttempts: 3,
      resultLogMaxLen: 100,
      resultLogTtlMs: 60_000,
      jobTtlMs: 60_000,
      sessionTtlMs: 60_000,
    };
    const store = new JobStore(request, ks, cfg);
    const prefix = `{${ks.bullPrefix()}}`;
    const queue = new Queue('sentinel-test', { connection: worker, prefix });
    const done: string[] = [];
    const bull = new Worker(
      'sentinel-test',
      async (job) => {
        done.push(job.name);
      },
      { connection: worker, prefix },
    );
    bull.on('error', () => {});
    queue.on('error', () => {});
    try {
      // Before: a Lua script on the request connection, a bullmq job, a blocking read.
      expect(await store.openSession(session('s-before', Date.now()))).toBe('created');
      await queue.add('before', {});
      await until(() => done.includes('before'), 'bullmq job before the failover');
      const stream = `${ks.prefix}{i:t}:inbox`;
      await request.xadd(stream, '*', 'm', 'x');
      const read = (await blocking.xread('BLOCK', 5000, 'STREAMS', stream, '0')) as [string, unknown[]][];
      expect(read[0]![1]).toHaveLength(1);

      const oldPort = await topo.redis.sentinelPrimaryPort();
      const primary = topo.redis.byPort(oldPort)!;
      const killedAt = Date.now();
      let lastErr = '';
      await topo.redis.kill(primary);

      // After: the same client objects work again once the replica is promoted.
      await until(
        async () => {
          try {
            // 'exists' when an earlier attempt timed out on the client but ran on the server
            return ['created', 'exists'].includes(await store.openSession(session('s-after', Date.now())));
          } catch (err) {
            lastErr = String(err);
            return false;
          }
        },
        'a Lua script through the promoted primary',
        30_000,
      ).catch((err) => {
        throw new Error(`${err.message}; last error: ${lastErr}`);
      });
      const outageMs = Date.now() - killedAt;
      const newPort = await topo.redis.waitSentinelFailover(oldPort);
      expect(newPort).not.toBe(oldPort);
      expect(await topo.redis.clusterRole(newPort)).toBe('master'); // ROLE of the new primary
      // The session written before the kill was replicated (synchronously enough here: idle).
      expect(await store.getSession('s-before')).not.toBeNull();
      await queue.add('after', {});
      await until(() => done.includes('after'), 'bullmq job after the failover', 30_000);
      const blocked = blocking.xread('BLOCK', 10_000, 'STREAMS', stream, '$') as Promise<
        [string, unknown[]][]
      >;
      await new Promise((r) => setTimeout(r, 100)); // the read is blocking before the XADD below
      await request.xadd(stream, '*', 'm', 'y');
      expect((await blocked)?.[0]?.[1]).toHaveLength(1);
      // down-after 1 s + election: a few seconds, far below the drill's 10 s bound.
      expect(outageMs).toBeLessThan(15_000);
      console.log(`sentinel failover: writes through redis+sentinel:// again after ${outageMs} ms`);
    } finally {
      await bull.close().catch(() => {});
      await queue.close().catch(() => {});
    }
  });
});
