/**
 * Node registry + selection against real Redis: the same behavioural suite on a single
 * redis-server (4 cells) and on a 3-master Redis Cluster (16 cells, 16 shards).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, startRedisCluster } from '../../../test/support/redis';
import { isScriptError, ScriptErrorCode } from '../src/errors';
import { Keyspace } from '../src/keys';
import {
  cellPairs,
  getNode,
  type NodeCapabilities,
  nodeHeartbeat,
  nodeOffline,
  poolMembers,
  reapStaleNodes,
  registerNode,
  setDraining,
} from '../src/node-registry';
import { connectRedis, type RedisClient } from '../src/redis';
import { SCRIPTS } from '../src/script-defs.gen';
import { runScript } from '../src/scripts';
import { reapLeases, releaseSlot, type SelectedNode, selectNode } from '../src/select-node';

const T0 = 1_732_000_000_000;
const LEASE = 10_000;

interface Backend {
  url: string;
  cells: number;
  shards: number;
  stop(): Promise<void>;
}

async function startSingle(): Promise<Backend> {
  const s = await startRedis();
  return { url: s.url, cells: 4, shards: 4, stop: () => s.stop() };
}

async function startCluster(): Promise<Backend> {
  const c = await startRedisCluster(3);
  const url = `redis+cluster://${c.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  return { url, cells: 16, shards: 16, stop: () => c.stop() };
}

function caps(
  asrLangs: string[],
  ttsLangs: string[],
  max = 4,
  services = ['asr', 'nmt', 'tts'],
): NodeCapabilities {
  return { services, asrLangs, ttsLangs, maxConcurrentJobs: max, info: { hardware: { gpus: 1 } } };
}

let prefixSeq = 0;

describe.each([
  ['single', startSingle],
  ['cluster', startCluster],
] as const)('node registry and selection on %s redis', (kind, start) => {
  let backend: Backend;
  let redis: RedisClient;
  const extra: RedisClient[] = [];

  beforeAll(async () => {
    backend = await start();
    redis = connectRedis({ url: backend.url, role: 'worker', name: `test-${kind}` });
  });

  afterAll(async () => {
    for (const c of [redis, ...extra]) c?.disconnect();
    await backend?.stop();
  });

  /** A fresh keyspace per test: tests never see each other's keys. */
  function freshKs(): Keyspace {
    prefixSeq += 1;
    return new Keyspace({ prefix: `t${prefixSeq}:${kind}:`, cells: backend.cells, shards: backend.shards });
  }

  /** n node ids that all hash to the same cell (to test in-cell ordering). */
  function idsInCell(ks: Keyspace, cell: number, n: number, tag: string): string[] {
    const out: string[] = [];
    for (let i = 0; out.length < n && i < 100_000; i++) {
      const id = `${tag}-${i}`;
      if (ks.cellOf(id) === cell) out.push(id);
    }
    return out;
  }

  async function register(ks: Keyspace, nodeId: string, c: NodeCapabilities, now = T0, instance = 'gw-1') {
    return registerNode(redis, ks, { nodeId, instance, capabilities: c, now });
  }

  function select(ks: Keyspace, jobId: string, extraParams: Partial<Parameters<typeof selectNode>[2]> = {}) {
    return selectNode(redis, ks, {
      src: 'zh',
      tgt: 'en',
      jobId,
      attempt: 1,
      now: T0,
      leaseMs: LEASE,
      ...extraParams,
    });
  }

  async function sumOverCells(ks: Keyspace, fn: (cell: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (let c = 0; c < ks.cells; c++) total += await fn(c);
    return total;
  }

  it('joins exactly the directed pools asr x tts without src == tgt', async () => {
    const ks = freshKs();
    const r = await register(ks, 'node-a', caps(['zh', 'en'], ['zh', 'en', 'ja']));
    expect(r.epoch).toBe(1);
    expect(r.pools).toEqual(['en:ja', 'en:zh', 'zh:en', 'zh:ja']);
    expect(r.cell).toBe(ks.cellOf('node-a'));
    expect(await cellPairs(redis, ks, r.cell)).toEqual({ 'en:ja': 1, 'en:zh': 1, 'zh:en': 1, 'zh:ja': 1 });
    for (const pair of r.pools) {
      const [src, tgt] = pair.split(':') as [string, string];
      const m = await poolMembers(redis, ks, { cell: r.cell, src, tgt });
      expect(m).toEqual({ available: [{ nodeId: 'node-a', load: 0 }], all: ['node-a'] });
      expect(await redis.smembers(ks.pairCells(src, tgt))).toEqual([String(r.cell)]);
    }
    expect((await redis.smembers(ks.allPairs())).sort()).toEqual(r.pools);
    // en:en does not exist anywhere.
    expect(await poolMembers(redis, ks, { cell: r.cell, src: 'en', tgt: 'en' })).toEqual({
      available: [],
      all: [],
    });
    await expect(select(ks, 'j-enen', { src: 'en', tgt: 'en' })).rejects.toMatchObject({
      code: ScriptErrorCode.NO_POOL_FOR_LANG_PAIR,
    });
    const node = await getNode(redis, ks, 'node-a');
    expect(node).toMatchObject({
      state: 'online',
      epoch: 1,
      instance: 'gw-1',
      running: 0,
      maxConcurrentJobs: 4,
    });
    expect(node?.info).toEqual({ hardware: { gpus: 1 } });
    expect(await redis.zscore(ks.heartbeats(r.cell), 'node-a')).toBe(String(T0));
  });

  it("gates pools on services: 'asr' and 'nmt' required, 'tts' optional", async () => {
    const ks = freshKs();
    const noNmt = await register(ks, 'no-nmt', caps(['zh'], ['en'], 4, ['asr', 'tts']));
    expect(noNmt.pools).toEqual([]);
    await expect(select(ks, 'j1')).rejects.toMatchObject({ code: ScriptErrorCode.NO_POOL_FOR_LANG_PAIR });
    const textOnly = await register(ks, 'text-only', caps(['zh'], ['en'], 4, ['asr', 'nmt']));
    expect(textOnly.pools).toEqual(['zh:en']);
    expect((await select(ks, 'j2')).nodeId).toBe('text-only');
  });

  it('re-registration with fewer languages leaves the old pools and keeps reservations', async () => {
    const ks = freshKs();
    const r1 = await register(ks, 'node-b', caps(['zh', 'en'], ['zh', 'en', 'ja']));
    const held = await select(ks, 'job-1');
    expect(held.nodeId).toBe('node-b');
    const r2 = await register(ks, 'node-b', caps(['zh'], ['en']), T0 + 1000, 'gw-2');
    expect(r2.epoch).toBe(r1.epoch + 1);
    expect(r2.pools).toEqual(['zh:en']);
    // It sent no job list: the earlier connection's job is kept for now, to be checked later.
    expect(r2.previous).toEqual({ instance: 'gw-1', epoch: r1.epoch });
    expect(r2.unconfirmed).toEqual([{ jobId: 'job-1', attempt: 1 }]);
    expect(r2.lost).toEqual([]);
    expect(await cellPairs(redis, ks, r2.cell)).toEqual({ 'zh:en': 1 });
    for (const pair of ['en:ja', 'en:zh', 'zh:ja']) {
      const [src, tgt] = pair.split(':') as [string, string];
      expect(await poolMembers(redis, ks, { cell: r2.cell, src, tgt })).toEqual({ available: [], all: [] });
    }
    await expect(select(ks, 'job-2', { src: 'en', tgt: 'zh' })).rejects.toMatchObject({
      code: ScriptErrorCode.NO_POOL_FOR_LANG_PAIR,
    });
    // The reservation survived the re-registration and still counts.
    expect(await getNode(redis, ks, 'node-b')).toMatchObject({
      running: 1,
      instance: 'gw-2',
      state: 'online',
    });
    expect((await poolMembers(redis, ks, { cell: r2.cell, src: 'zh', tgt: 'en' })).available).toEqual([
      { nodeId: 'node-b', load: 0.25 },
    ]);
    expect(await releaseSlot(redis, ks, { nodeId: 'node-b', jobId: 'job-1', attempt: 1 })).toBe(true);
    expect(await getNode(redis, ks, 'node-b')).toMatchObject({ running: 0 });
  });

  it('a re-sent registration (same registration id) does not bump the epoch', async () => {
    const ks = freshKs();
    const params = { nodeId: 'node-r', instance: 'gw-1', capabilities: caps(['zh'], ['en']), now: T0 };
    const a = await registerNode(redis, ks, { ...params, registrationId: 'conn-1' });
    const b = await registerNode(redis, ks, { ...params, registrationId: 'conn-1' });
    expect(b).toEqual(a);
    const c = await registerNode(redis, ks, { ...params, registrationId: 'conn-2' });
    expect(c.epoch).toBe(a.epoch + 1);
    // A re-send arriving after that connection already went offline is refused.
    await nodeOffline(redis, ks, { nodeId: 'node-r', epoch: c.epoch, now: T0 });
    await expect(registerNode(redis, ks, { ...params, registrationId: 'conn-2' })).rejects.toMatchObject({
      code: ScriptErrorCode.NODE_OFFLINE,
    });
  });

  it('rejects bad registrations before touching Redis state', async () => {
    const ks = freshKs();
    await expect(register(ks, 'bad,id', caps(['zh'], ['en']))).rejects.toMatchObject({
      code: ScriptErrorCode.BAD_ARGUMENT,
    });
    await expect(register(ks, 'n', caps(['zh:x'], ['en']))).rejects.toMatchObject({
      code: ScriptErrorCode.BAD_ARGUMENT,
    });
    await expect(register(ks, 'n', caps(['zh'], ['en'], 0))).rejects.toMatchObject({
      code: ScriptErrorCode.BAD_ARGUMENT,
    });
    expect(await getNode(redis, ks, 'n')).toBeNull();
  });

  it('scripts validate their own arguments (callers other than these wrappers)', async () => {
    const ks = freshKs();
    const c = ks.cellOf('lua-n');
    const nodeKeys = [ks.node('lua-n'), ks.nodeJobs('lua-n'), ks.heartbeats(c)] as const;
    const reg = (max: string, asr: string) =>
      runScript(
        redis,
        SCRIPTS.registerNode,
        [...nodeKeys, ks.cellNodes(c), ks.cellPairs(c), ks.reservationNodes(c), ks.lostNodes(c)],
        ['lua-n', 'gw-1', '', T0, max, 'asr,nmt', asr, 'en', '{}', '', '', 'online'],
      );
    await expect(reg('0', 'zh')).rejects.toMatchObject({ code: ScriptErrorCode.BAD_ARGUMENT });
    await expect(reg('2.5', 'zh')).rejects.toMatchObject({ code: ScriptErrorCode.BAD_ARGUMENT });
    await expect(reg('4', 'zh:x')).rejects.toMatchObject({ code: ScriptErrorCode.BAD_ARGUMENT });
    await expect(reg('4', Array.from({ length: 65 }, (_, i) => `l${i}`).join(','))).rejects.toMatchObject({
      code: ScriptErrorCode.BAD_ARGUMENT,
    });
    expect(await redis.exists(ks.node('lua-n'))).toBe(0);
    await expect(
      runScript(
        redis,
        SCRIPTS.selectNode,
        [
          ks.pool(0, 'zh', 'en'),
          ks.cellPairs(0),
          ks.reservations(0),
          ks.reservationNodes(0),
          ks.ttsAll(0, 'zh', 'en'),
        ],
        ['zh', 'en', 'job|x', 1, '', '', T0, LEASE, '', ''],
      ),
    ).rejects.toMatchObject({ code: ScriptErrorCode.BAD_ARGUMENT });
    await expect(
      runScript(redis, SCRIPTS.reapLeases, [ks.reservations(0), ks.reservationNodes(0)], [T0, 0]),
    ).rejects.toMatchObject({
      code: ScriptErrorCode.BAD_ARGUMENT,
    });
    // A heartbeat with invalid new capabilities changes nothing, not even last_hb.
    await reg('4', 'zh');
    await expect(
      runScript(
        redis,
        SCRIPTS.nodeHeartbeat,
        [ks.node('lua-n'), ks.heartbeats(c), ks.cellPairs(c)],
        ['lua-n', 1, 'gw-1', T0 + 5, 0, '', '', '', '1', '0', 'asr,nmt', 'zh', 'en', '{}', '', '', '', ''],
      ),
    ).rejects.toMatchObject({ code: ScriptErrorCode.BAD_ARGUMENT });
    expect(await redis.hget(ks.node('lua-n'), 'last_hb')).toBe(String(T0));
  });

  it('heartbeat updates liveness, re-assigns pools on new caps, refuses stale epochs', async () => {
    const ks = freshKs();
    const r = await register(ks, 'node-h', caps(['zh'], ['en'], 2));
    const hb = await nodeHeartbeat(redis, ks, {
      nodeId: 'node-h',
      epoch: r.epoch,
      instance: 'gw-1',
      now: T0 + 5000,
      runningJobs: 1,
      cpu: 0.4,
      gpu: 0.7,
      mem: 0.5,
    });
    expect(hb).toEqual({ pools: ['zh:en'], poolsChanged: false });
    expect(await getNode(redis, ks, 'node-h')).toMatchObject({
      lastHeartbeat: T0 + 5000,
      reportedRunning: 1,
      cpu: 0.4,
      gpu: 0.7,
      mem: 0.5,
    });
    expect(await redis.zscore(ks.heartbeats(r.cell), 'node-h')).toBe(String(T0 + 5000));
    // A late re-send of an older heartbeat does not move last_hb back.
    await nodeHeartbeat(redis, ks, {
      nodeId: 'node-h',
      epoch: r.epoch,
      instance: 'gw-1',
      now: T0 + 10,
      runningJobs: 0,
    });
    expect((await getNode(redis, ks, 'node-h'))?.lastHeartbeat).toBe(T0 + 5000);

    // New capabilities: pools re-assigned atomically, max lowered.
    await select(ks, 'job-h');
    const hb2 = await nodeHeartbeat(redis, ks, {
      nodeId: 'node-h',
      epoch: r.epoch,
      instance: 'gw-1',
      now: T0 + 6000,
      runningJobs: 1,
      capabilities: caps(['en'], ['zh', 'ja'], 1),
    });
    expect(hb2).toEqual({ pools: ['en:ja', 'en:zh'], poolsChanged: true });
    expect(await cellPairs(redis, ks, r.cell)).toEqual({ 'en:ja': 1, 'en:zh': 1 });
    expect((await redis.smembers(ks.pairCells('en', 'ja'))).map(Number)).toEqual([r.cell]);
    // running 1 of max 1: full, so not in any available index.
    expect((await poolMembers(redis, ks, { cell: r.cell, src: 'en', tgt: 'zh' })).available).toEqual([]);
    await expect(select(ks, 'job-h2', { src: 'en', tgt: 'zh' })).rejects.toMatchObject({
      code: ScriptErrorCode.NO_AVAILABLE_NODE,
    });
    await releaseSlot(redis, ks, { nodeId: 'node-h', jobId: 'job-h', attempt: 1 });
    expect((await poolMembers(redis, ks, { cell: r.cell, src: 'en', tgt: 'zh' })).available).toEqual([
      { nodeId: 'node-h', load: 0 },
    ]);

    const stale = { nodeId: 'node-h', epoch: r.epoch + 1, instance: 'gw-1', now: T0 + 7000, runningJobs: 0 };
    await expect(nodeHeartbeat(redis, ks, stale)).rejects.toMatchObject({
      code: ScriptErrorCode.NODE_OFFLINE,
    });
    await expect(
      nodeHeartbeat(redis, ks, { ...stale, epoch: r.epoch, instance: 'gw-9' }),
    ).rejects.toMatchObject({
      code: ScriptErrorCode.NODE_OFFLINE,
    });
    await nodeOffline(redis, ks, { nodeId: 'node-h', now: T0 + 8000 });
    await expect(nodeHeartbeat(redis, ks, { ...stale, epoch: r.epoch })).rejects.toMatchObject({
      code: ScriptErrorCode.NODE_OFFLINE,
    });
    await expect(
      nodeHeartbeat(redis, ks, { ...stale, nodeId: 'never-registered', epoch: 1 }),
    ).rejects.toMatchObject({ code: ScriptErrorCode.NODE_OFFLINE });
  });

  it('honours affinity while the node has a free slot; ignores it when full or excluded', async () => {
    const ks = freshKs();
    await register(ks, 'aff', caps(['zh'], ['en'], 2));
    await register(ks, 'other-1', caps(['zh'], ['en'], 2));
    await register(ks, 'other-2', caps(['zh'], ['en'], 2));
    // Load the affinity node's competitors less than it, so only affinity explains the choice.
    expect((await select(ks, 'a1', { affinityNodeId: 'aff' })).nodeId).toBe('aff');
    expect((await select(ks, 'a2', { affinityNodeId: 'aff' })).nodeId).toBe('aff');
    // aff is full now (2/2): the least loaded other node is chosen.
    const third = await select(ks, 'a3', { affinityNodeId: 'aff' });
    expect(['other-1', 'other-2']).toContain(third.nodeId);
    await releaseSlot(redis, ks, { nodeId: 'aff', jobId: 'a1', attempt: 1 });
    expect((await select(ks, 'a4', { affinityNodeId: 'aff' })).nodeId).toBe('aff');
    await releaseSlot(redis, ks, { nodeId: 'aff', jobId: 'a4', attempt: 1 });
    // Excluded affinity (failover) is never chosen even with a free slot.
    const ex = await select(ks, 'a5', { affinityNodeId: 'aff', exclude: ['aff'] });
    expect(ex.nodeId).not.toBe('aff');
    expect(ex.instance).toBe('gw-1');
  });

  it('picks the least-loaded node and skips excluded ones in a bounded window', async () => {
    const ks = freshKs();
    const ids = idsInCell(ks, 1, 4, 'll');
    for (const id of ids) await register(ks, id, caps(['zh'], ['en'], 4));
    // Load: ids[0]=2, ids[1]=1, ids[2]=0, ids[3]=0 -> order ids[2], ids[3], ids[1], ids[0].
    const reserve = async (id: string, job: string) => {
      // affinity makes the placement deterministic for the setup
      expect((await select(ks, job, { affinityNodeId: id })).nodeId).toBe(id);
    };
    await reserve(ids[0]!, 's1');
    await reserve(ids[0]!, 's2');
    await reserve(ids[1]!, 's3');
    const m = await poolMembers(redis, ks, { cell: 1, src: 'zh', tgt: 'en' });
    expect(m.available.map((a) => a.nodeId)).toEqual([...[ids[2]!, ids[3]!].sort(), ids[1], ids[0]]);
    const first = m.available[0]!.nodeId;
    const second = m.available[1]!.nodeId;
    // Affinity to an excluded node of cell 1 routes the call to cell 1 first, where the
    // least-loaded non-excluded node must win.
    const sel = async (job: string, exclude: string[]) =>
      (await select(ks, job, { exclude, affinityNodeId: ids[0] })).nodeId;
    expect(await sel('s4', [ids[0]!])).toBe(first);
    expect(await sel('s5', [ids[0]!, first])).toBe(second);
    // Everyone in the cell excluded -> NO_AVAILABLE_NODE (pool exists, all excluded).
    await expect(select(ks, 's6', { exclude: ids })).rejects.toMatchObject({
      code: ScriptErrorCode.NO_AVAILABLE_NODE,
    });
  });

  it('select is idempotent for the same (jobId, attempt); a new attempt reserves again', async () => {
    const ks = freshKs();
    await register(ks, 'idem-1', caps(['zh'], ['en'], 4));
    await register(ks, 'idem-2', caps(['zh'], ['en'], 4));
    const a = await select(ks, 'job-i');
    const b = await select(ks, 'job-i');
    expect(b).toEqual({ ...a, reused: true });
    expect(a.reused).toBe(false);
    // Re-sends racing each other on different connections still reserve once.
    const racers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => {
        const conn = connectRedis({ url: backend.url, role: 'request', name: `race-${i}` });
        extra.push(conn);
        return selectNode(conn, ks, {
          src: 'zh',
          tgt: 'en',
          jobId: 'job-race',
          attempt: 1,
          now: T0,
          leaseMs: LEASE,
        });
      }),
    );
    expect(new Set(racers.map((x) => x.nodeId)).size).toBe(1);
    expect(racers.filter((x) => !x.reused)).toHaveLength(1);
    await releaseSlot(redis, ks, { nodeId: racers[0]!.nodeId, jobId: 'job-race', attempt: 1 });
    const a2 = await select(ks, 'job-i', { attempt: 2, exclude: [a.nodeId] });
    expect(a2.nodeId).not.toBe(a.nodeId);
    const total =
      (await getNode(redis, ks, 'idem-1'))!.running + (await getNode(redis, ks, 'idem-2'))!.running;
    expect(total).toBe(2);
  });

  it('NO OVER-BOOKING: 2,000 concurrent selects from 8 connections on 50 nodes x 4 slots', async () => {
    const ks = freshKs();
    const nodes = Array.from({ length: 50 }, (_, i) => `ob-${i}`);
    await Promise.all(nodes.map((id) => register(ks, id, caps(['zh', 'en'], ['en', 'zh'], 4))));
    const conns = Array.from({ length: 8 }, (_, i) =>
      connectRedis({ url: backend.url, role: 'request', name: `ob-${i}`, commandTimeoutMs: 30_000 }),
    );
    extra.push(...conns);
    const outcomes = await Promise.all(
      Array.from({ length: 2000 }, async (_, i) => {
        const conn = conns[i % conns.length]!;
        try {
          return await selectNode(conn, ks, {
            src: 'zh',
            tgt: 'en',
            jobId: `ob-job-${i}`,
            attempt: 1,
            now: T0,
            leaseMs: LEASE,
          });
        } catch (err) {
          if (isScriptError(err, ScriptErrorCode.NO_AVAILABLE_NODE)) return 'none' as const;
          throw err;
        }
      }),
    );
    const won = outcomes
      .map((o, i) => [o, i] as const)
      .filter((x): x is [SelectedNode, number] => x[0] !== 'none');
    expect(won).toHaveLength(200);
    expect(outcomes.filter((o) => o === 'none')).toHaveLength(1800);
    const perNode = new Map<string, number>();
    for (const [o] of won) perNode.set(o.nodeId, (perNode.get(o.nodeId) ?? 0) + 1);
    for (const id of nodes) {
      const n = await getNode(redis, ks, id);
      expect(n!.running).toBeLessThanOrEqual(4);
      expect(n!.running).toBe(perNode.get(id) ?? 0);
      expect(n!.running).toBe(await redis.scard(ks.nodeJobs(id)));
    }
    expect(await sumOverCells(ks, (c) => redis.hlen(ks.reservationNodes(c)))).toBe(200);
    expect(await sumOverCells(ks, (c) => redis.zcard(ks.reservations(c)))).toBe(200);
    // Every node full: gone from the available index of both its pools.
    expect(await sumOverCells(ks, (c) => redis.zcard(ks.pool(c, 'zh', 'en')))).toBe(0);
    expect(await sumOverCells(ks, (c) => redis.zcard(ks.pool(c, 'en', 'zh')))).toBe(0);

    const released = await Promise.all(
      won.map(([o, i], k) =>
        releaseSlot(conns[k % conns.length]!, ks, { nodeId: o.nodeId, jobId: `ob-job-${i}`, attempt: 1 }),
      ),
    );
    expect(released.every(Boolean)).toBe(true);
    for (const id of nodes) expect((await getNode(redis, ks, id))!.running).toBe(0);
    for (const [src, tgt] of [
      ['zh', 'en'],
      ['en', 'zh'],
    ] as const) {
      const members = await Promise.all(
        Array.from({ length: ks.cells }, (_, c) => poolMembers(redis, ks, { cell: c, src, tgt })),
      );
      const avail = members.flatMap((m) => m.available);
      expect(avail.map((a) => a.nodeId).sort()).toEqual([...nodes].sort());
      expect(avail.every((a) => a.load === 0)).toBe(true);
    }
    expect(await sumOverCells(ks, (c) => redis.zcard(ks.reservations(c)))).toBe(0);
  });

  it('a reservation lives for its lease (the attempt plus a grace), then reap-leases frees it', async () => {
    const ks = freshKs();
    const r = await register(ks, 'lease-n', caps(['zh'], ['en'], 4));
    const cell = r.cell;
    await select(ks, 'short');
    await select(ks, 'long', { leaseMs: 60_000 });
    expect(await redis.zscore(ks.reservations(cell), 'long|1')).toBe(String(T0 + 60_000));
    expect(await reapLeases(redis, ks, { cell, now: T0 + LEASE - 1, limit: 100 })).toEqual([]);
    expect(await reapLeases(redis, ks, { cell, now: T0 + LEASE + 1, limit: 100 })).toEqual([
      { jobId: 'short', attempt: 1, nodeId: 'lease-n' },
    ]);
    expect(await getNode(redis, ks, 'lease-n')).toMatchObject({ running: 1 });
    expect(await reapLeases(redis, ks, { cell, now: T0 + 59_999, limit: 100 })).toEqual([]);
    expect(await reapLeases(redis, ks, { cell, now: T0 + 60_000, limit: 100 })).toEqual([
      { jobId: 'long', attempt: 1, nodeId: 'lease-n' },
    ]);
    expect(await getNode(redis, ks, 'lease-n')).toMatchObject({ running: 0 });
    expect((await poolMembers(redis, ks, { cell, src: 'zh', tgt: 'en' })).available).toEqual([
      { nodeId: 'lease-n', load: 0 },
    ]);
  });

  it('reap-leases is bounded by its limit', async () => {
    const ks = freshKs();
    const r = await register(ks, 'lim-n', caps(['zh'], ['en'], 10));
    for (let i = 0; i < 7; i++) await select(ks, `lim-${i}`);
    expect(await reapLeases(redis, ks, { cell: r.cell, now: T0 + LEASE, limit: 3 })).toHaveLength(3);
    expect(await reapLeases(redis, ks, { cell: r.cell, now: T0 + LEASE, limit: 3 })).toHaveLength(3);
    expect(await reapLeases(redis, ks, { cell: r.cell, now: T0 + LEASE, limit: 3 })).toHaveLength(1);
    expect(await getNode(redis, ks, 'lim-n')).toMatchObject({ running: 0 });
  });

  it('release is idempotent and refuses the wrong node', async () => {
    const ks = freshKs();
    const ids = idsInCell(ks, 2, 2, 'rel');
    for (const id of ids) await register(ks, id, caps(['zh'], ['en'], 4));
    const s = await select(ks, 'job-r', { affinityNodeId: ids[0] });
    const wrong = ids[1]!;
    await expect(releaseSlot(redis, ks, { nodeId: wrong, jobId: 'job-r', attempt: 1 })).rejects.toMatchObject(
      {
        code: ScriptErrorCode.NODE_MISMATCH,
      },
    );
    expect(await releaseSlot(redis, ks, { nodeId: s.nodeId, jobId: 'job-r', attempt: 1 })).toBe(true);
    expect(await releaseSlot(redis, ks, { nodeId: s.nodeId, jobId: 'job-r', attempt: 1 })).toBe(false);
    expect(await getNode(redis, ks, s.nodeId)).toMatchObject({ running: 0 });
  });

  it('offline: leaves every pool, returns its reservations, never selected until it re-registers', async () => {
    const ks = freshKs();
    const r = await register(ks, 'off-n', caps(['zh', 'en'], ['en', 'zh'], 4));
    await select(ks, 'off-1');
    await select(ks, 'off-2', { attempt: 3 });
    // An old socket (previous epoch) closing must not take the current registration down.
    await expect(
      nodeOffline(redis, ks, { nodeId: 'off-n', epoch: r.epoch - 1, now: T0 }),
    ).rejects.toMatchObject({
      code: ScriptErrorCode.NODE_MISMATCH,
    });
    const held = await nodeOffline(redis, ks, { nodeId: 'off-n', epoch: r.epoch, now: T0 + 1 });
    expect(held).toEqual([
      { jobId: 'off-1', attempt: 1 },
      { jobId: 'off-2', attempt: 3 },
    ]);
    // The reservations stay until each job's follow-up releases it: a re-sent call (the caller
    // lost the answer) gets them again, and the node is listed as lost meanwhile.
    expect(await nodeOffline(redis, ks, { nodeId: 'off-n', epoch: r.epoch, now: T0 + 2 })).toEqual(held);
    expect(await redis.zscore(ks.lostNodes(r.cell), 'off-n')).toBe(String(T0 + 1));
    expect(await nodeOffline(redis, ks, { nodeId: 'unknown', now: T0 })).toEqual([]);
    expect(await getNode(redis, ks, 'off-n')).toMatchObject({ state: 'offline' });
    expect(await cellPairs(redis, ks, r.cell)).toEqual({});
    for (const [src, tgt] of [
      ['zh', 'en'],
      ['en', 'zh'],
    ] as const) {
      expect(await poolMembers(redis, ks, { cell: r.cell, src, tgt })).toEqual({ available: [], all: [] });
    }
    expect(await redis.zscore(ks.heartbeats(r.cell), 'off-n')).toBeNull();
    await expect(select(ks, 'off-3', { affinityNodeId: 'off-n' })).rejects.toMatchObject({
      code: ScriptErrorCode.NO_POOL_FOR_LANG_PAIR,
    });
    // The follow-up of one job ran; the other's did not (its caller died).
    expect(await releaseSlot(redis, ks, { nodeId: 'off-n', jobId: 'off-1', attempt: 1 })).toBe(true);
    expect(await releaseSlot(redis, ks, { nodeId: 'off-n', jobId: 'off-1', attempt: 1 })).toBe(false);

    // Coming back: whatever an offline node still held is lost (its failover was decided).
    const r2 = await registerNode(redis, ks, {
      nodeId: 'off-n',
      instance: 'gw-1',
      capabilities: caps(['zh'], ['en'], 4),
      now: T0 + 10,
      jobIds: ['off-2'],
    });
    expect(r2.epoch).toBe(r.epoch + 1);
    expect(r2.previous).toBeNull();
    expect(r2.lost).toEqual([{ jobId: 'off-2', attempt: 3 }]);
    expect(await redis.zscore(ks.lostNodes(r.cell), 'off-n')).toBeNull();
    expect((await select(ks, 'off-4')).nodeId).toBe('off-n');
    expect(await getNode(redis, ks, 'off-n')).toMatchObject({ state: 'online', running: 2 });
  });

  it('reconciles on register: listed jobs are kept, the rest are lost; no list = unconfirmed', async () => {
    const ks = freshKs();
    const r1 = await register(ks, 'rec-n', caps(['zh'], ['en'], 8));
    for (const j of ['a', 'b', 'c']) await select(ks, `rec-${j}`);
    const again = (jobIds: string[] | undefined, registrationId: string) =>
      registerNode(redis, ks, {
        nodeId: 'rec-n',
        instance: 'gw-2',
        capabilities: caps(['zh'], ['en'], 8),
        now: T0 + 1,
        registrationId,
        jobIds,
      });
    const r2 = await again(['rec-b', 'unknown-job'], 'conn-2');
    expect(r2.previous).toEqual({ instance: 'gw-1', epoch: r1.epoch });
    expect(r2.lost).toEqual([
      { jobId: 'rec-a', attempt: 1 },
      { jobId: 'rec-c', attempt: 1 },
    ]);
    expect(r2.unconfirmed).toEqual([]);
    // A re-send answers the same (nothing was released in between).
    expect((await again(['rec-b', 'unknown-job'], 'conn-2')).lost).toEqual(r2.lost);
    // The follow-up releases what was lost; a node without a list leaves all unconfirmed.
    for (const j of ['rec-a', 'rec-c'])
      await releaseSlot(redis, ks, { nodeId: 'rec-n', jobId: j, attempt: 1 });
    const r3 = await again(undefined, 'conn-3');
    expect(r3.lost).toEqual([]);
    expect(r3.unconfirmed).toEqual([{ jobId: 'rec-b', attempt: 1 }]);
    await expect(
      again(
        Array.from({ length: 4097 }, (_, i) => `j${i}`),
        'conn-4',
      ),
    ).rejects.toMatchObject({
      code: ScriptErrorCode.BAD_ARGUMENT,
    });
  });

  it('reaps nodes whose heartbeat is stale, with their reservations, within the limit', async () => {
    const ks = freshKs();
    const ids = idsInCell(ks, 3, 4, 'stale');
    for (const id of ids) await register(ks, id, caps(['zh'], ['en'], 4), T0);
    const fresh = ids[3]!;
    const e = (await getNode(redis, ks, fresh))!.epoch;
    await nodeHeartbeat(redis, ks, {
      nodeId: fresh,
      epoch: e,
      instance: 'gw-1',
      now: T0 + 9000,
      runningJobs: 0,
    });
    const s = await select(ks, 'stale-job', { affinityNodeId: ids[0] });
    expect(s.nodeId).toBe(ids[0]);

    const first = await reapStaleNodes(redis, ks, { cell: 3, now: T0 + 10_000, timeoutMs: 5000, limit: 2 });
    const second = await reapStaleNodes(redis, ks, { cell: 3, now: T0 + 10_000, timeoutMs: 5000, limit: 2 });
    expect(first).toHaveLength(2);
    expect(second).toHaveLength(1);
    const reaped = [...first, ...second].sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    expect(reaped.map((x) => x.nodeId)).toEqual(ids.slice(0, 3).sort());
    expect(reaped.find((x) => x.nodeId === ids[0])!.reservations).toEqual([
      { jobId: 'stale-job', attempt: 1 },
    ]);
    expect(reaped.every((x) => x.kind === 'stale')).toBe(true);
    expect(await reapStaleNodes(redis, ks, { cell: 3, now: T0 + 10_000, timeoutMs: 5000, limit: 2 })).toEqual(
      [],
    );
    // Whoever reaped it died before failing stale-job over: a later sweep hands it out again,
    // once per grace period, until the follow-up released it.
    const sweep = (now: number) =>
      reapStaleNodes(redis, ks, { cell: 3, now, timeoutMs: 5000, limit: 2, graceMs: 1000 });
    expect(await sweep(T0 + 10_999)).toEqual([]);
    expect(await sweep(T0 + 11_000)).toEqual([
      { nodeId: ids[0], reservations: [{ jobId: 'stale-job', attempt: 1 }], kind: 'lost' },
    ]);
    expect(await sweep(T0 + 11_500)).toEqual([]);
    await releaseSlot(redis, ks, { nodeId: ids[0]!, jobId: 'stale-job', attempt: 1 });
    expect(await sweep(T0 + 13_000)).toEqual([]);
    expect(await redis.zcard(ks.lostNodes(3))).toBe(0);
    expect((await getNode(redis, ks, fresh))!.state).toBe('online');
    expect(await poolMembers(redis, ks, { cell: 3, src: 'zh', tgt: 'en' })).toEqual({
      available: [{ nodeId: fresh, load: 0 }],
      all: [fresh],
    });
  });

  it('draining: keeps running jobs, leaves the available index, release does not put it back', async () => {
    const ks = freshKs();
    const r = await register(ks, 'drain-n', caps(['zh'], ['en'], 4));
    await select(ks, 'd1');
    expect(await setDraining(redis, ks, { nodeId: 'drain-n', epoch: r.epoch })).toBe(true);
    expect(await setDraining(redis, ks, { nodeId: 'drain-n' })).toBe(false);
    expect(await poolMembers(redis, ks, { cell: r.cell, src: 'zh', tgt: 'en' })).toEqual({
      available: [],
      all: ['drain-n'],
    });
    await expect(select(ks, 'd2')).rejects.toMatchObject({ code: ScriptErrorCode.NO_AVAILABLE_NODE });
    expect(await releaseSlot(redis, ks, { nodeId: 'drain-n', jobId: 'd1', attempt: 1 })).toBe(true);
    expect((await poolMembers(redis, ks, { cell: r.cell, src: 'zh', tgt: 'en' })).available).toEqual([]);
    await expect(setDraining(redis, ks, { nodeId: 'drain-n', epoch: r.epoch + 5 })).rejects.toMatchObject({
      code: ScriptErrorCode.NODE_MISMATCH,
    });
    // Heartbeats still count while draining; resume puts it back.
    await nodeHeartbeat(redis, ks, {
      nodeId: 'drain-n',
      epoch: r.epoch,
      instance: 'gw-1',
      now: T0 + 1,
      runningJobs: 0,
    });
    expect(await setDraining(redis, ks, { nodeId: 'drain-n', draining: false })).toBe(true);
    expect((await select(ks, 'd3')).nodeId).toBe('drain-n');
    await nodeOffline(redis, ks, { nodeId: 'drain-n', now: T0 + 2 });
    await expect(setDraining(redis, ks, { nodeId: 'drain-n' })).rejects.toMatchObject({
      code: ScriptErrorCode.NODE_OFFLINE,
    });
  });

  it('selection spans cells: NO_AVAILABLE_NODE only when every cell serving the pair is full', async () => {
    const ks = freshKs();
    const a = idsInCell(ks, 0, 1, 'span')[0]!;
    const b = idsInCell(ks, ks.cells - 1, 1, 'span')[0]!;
    await register(ks, a, caps(['zh'], ['en'], 1));
    await register(ks, b, caps(['zh'], ['en'], 1));
    const got = [(await select(ks, 'x1')).nodeId, (await select(ks, 'x2')).nodeId].sort();
    expect(got).toEqual([a, b].sort());
    await expect(select(ks, 'x3')).rejects.toMatchObject({ code: ScriptErrorCode.NO_AVAILABLE_NODE });
    await expect(select(ks, 'x4', { src: 'fr', tgt: 'de' })).rejects.toMatchObject({
      code: ScriptErrorCode.NO_POOL_FOR_LANG_PAIR,
    });
  });

  it('cluster layout: cell and shard keys share a slot; cells spread over masters', async () => {
    const ks = freshKs();
    if (kind !== 'cluster') {
      // Single Redis: the same hash-slot rule, computed the way ioredis routes on a cluster.
      const { default: slot } = (await import('cluster-key-slot' as string)) as {
        default: (k: string) => number;
      };
      const node = idsInCell(ks, 1, 1, 'slot')[0]!;
      const keys = [ks.cell(1), ks.pool(1, 'zh', 'en'), ks.heartbeats(1), ks.node(node), ks.nodeJobs(node)];
      expect(new Set(keys.map(slot)).size).toBe(1);
      const sid = 'session-xyz';
      expect(new Set([ks.session(sid), ks.results(sid), ks.deadlines(ks.shardOf(sid))].map(slot)).size).toBe(
        1,
      );
      return;
    }
    const cluster = redis as import('ioredis').Cluster;
    const master = cluster.nodes('master')[0]!;
    const slotOf = async (key: string) => Number(await master.call('CLUSTER', 'KEYSLOT', key));
    const cellKeys = [
      ks.cell(5),
      ks.pool(5, 'zh', 'en'),
      ks.poolAll(5, 'en', 'ja'),
      ks.cellPairs(5),
      ks.heartbeats(5),
      ks.reservations(5),
      ks.reservationNodes(5),
      ks.cellNodes(5),
    ];
    const nodeInCell5 = idsInCell(ks, 5, 1, 'slot')[0]!;
    cellKeys.push(ks.node(nodeInCell5), ks.nodeJobs(nodeInCell5));
    const cellSlots = new Set(await Promise.all(cellKeys.map(slotOf)));
    expect(cellSlots.size).toBe(1);
    const sid = 'session-xyz';
    const shardSlots = new Set(
      await Promise.all(
        [ks.session(sid), ks.results(sid), ks.deadlines(ks.shardOf(sid)), ks.events(ks.shardOf(sid))].map(
          slotOf,
        ),
      ),
    );
    expect(shardSlots.size).toBe(1);

    // Map slots to masters and count distinct masters over the 16 cells.
    const ranges = (await master.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
    const masterOf = (slot: number) => {
      const r = ranges.find(([lo, hi]) => slot >= lo && slot <= hi);
      return r ? `${r[2][0]}:${r[2][1]}` : 'none';
    };
    const cellMasters = await Promise.all(
      Array.from({ length: 16 }, async (_, c) => masterOf(await slotOf(ks.cell(c)))),
    );
    expect(cellMasters).not.toContain('none');
    expect(new Set(cellMasters).size).toBeGreaterThanOrEqual(2);
  });
});
