/**
 * The forget-nodes sweep's two parts against a real Redis: forget-nodes-1.lua (offline nodes
 * deleted after the forget time, online ones never) and pruneEmptyPairHints (global pair hints
 * follow what the cells serve; a pair served again is put back).
 */
import {
  connectRedis,
  forgetOfflineNodes,
  Keyspace,
  listNodes,
  nodeOffline,
  pruneEmptyPairHints,
  type RedisClient,
  registerNode,
} from '@lingua/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let r: RedisClient;
const ks = new Keyspace({ prefix: 'lingua:forget:', cells: 2, shards: 1 });

beforeAll(async () => {
  redis = await startRedis();
  r = connectRedis({ url: redis.url, role: 'worker', name: 'forget-test' });
});
afterAll(async () => {
  r?.disconnect();
  await redis?.stop();
});

const caps = (asr: string[], tts: string[]) => ({
  services: ['asr', 'nmt'],
  asrLangs: asr,
  ttsLangs: tts,
  maxConcurrentJobs: 2,
});
const allNodes = async () =>
  [...(await listNodes(r, ks, 0)), ...(await listNodes(r, ks, 1))].map((n) => n.nodeId).sort();

describe('forget-nodes', () => {
  it('deletes nodes offline longer than the forget time, never online ones; bounded steps', async () => {
    for (let i = 0; i < 30; i++) {
      await registerNode(r, ks, {
        nodeId: `n${i}`,
        instance: 'gw',
        now: 1000,
        capabilities: caps(['zh'], ['en']),
      });
    }
    for (let i = 0; i < 20; i++) await nodeOffline(r, ks, { nodeId: `n${i}`, now: 2000 + i });
    const forget = async (now: number) => {
      const out: string[] = [];
      for (const cell of [0, 1])
        out.push(...(await forgetOfflineNodes(r, ks, { cell, now, forgetMs: 1000, count: 3 })));
      return out.sort();
    };
    expect(await forget(2999)).toEqual([]); // n0 went offline at 2000: not yet
    expect(await forget(3005)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4', 'n5'].sort());
    expect((await forget(10_000)).length).toBe(14);
    expect(await allNodes()).toEqual(Array.from({ length: 10 }, (_, i) => `n${i + 20}`).sort());
    for (let i = 0; i < 20; i++) expect(await r.exists(ks.node(`n${i}`), ks.nodeJobs(`n${i}`))).toBe(0);
    // a forgotten node registers again as a new one
    const again = await registerNode(r, ks, {
      nodeId: 'n0',
      instance: 'gw',
      now: 20_000,
      capabilities: caps(['zh'], ['en']),
    });
    expect(again.epoch).toBe(1);
  });

  it('pair hints: unserved pairs leave {g}, stale cells leave the pair, served pairs come back', async () => {
    await registerNode(r, ks, { nodeId: 'solo', instance: 'gw', now: 1, capabilities: caps(['fr'], ['de']) });
    const cell = ks.cellOf('solo');
    expect(await r.smembers(ks.pairCells('fr', 'de'))).toEqual([String(cell)]);
    // a stale cell in the hint and a hint for a pair nobody serves
    await r.sadd(ks.pairCells('fr', 'de'), String(1 - cell));
    await r.sadd(ks.allPairs(), 'aa:bb');
    await r.sadd(ks.pairCells('aa', 'bb'), '0');
    // a served pair whose hint went missing is restored by a prune that removed something
    await r.srem(ks.allPairs(), 'zh:en');
    await r.del(ks.pairCells('zh', 'en'));
    const removed = await pruneEmptyPairHints(r, ks);
    expect(removed).toContain('aa:bb');
    expect(await r.exists(ks.pairCells('aa', 'bb'))).toBe(0);
    expect(await r.smembers(ks.pairCells('fr', 'de'))).toEqual([String(cell)]);
    expect(await r.sismember(ks.allPairs(), 'zh:en')).toBe(1);
    expect(await r.scard(ks.pairCells('zh', 'en'))).toBeGreaterThan(0);
    // the node leaves: its pair's hints go on the next prune
    await nodeOffline(r, ks, { nodeId: 'solo', now: 2 });
    expect(await pruneEmptyPairHints(r, ks)).toEqual(['fr:de']);
    expect(await r.exists(ks.pairCells('fr', 'de'))).toBe(0);
    expect(await r.sismember(ks.allPairs(), 'fr:de')).toBe(0);
  });
});
