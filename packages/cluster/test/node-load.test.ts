/**
 * Capability- and load-aware selection (protocol v1.9) in the node-cell scripts, against a
 * real redis-server: hot nodes come after every cool one (also across cells), the affinity
 * node yields when hot, and `tts` jobs reach only nodes with the 'tts' service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis } from '../../../test/support/redis';
import { ScriptErrorCode } from '../src/errors';
import { Keyspace } from '../src/keys';
import { nodeModelLost } from '../src/model-loss';
import {
  DEFAULT_HOT_THRESHOLD,
  getNode,
  isHot,
  type NodeCapabilities,
  nodeHeartbeat,
  nodeOffline,
  registerNode,
  setDraining,
} from '../src/node-registry';
import { connectRedis, type RedisClient } from '../src/redis';
import { releaseSlot, type SelectNodeParams, selectNode } from '../src/select-node';
import { simulateSelection } from '../src/simulate';

const T0 = 1_732_000_000_000;
const plain: NodeCapabilities = {
  services: ['asr', 'nmt'],
  asrLangs: ['zh'],
  ttsLangs: ['en'],
  maxConcurrentJobs: 2,
};
const speech: NodeCapabilities = { ...plain, services: ['asr', 'nmt', 'tts'] };

let server: Awaited<ReturnType<typeof startRedis>>;
let redis: RedisClient;
let seq = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = connectRedis({ url: server.url, role: 'worker', name: 'test-load' });
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

function freshKs(cells = 1): Keyspace {
  return new Keyspace({ prefix: `load${++seq}:`, cells, shards: 2 });
}

const select = (ks: Keyspace, jobId: string, p: Partial<SelectNodeParams> = {}) =>
  selectNode(redis, ks, { src: 'zh', tgt: 'en', jobId, attempt: 1, now: T0, leaseMs: 10_000, ...p });

const epochs = new Map<string, number>();
async function register(ks: Keyspace, nodeId: string, capabilities: NodeCapabilities = plain) {
  const r = await registerNode(redis, ks, { nodeId, instance: 'gw-1', capabilities, now: T0 });
  epochs.set(nodeId, r.epoch);
  return r;
}
const heartbeat = (ks: Keyspace, nodeId: string, hot: boolean | undefined, now = T0 + 1) =>
  nodeHeartbeat(redis, ks, {
    nodeId,
    epoch: epochs.get(nodeId)!,
    instance: 'gw-1',
    now,
    runningJobs: 0,
    hot,
  });

/** Node ids that land in distinct cells of `ks`. */
function idsInCells(ks: Keyspace, prefix: string, count: number): string[] {
  const byCell = new Map<number, string>();
  for (let i = 0; byCell.size < count; i++) {
    const id = `${prefix}${i}`;
    if (!byCell.has(ks.cellOf(id))) byCell.set(ks.cellOf(id), id);
  }
  return [...byCell.values()];
}

describe('isHot', () => {
  it('any reported fraction above the threshold; unreported parts and no resource are cool', () => {
    expect(DEFAULT_HOT_THRESHOLD).toBe(0.75);
    expect(isHot(undefined, 0.75)).toBe(false);
    expect(isHot({}, 0.75)).toBe(false);
    expect(isHot({ cpu: 0.75, gpu: 0.2 }, 0.75)).toBe(false);
    expect(isHot({ cpu: 0.1, gpu: 0.76 }, 0.75)).toBe(true);
    expect(isHot({ mem: 0.9 }, 0.95)).toBe(false);
  });
});

describe('load-aware selection (v1.9)', () => {
  it('a hot node is skipped while a cool one has room, taken when none has, and back when it cools', async () => {
    const ks = freshKs();
    await register(ks, 'a');
    await register(ks, 'b');
    // b carries a job (load 0.5), a is idle (0) but hot: b is chosen.
    expect((await select(ks, 'j.0', { affinityNodeId: 'b' })).nodeId).toBe('b');
    await heartbeat(ks, 'a', true);
    expect((await getNode(redis, ks, 'a'))?.hot).toBe(true);
    expect((await select(ks, 'j.1')).nodeId).toBe('b');
    // b is full now: the hot node is better than no node.
    expect((await select(ks, 'j.2')).nodeId).toBe('a');
    await releaseSlot(redis, ks, { nodeId: 'a', jobId: 'j.2', attempt: 1 });
    await releaseSlot(redis, ks, { nodeId: 'b', jobId: 'j.1', attempt: 1 });
    // Release keeps the band: a (idle, hot) still after b (0.5, cool).
    expect((await select(ks, 'j.3')).nodeId).toBe('b');
    await releaseSlot(redis, ks, { nodeId: 'b', jobId: 'j.3', attempt: 1 });
    // A heartbeat without a verdict keeps the flag; a cool one moves it back to its load.
    await heartbeat(ks, 'a', undefined);
    expect((await getNode(redis, ks, 'a'))?.hot).toBe(true);
    await heartbeat(ks, 'a', false);
    expect((await getNode(redis, ks, 'a'))?.hot).toBe(false);
    expect((await select(ks, 'j.4')).nodeId).toBe('a');
  });

  it('affinity yields when its node is hot, and keeps the session when every node is hot', async () => {
    const ks = freshKs();
    await register(ks, 'a');
    await register(ks, 'b');
    await heartbeat(ks, 'a', true);
    expect((await select(ks, 'j.0', { affinityNodeId: 'a' })).nodeId).toBe('b');
    await heartbeat(ks, 'b', true);
    // Both hot: a (idle) is the affinity and stays, though b would be as good.
    expect((await select(ks, 'j.1', { affinityNodeId: 'a' })).nodeId).toBe('a');
    // Without affinity, least loaded within the hot band.
    const third = await select(ks, 'j.2');
    expect(third.nodeId).toBe('a'); // a 1/2 vs b 1/2: ties by id
    // Excluded hot nodes are skipped like cool ones.
    await releaseSlot(redis, ks, { nodeId: 'a', jobId: 'j.2', attempt: 1 });
    expect((await select(ks, 'j.3', { exclude: ['a'] })).nodeId).toBe('b');
  });

  it('across cells: a cool node in a later cell wins over a hot node in the first cell tried', async () => {
    const ks = freshKs(4);
    const [hot, cool] = idsInCells(ks, 'n', 2) as [string, string];
    const hotReg = await register(ks, hot, { ...plain, maxConcurrentJobs: 100 });
    await register(ks, cool, { ...plain, maxConcurrentJobs: 100 });
    await heartbeat(ks, hot, true);
    // Job ids rotate the cell order; whichever cell comes first, the cool node is chosen,
    // also when the session's affinity is the hot node.
    for (let i = 0; i < 12; i++) {
      expect((await select(ks, `s.${i}`)).nodeId).toBe(cool);
    }
    expect((await select(ks, 'aff.0', { affinityNodeId: hot })).nodeId).toBe(cool);
    // Nothing was reserved on the hot node by the cool-only pass.
    expect((await getNode(redis, ks, hot))?.running).toBe(0);
    // The dry-run applies the same rule (whichever cell it tries first).
    const dry = await simulateSelection(redis, ks, { src: 'zh', tgt: 'en' });
    expect(dry.chosen?.node_id).toBe(cool);
    expect(dry.candidates.find((c) => c.node_id === hot)).toMatchObject({ status: 'hot', hot: true });
    // The cool node draining: hot is all there is, and the affinity keeps it.
    await setDraining(redis, ks, { nodeId: cool });
    expect((await select(ks, 'aff.1', { affinityNodeId: hot })).nodeId).toBe(hot);
    expect((await select(ks, 's.99')).nodeId).toBe(hot);
    expect((await simulateSelection(redis, ks, { src: 'zh', tgt: 'en' })).chosen?.node_id).toBe(hot);
    expect(hotReg.cell).not.toBe(ks.cellOf(cool));
  });
});

