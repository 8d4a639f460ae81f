/**
 * The DLQ is capped, never trimmed: at capacity a dead-letter is refused and the entry stays
 * pending in the inbox (counted), and it moves once an operator made room. Dead letters leave
 * only by replay/delete or the explicit retention (DlqMonitor with LINGUA_DLQ_RETENTION_MS).
 */
import { connectRedis, DeadLetter, encode, InboxBus, Keyspace, type RedisClient } from '@lingua/cluster';
import { DlqMonitor } from '@lingua/workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let server: RedisServer;
let redis: RedisClient;
const ks = new Keyspace({ prefix: 'lingua:dlqcap:', cells: 1, shards: 1 });
const silent = { info() {}, warn() {}, error() {} };

beforeAll(async () => {
  server = await startRedis();
  redis = connectRedis({ url: server.url, role: 'worker' });
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

describe('inbox reclaim', () => {
  it('re-delivers a failed entry through an auto-pipelined request connection (XCLAIM keeps its name)', async () => {
    // The gateway's InboxBus uses the request connection (auto-pipelined). ioredis drops the
    // command name of callBuffer('XCLAIM', …) there: reclaim never re-delivered anything.
    const request = connectRedis({ url: server.url, role: 'request' });
    let calls = 0;
    const inbox = new InboxBus({
      redis: request,
      blocking: connectRedis({ url: server.url, role: 'blocking' }),
      ks,
      instanceId: 'gw-reclaim',
      handle: async () => {
        calls++;
        if (calls === 1) throw new Error('socket busy'); // first delivery fails
      },
      log: silent,
      claimIdleMs: 100,
      claimIntervalMs: 100,
    });
    await inbox.start();
    try {
      await request.xadd(ks.inbox('gw-reclaim'), '*', 'm', encode({ t: 'kick', sessionId: 's', conn: 'c' }));
      await until(() => inbox.stats.delivered === 1, 'the entry re-delivered by reclaim');
      expect(inbox.stats.reclaimed).toBeGreaterThanOrEqual(1);
      expect(await request.xlen(ks.inbox('gw-reclaim'))).toBe(0);
    } finally {
      await inbox.stop();
      request.disconnect();
    }
  });
});

describe('DLQ capacity', () => {
  it('refuses to dead-letter past capacity, keeps the entry pending, and moves it once there is room', async () => {
    const refused: string[] = [];
    const inbox = new InboxBus({
      redis,
      blocking: connectRedis({ url: server.url, role: 'blocking' }),
      ks,
      instanceId: 'gw-cap',
      handle: async () => {
        throw new DeadLetter('poison');
      },
      log: silent,
      dlqCapacity: 2,
      claimIdleMs: 100,
      claimIntervalMs: 100,
      onDeadLetterRefused: (reason) => refused.push(reason),
    });
    await inbox.start();
    try {
      for (let i = 0; i < 4; i++) {
        await redis.xadd(ks.inbox('gw-cap'), '*', 'm', encode({ t: 'kick', sessionId: `s${i}`, conn: 'c' }));
      }
      await until(async () => refused.length >= 2, 'refusals counted');
      const dlq = ks.dlq('gw-cap');
      const pendingCount = async () =>
        ((await redis.xpending(ks.inbox('gw-cap'), 'lingua')) as [number, ...unknown[]])[0];
      // Nothing dropped: the DLQ holds its capacity and the two others stay in the inbox, pending
      // (waited for: an entry may still be in its handler when the refusals are counted).
      await until(
        async () => (await redis.xlen(dlq)) === 2 && (await pendingCount()) === 2,
        'DLQ at capacity, two entries pending',
      );
      // Refused entries are asked again (not dropped), and still refused while full.
      const before = refused.length;
      await until(async () => refused.length > before, 'the refused entries retried');
      expect(await redis.xlen(dlq), 'DLQ still at capacity').toBe(2);
      // An operator deletes one dead letter: one more entry moves in, the last stays pending.
      const first = (await redis.xrange(dlq, '-', '+', 'COUNT', 1))[0]!;
      await redis.xdel(dlq, first[0]);
      await until(async () => (await redis.xlen(dlq)) === 2, 'one more dead letter moved in');
      await until(async () => (await pendingCount()) === 1, 'the last one still pending');
      await until(() => inbox.stats.deadLettered >= 3, 'the third dead letter counted');
      expect(inbox.stats.deadLettered).toBe(3);
    } finally {
      await inbox.stop();
    }
  });

  it('dead letters are removed only with an explicit retention, counted', async () => {
    const dlq = ks.dlq('gw-ret');
    await redis.sadd(ks.dlqIndex(), 'gw-ret');
    const now = Date.now();
    await redis.xadd(dlq, `${now - 60_000}-0`, 'reason', 'old');
    await redis.xadd(dlq, `${now - 1000}-0`, 'reason', 'new');
    const lengths = new Map<string, number>();
    const expired: number[] = [];
    const monitor = (retentionMs: number) =>
      new DlqMonitor(
        redis,
        ks,
        {
          intervalMs: 1000,
          retentionMs,
          onLength: (inst, n) => lengths.set(inst, n),
          onExpired: (_inst, n) => expired.push(n),
          log: silent,
        },
        () => now,
      );
    // Default: off. Nothing leaves, the length is reported.
    expect(await monitor(0).round()).toBe(0);
    expect(lengths.get('gw-ret')).toBe(2);
    // Retention 30 s: the 60 s old entry goes, the 1 s old one stays.
    expect(await monitor(30_000).round()).toBe(1);
    expect(expired).toEqual([1]);
    expect(lengths.get('gw-ret')).toBe(1);
    expect((await redis.xrange(dlq, '-', '+')).map(([, f]) => f[1])).toEqual(['new']);
  });
});
