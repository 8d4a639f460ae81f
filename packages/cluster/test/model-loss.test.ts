/**
 * Model availability (protocol v1.7) in the node-cell scripts, against a real redis-server: a
 * node leaves exactly the pool of the pair it lost, nothing puts it back but a heartbeat that
 * lists the pair or a new registration; removals are rate-limited per node and cluster-wide.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis } from '../../../test/support/redis';
import { ScriptErrorCode } from '../src/errors';
import { Keyspace } from '../src/keys';
import { nodeModelLost, takeModelLossToken } from '../src/model-loss';
import { cellPairs, getNode, nodeHeartbeat, poolMembers, registerNode } from '../src/node-registry';
import { connectRedis, type RedisClient } from '../src/redis';
import { releaseSlot, selectNode } from '../src/select-node';

const T0 = 1_732_000_000_000;
const caps = {
  services: ['asr', 'nmt'],
  asrLangs: ['zh', 'en'],
  ttsLangs: ['en', 'ja'],
  maxConcurrentJobs: 2,
};

let server: Awaited<ReturnType<typeof startRedis>>;
let redis: RedisClient;
let seq = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = connectRedis({ url: server.url, role: 'worker', name: 'test-model-loss' });
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

// One cell: every node shares it, so the pool contents are easy to read.
const freshKs = () => new Keyspace({ prefix: `ml${++seq}:`, cells: 1, shards: 1 });
const select = (ks: Keyspace, jobId: string, src = 'zh', tgt = 'en') =>
  selectNode(redis, ks, { src, tgt, jobId, attempt: 1, now: T0, leaseMs: 10_000 });
const register = (ks: Keyspace, nodeId: string, registrationId?: string) =>
  registerNode(redis, ks, { nodeId, instance: 'gw-1', capabilities: caps, now: T0, registrationId });
const lose = (ks: Keyspace, nodeId: string, epoch: number, pair: string) =>
  nodeModelLost(redis, ks, { nodeId, epoch, instance: 'gw-1', pair });
const heartbeat = (ks: Keyspace, nodeId: string, epoch: number, models?: string[]) =>
  nodeHeartbeat(redis, ks, { nodeId, epoch, instance: 'gw-1', now: T0 + 1, runningJobs: 0, models });

describe('model availability (v1.7)', () => {
  it('the node leaves only the lost pair; released slots do not bring it back; a heartbeat listing it does', async () => {
    const ks = freshKs();
    const a = await register(ks, 'a');
    await register(ks, 'b');
    expect(a.pools).toEqual(['en:ja', 'zh:en', 'zh:ja']);
    const held = await select(ks, 'j.0');
    expect(held.nodeId).toBe('a');

    expect(await lose(ks, 'a', a.epoch, 'zh:en')).toEqual({ removed: true, pools: ['en:ja', 'zh:ja'] });
    expect(await lose(ks, 'a', a.epoch, 'zh:en')).toEqual({ removed: false, pools: ['en:ja', 'zh:ja'] });
    expect(await poolMembers(redis, ks, { cell: 0, src: 'zh', tgt: 'en' })).toMatchObject({ all: ['b'] });
    expect(await cellPairs(redis, ks, 0)).toMatchObject({ 'zh:en': 1, 'zh:ja': 2 });
    expect((await getNode(redis, ks, 'a'))?.lostModels).toEqual(['zh:en']);
    // Finishing its job re-scores the node in the pools it still has, not in zh:en.
    await releaseSlot(redis, ks, { nodeId: 'a', jobId: 'j.0', attempt: 1 });
    for (let i = 1; i <= 2; i++) expect((await select(ks, `j.${i}`)).nodeId).toBe('b');
    await expect(select(ks, 'j.3')).rejects.toMatchObject({ code: ScriptErrorCode.NO_AVAILABLE_NODE });
    expect((await select(ks, 'k.0', 'zh', 'ja')).nodeId).toBe('a'); // other pairs unaffected

    // A heartbeat without the pair (or without `models`) changes nothing; with it, it rejoins.
    expect(await heartbeat(ks, 'a', a.epoch)).toMatchObject({ poolsChanged: false });
    expect(await heartbeat(ks, 'a', a.epoch, ['zh:ja', 'en:ja'])).toMatchObject({ poolsChanged: false });
    expect(await heartbeat(ks, 'a', a.epoch, ['zh:en', 'zh:ja', 'en:ja'])).toEqual({
      pools: ['en:ja', 'zh:en', 'zh:ja'],
      poolsChanged: true,
    });
    expect((await getNode(redis, ks, 'a'))?.lostModels).toEqual([]);
    expect((await select(ks, 'j.3')).nodeId).toBe('a');
  });

  it('a new registration rejoins every lost pool; a stale registration cannot remove pools', async () => {
    const ks = freshKs();
    const a = await register(ks, 'a', 'c1');
    await lose(ks, 'a', a.epoch, 'zh:en');
    await expect(
      nodeModelLost(redis, ks, { nodeId: 'a', epoch: a.epoch + 1, instance: 'gw-1', pair: 'zh:ja' }),
    ).rejects.toMatchObject({ code: ScriptErrorCode.NODE_OFFLINE });
    await expect(lose(ks, 'a', a.epoch, 'zh en')).rejects.toMatchObject({
      code: ScriptErrorCode.BAD_ARGUMENT,
    });
    const again = await register(ks, 'a', 'c2');
    expect(again.pools).toEqual(['en:ja', 'zh:en', 'zh:ja']);
    expect((await getNode(redis, ks, 'a'))?.lostModels).toEqual([]);
    expect((await select(ks, 'j.0')).nodeId).toBe('a');
  });

  it('removals are rate-limited per node and cluster-wide; a re-sent take counts once', async () => {
    const ks = freshKs();
    const take = (nodeId: string, requestId: string, now = T0) =>
      takeModelLossToken(redis, ks, { nodeId, now, requestId, clusterPerMinute: 3, nodePerMinute: 2 });
    expect(await take('a', 'j.0|1')).toBe(true);
    expect(await take('a', 'j.0|1')).toBe(true); // re-send: same token
    expect(await take('a', 'j.1|1')).toBe(true);
    expect(await take('a', 'j.2|1')).toBe(false); // node bucket (2/min) empty
    expect(await take('b', 'j.3|1')).toBe(true);
    expect(await take('c', 'j.4|1')).toBe(false); // cluster bucket (3/min) empty
    expect(await take('a', 'j.5|1', T0 + 60_000)).toBe(true); // refilled
    // Every bucket key expires by itself.
    for (const key of [ks.modelLossRate(), ks.modelLossNodeRate('a')])
      expect(await redis.pttl(key)).toBeGreaterThan(0);
  });
});
