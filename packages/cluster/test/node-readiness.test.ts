/**
 * Node readiness (protocol v1.7) in the node-cell scripts, against a real redis-server:
 * warmup and unavailable nodes are pool members that no selection picks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis } from '../../../test/support/redis';
import { ScriptErrorCode } from '../src/errors';
import { Keyspace } from '../src/keys';
import {
  cellPairs,
  getNode,
  nodeHeartbeat,
  poolMembers,
  registerNode,
  setDraining,
  setNodeReadiness,
} from '../src/node-registry';
import { connectRedis, type RedisClient } from '../src/redis';
import { releaseSlot, selectNode } from '../src/select-node';

const T0 = 1_732_000_000_000;
const caps = { services: ['asr', 'nmt'], asrLangs: ['zh'], ttsLangs: ['en'], maxConcurrentJobs: 2 };

let server: Awaited<ReturnType<typeof startRedis>>;
let redis: RedisClient;
let seq = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = connectRedis({ url: server.url, role: 'worker', name: 'test-readiness' });
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

function freshKs(): Keyspace {
  return new Keyspace({ prefix: `ready${++seq}:`, cells: 4, shards: 4 });
}

const select = (ks: Keyspace, jobId: string) =>
  selectNode(redis, ks, { src: 'zh', tgt: 'en', jobId, attempt: 1, now: T0, leaseMs: 10_000 });

async function register(ks: Keyspace, nodeId: string, ready?: boolean, registrationId?: string) {
  return registerNode(redis, ks, {
    nodeId,
    instance: 'gw-1',
    capabilities: caps,
    now: T0,
    ready,
    registrationId,
  });
}

const readiness = (ks: Keyspace, nodeId: string, epoch: number, ready: boolean, reason?: string) =>
  setNodeReadiness(redis, ks, { nodeId, epoch, instance: 'gw-1', ready, reason });

describe('node readiness (v1.7)', () => {
  it('a node registered with ready: false is a pool member that is never selected until ready', async () => {
    const ks = freshKs();
    const r = await register(ks, 'warm', false);
    expect(r.pools).toEqual(['zh:en']);
    expect((await getNode(redis, ks, 'warm'))?.state).toBe('warmup');
    expect(await cellPairs(redis, ks, r.cell)).toEqual({ 'zh:en': 1 });
    expect(await poolMembers(redis, ks, { cell: r.cell, src: 'zh', tgt: 'en' })).toEqual({
      available: [],
      all: ['warm'],
    });
    // The pair exists, no node is free: jobs wait (NO_AVAILABLE_NODE), never NO_POOL.
    await expect(select(ks, 'j.0')).rejects.toMatchObject({ code: ScriptErrorCode.NO_AVAILABLE_NODE });
    // A heartbeat's ready: false (a level) leaves a warming node warming.
    await nodeHeartbeat(redis, ks, {
      nodeId: 'warm',
      epoch: r.epoch,
      instance: 'gw-1',
      now: T0 + 1,
      runningJobs: 0,
      ready: false,
    });
    expect((await getNode(redis, ks, 'warm'))?.state).toBe('warmup');
    // node_unavailable says more: failed to load, with the reason.
    expect(await readiness(ks, 'warm', r.epoch, false, 'model load failed')).toBe(true);
    expect(await getNode(redis, ks, 'warm')).toMatchObject({
      state: 'unavailable',
      reason: 'model load failed',
    });
    await expect(select(ks, 'j.0')).rejects.toMatchObject({ code: ScriptErrorCode.NO_AVAILABLE_NODE });

    expect(await readiness(ks, 'warm', r.epoch, true)).toBe(true);
    expect(await readiness(ks, 'warm', r.epoch, true)).toBe(false); // idempotent
    expect((await getNode(redis, ks, 'warm'))?.state).toBe('online');
    expect((await select(ks, 'j.1')).nodeId).toBe('warm');
  });

  it('unavailable: out of selection, reservations kept and released without rejoining; back on ready', async () => {
    const ks = freshKs();
    const r = await register(ks, 'hot');
    const held = await select(ks, 'j.0');
    expect(held.nodeId).toBe('hot');
    expect(await readiness(ks, 'hot', r.epoch, false, 'gpu overheated')).toBe(true);
    const rec = await getNode(redis, ks, 'hot');
    expect(rec).toMatchObject({ state: 'unavailable', reason: 'gpu overheated', running: 1 });
    await expect(select(ks, 'j.1')).rejects.toMatchObject({ code: ScriptErrorCode.NO_AVAILABLE_NODE });
    // Finishing the job it held frees the slot but does not put it back into selection.
    expect(await releaseSlot(redis, ks, { nodeId: 'hot', jobId: 'j.0', attempt: 1 })).toBe(true);
    await expect(select(ks, 'j.1')).rejects.toMatchObject({ code: ScriptErrorCode.NO_AVAILABLE_NODE });
    // A heartbeat with ready: true brings it back, reason cleared.
    await nodeHeartbeat(redis, ks, {
      nodeId: 'hot',
      epoch: r.epoch,
      instance: 'gw-1',
      now: T0 + 1,
      runningJobs: 0,
      ready: true,
    });
    expect(await getNode(redis, ks, 'hot')).toMatchObject({ state: 'online', reason: '', running: 0 });
    expect((await select(ks, 'j.1')).nodeId).toBe('hot');
    // A heartbeat with ready: false takes it out again.
    await nodeHeartbeat(redis, ks, {
      nodeId: 'hot',
      epoch: r.epoch,
      instance: 'gw-1',
      now: T0 + 2,
      runningJobs: 1,
      ready: false,
    });
    expect((await getNode(redis, ks, 'hot'))?.state).toBe('unavailable');
    await expect(select(ks, 'j.2')).rejects.toMatchObject({ code: ScriptErrorCode.NO_AVAILABLE_NODE });
  });

  it('only the current registration may change readiness; draining is kept and undone to the earlier state', async () => {
    const ks = freshKs();
    const r = await register(ks, 'n', false, 'conn-1');
    await expect(readiness(ks, 'n', r.epoch + 1, true)).rejects.toMatchObject({
      code: ScriptErrorCode.NODE_OFFLINE,
    });
    await expect(
      setNodeReadiness(redis, ks, { nodeId: 'n', epoch: r.epoch, instance: 'gw-2', ready: true }),
    ).rejects.toMatchObject({ code: ScriptErrorCode.NODE_OFFLINE });
    expect(await setDraining(redis, ks, { nodeId: 'n' })).toBe(true);
    expect(await readiness(ks, 'n', r.epoch, true)).toBe(false);
    expect((await getNode(redis, ks, 'n'))?.state).toBe('draining');
    expect(await setDraining(redis, ks, { nodeId: 'n', draining: false })).toBe(true);
    expect((await getNode(redis, ks, 'n'))?.state).toBe('warmup');
    await expect(select(ks, 'j.0')).rejects.toMatchObject({ code: ScriptErrorCode.NO_AVAILABLE_NODE });
    // A re-registration takes its state from its own `ready`; a re-sent one changes nothing.
    const again = await register(ks, 'n', undefined, 'conn-2');
    expect((await getNode(redis, ks, 'n'))?.state).toBe('online');
    expect(await readiness(ks, 'n', again.epoch, false)).toBe(true);
    expect((await register(ks, 'n', undefined, 'conn-2')).epoch).toBe(again.epoch);
    expect((await getNode(redis, ks, 'n'))?.state).toBe('unavailable');
  });
});