describe('TTS-aware selection (v1.9)', () => {
  it('tts jobs reach only nodes with the tts service; others use every node', async () => {
    const ks = freshKs();
    await register(ks, 'plain-1');
    // No TTS node anywhere: the pair has no TTS pool.
    await expect(select(ks, 't.0', { tts: true })).rejects.toMatchObject({
      code: ScriptErrorCode.NO_POOL_FOR_LANG_PAIR,
    });
    await register(ks, 'speech-1', speech);
    const dry = await simulateSelection(redis, ks, { src: 'zh', tgt: 'en', tts: true });
    expect(dry).toMatchObject({ tts: true, chosen: { node_id: 'speech-1' }, error: null });
    expect(dry.candidates.map((c) => c.node_id)).toEqual(['speech-1']);
    // plain-1 is less loaded after this, yet tts jobs go to speech-1.
    expect((await select(ks, 'p.0', { affinityNodeId: 'speech-1' })).nodeId).toBe('speech-1');
    expect((await select(ks, 't.1', { tts: true })).nodeId).toBe('speech-1');
    // speech-1 full (2/2): tts jobs wait (NO_AVAILABLE_NODE), plain ones still run.
    await expect(select(ks, 't.2', { tts: true })).rejects.toMatchObject({
      code: ScriptErrorCode.NO_AVAILABLE_NODE,
    });
    expect((await select(ks, 'p.1')).nodeId).toBe('plain-1');
    // A tts affinity to a node without TTS is ignored.
    await releaseSlot(redis, ks, { nodeId: 'speech-1', jobId: 't.1', attempt: 1 });
    expect((await select(ks, 't.3', { tts: true, affinityNodeId: 'plain-1' })).nodeId).toBe('speech-1');
  });

  it('the TTS index follows the node: hot band, model loss, re-registration without tts, offline', async () => {
    const ks = freshKs();
    await register(ks, 's1', speech);
    await register(ks, 's2', speech);
    await heartbeat(ks, 's1', true);
    expect((await select(ks, 't.0', { tts: true })).nodeId).toBe('s2');
    await releaseSlot(redis, ks, { nodeId: 's2', jobId: 't.0', attempt: 1 });
    // s2 loses the model of zh:en: out of the pair's TTS index too.
    await nodeModelLost(redis, ks, {
      nodeId: 's2',
      epoch: epochs.get('s2')!,
      instance: 'gw-1',
      pair: 'zh:en',
    });
    expect((await select(ks, 't.1', { tts: true })).nodeId).toBe('s1');
    expect(await redis.smembers(ks.ttsAll(0, 'zh', 'en'))).toEqual(['s1']);
    // s1 registers again without the tts service: no TTS node serves the pair any more.
    await register(ks, 's1', plain);
    expect(await redis.zrange(ks.ttsPool(0, 'zh', 'en'), 0, -1)).toEqual([]);
    await expect(select(ks, 't.2', { tts: true })).rejects.toMatchObject({
      code: ScriptErrorCode.NO_POOL_FOR_LANG_PAIR,
    });
    // ... and with it again it is back; offline takes it out.
    await register(ks, 's1', speech);
    expect((await select(ks, 't.3', { tts: true })).nodeId).toBe('s1');
    await nodeOffline(redis, ks, { nodeId: 's1', now: T0 + 2 });
    expect(await redis.scard(ks.ttsAll(0, 'zh', 'en'))).toBe(0);
    expect(await redis.zcard(ks.ttsPool(0, 'zh', 'en'))).toBe(0);
  });
});
