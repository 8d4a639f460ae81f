/**
 * Two-way selection (v1.11) against a real redis-server: the two-way index of a language pair
 * holds exactly the nodes serving both directions, and follows every way a node gains or
 * loses a direction (register, re-register, model loss and recovery, offline).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis } from '../../../test/support/redis';
import { ScriptErrorCode } from '../src/errors';
import { Keyspace } from '../src/keys';
import { nodeModelLost } from '../src/model-loss';
import { type NodeCapabilities, nodeHeartbeat, nodeOffline, registerNode } from '../src/node-registry';
import { connectRedis, type RedisClient } from '../src/redis';
import { releaseSlot, selectNode } from '../src/select-node';
import { simulateSelection } from '../src/simulate';

const T0 = 1_732_000_000_000;

function caps(asrLangs: string[], ttsLangs: string[], max = 4): NodeCapabilities {
  return { services: ['asr', 'nmt'], asrLangs, ttsLangs, maxConcurrentJobs: max, info: {} };
}

describe('two-way selection', () => {
  let stop: () => Promise<void>;
  let redis: RedisClient;
  let seq = 0;
  beforeAll(async () => {
    const s = await startRedis();
    stop = () => s.stop();
    redis = connectRedis({ url: s.url, role: 'worker', name: 'test-two-way' });
  });
  afterAll(async () => {
    redis?.disconnect();
    await stop?.();
  });

  const fresh = () => new Keyspace({ prefix: `tw${++seq}:`, cells: 4, shards: 4 });
  const register = (ks: Keyspace, nodeId: string, c: NodeCapabilities) =>
    registerNode(redis, ks, { nodeId, instance: 'gw-1', capabilities: c, now: T0 });
  const twoWay = (ks: Keyspace, jobId: string, src = 'zh', tgt = 'en', attempt = 1) =>
    selectNode(redis, ks, { src, tgt, jobId, attempt, now: T0, leaseMs: 10_000, twoWay: true });

  it('only nodes serving both directions receive two-way jobs, whichever order the pair is given', async () => {
    const ks = fresh();
    for (let i = 0; i < 4; i++) await register(ks, `one-${i}`, caps(['zh'], ['en']));
    await register(ks, 'both', caps(['zh', 'en'], ['en', 'zh'], 100));
    for (let j = 0; j < 12; j++) {
      const s = await twoWay(ks, `j${j}`, j % 2 ? 'zh' : 'en', j % 2 ? 'en' : 'zh');
      expect(s.nodeId).toBe('both');
    }
    // One-way selection still uses every node of the pair.
    const oneWay = new Set<string>();
    for (let j = 0; j < 10; j++) {
      const s = await selectNode(redis, ks, {
        src: 'zh',
        tgt: 'en',
        jobId: `o${j}`,
        attempt: 1,
        now: T0,
        leaseMs: 10_000,
      });
      oneWay.add(s.nodeId);
    }
    expect(oneWay.size).toBeGreaterThan(1);
    // The dry-run of a two-way session's next job reads the same index.
    await redis.hset(ks.session('s-tw'), 'next_index', '0', 'feat', JSON.stringify({ two_way: true }));
    const dry = await simulateSelection(redis, ks, { src: 'zh', tgt: 'en', sessionId: 's-tw' });
    expect(dry).toMatchObject({ two_way: true, chosen: { node_id: 'both' }, error: null });
    expect(dry.candidates.map((c) => c.node_id)).toEqual(['both']);
  });

  it('NO_POOL_FOR_LANG_PAIR without a two-way node; NO_AVAILABLE_NODE when it is full', async () => {
    const ks = fresh();
    await register(ks, 'zh-en', caps(['zh'], ['en']));
    await register(ks, 'en-zh', caps(['en'], ['zh']));
    await expect(twoWay(ks, 'a')).rejects.toMatchObject({ code: ScriptErrorCode.NO_POOL_FOR_LANG_PAIR });
    await register(ks, 'both', caps(['zh', 'en'], ['en', 'zh'], 1));
    const s = await twoWay(ks, 'b');
    expect(s.nodeId).toBe('both');
    await expect(twoWay(ks, 'c')).rejects.toMatchObject({ code: ScriptErrorCode.NO_AVAILABLE_NODE });
    // A one-way job took the slot from the same node: shared slots, one count.
    expect(await releaseSlot(redis, ks, { nodeId: 'both', jobId: 'b', attempt: 1 })).toBe(true);
    expect((await twoWay(ks, 'c')).nodeId).toBe('both');
  });

  it('follows re-registration, model loss and recovery, and offline', async () => {
    const ks = fresh();
    const r = await register(ks, 'n', caps(['zh', 'en'], ['en', 'zh']));
    expect((await twoWay(ks, 'r1')).nodeId).toBe('n');
    // Losing one direction's model ends two-way service; reporting it again restores it.
    const lost = await nodeModelLost(redis, ks, {
      nodeId: 'n',
      epoch: r.epoch,
      instance: 'gw-1',
      pair: 'en:zh',
    });
    expect(lost.removed).toBe(true);
    await expect(twoWay(ks, 'r2')).rejects.toMatchObject({ code: ScriptErrorCode.NO_POOL_FOR_LANG_PAIR });
    await nodeHeartbeat(redis, ks, {
      nodeId: 'n',
      epoch: r.epoch,
      instance: 'gw-1',
      now: T0 + 1,
      runningJobs: 1,
      models: ['zh:en', 'en:zh'],
    });
    expect((await twoWay(ks, 'r3')).nodeId).toBe('n');
    // Re-registering with one ASR language leaves the two-way index.
    const r2 = await register(ks, 'n', caps(['zh'], ['en', 'zh']));
    await expect(twoWay(ks, 'r4')).rejects.toMatchObject({ code: ScriptErrorCode.NO_POOL_FOR_LANG_PAIR });
    const r3 = await register(ks, 'n', caps(['zh', 'en'], ['en', 'zh']));
    expect(r3.epoch).toBeGreaterThan(r2.epoch);
    expect((await twoWay(ks, 'r5')).nodeId).toBe('n');
    await nodeOffline(redis, ks, { nodeId: 'n', now: T0 + 2 });
    await expect(twoWay(ks, 'r6')).rejects.toMatchObject({ code: ScriptErrorCode.NO_POOL_FOR_LANG_PAIR });
    for (let c = 0; c < ks.cells; c++) {
      expect(await redis.scard(ks.twoWayAll(c, 'zh', 'en'))).toBe(0);
      expect(await redis.zcard(ks.twoWayPool(c, 'en', 'zh'))).toBe(0);
    }
  });
});
