/**
 * The fused hot-path scripts of a single Redis (issue 14), against a real redis-server:
 * select-create-10 (select-node + job-create) and complete-release-10 (job-complete +
 * release-slot) leave exactly the state their two parts leave, are idempotent under re-send,
 * and never strand a reservation (a refused create reserves nothing; a stale completion still
 * frees the slot).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis } from '../../../test/support/redis';
import { isScriptError, ScriptErrorCode } from '../src/errors';
import type { CreateJobInit, JobStore, StoredResult } from '../src/index';
import { Keyspace } from '../src/keys';
import { getNode, type NodeCapabilities, registerNode } from '../src/node-registry';
import { connectRedis, type RedisClient, sameServer } from '../src/redis';
import { releaseSlotKeys, type SelectNodeParams, selectNodeCall } from '../src/select-node';
import { openTestSession, testJob, testJobStore } from './support';

const T0 = 1_732_000_000_000;
const caps: NodeCapabilities = {
  services: ['asr', 'nmt'],
  asrLangs: ['zh'],
  ttsLangs: ['en'],
  maxConcurrentJobs: 2,
};

let server: Awaited<ReturnType<typeof startRedis>>;
let redis: RedisClient;
let seq = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = connectRedis({ url: server.url, role: 'worker', name: 'test-fused' });
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

function rig() {
  const ks = new Keyspace({ prefix: `fused${++seq}:`, cells: 1, shards: 2 });
  const store = testJobStore(redis, ks);
  return { ks, store };
}

const openSession = (store: JobStore, sid: string, conn = 'c1') => openTestSession(store, sid, T0, conn);

const job = (
  sid: string,
  index: number,
  conn = 'c1',
): Omit<CreateJobInit, 'node'> & { attemptDeadline: number } => ({
  ...testJob(sid, index, T0),
  conn,
  attemptDeadline: T0 + 10_000,
});

const selection = (ks: Keyspace, jobId: string, p: Partial<SelectNodeParams> = {}) =>
  selectNodeCall(ks, 0, { src: 'zh', tgt: 'en', jobId, attempt: 1, now: T0, leaseMs: 20_000, ...p });

const result = (jobId: string): StoredResult => ({
  job_id: jobId,
  utterance_index: 0,
  src_lang: 'zh',
  tgt_lang: 'en',
  text_asr: 'a',
  text_translated: 'b',
  node_id: 'n1',
  timings: { queue_ms: 1, node_ms: 1, total_ms: 2 },
});

const running = async (ks: Keyspace, nodeId: string) => (await getNode(redis, ks, nodeId))?.running;

describe('fused scripts (single Redis)', () => {
  it('a standalone connection is one server; select-create reserves and dispatches in one step', async () => {
    expect(sameServer(redis)).toBe(true);
    const { ks, store } = rig();
    await registerNode(redis, ks, { nodeId: 'n1', instance: 'gw-2', capabilities: caps, now: T0 });
    await openSession(store, 's1');
    const j = job('s1', 0);
    const r = await store.selectAndCreate(j, selection(ks, j.jobId));
    expect(r).toMatchObject({
      status: 'created',
      state: 'dispatched',
      attempt: 1,
      node: 'n1',
      instance: 'gw-2',
      selection: 0,
    });
    expect(await running(ks, 'n1')).toBe(1);
    expect(await redis.hget(ks.reservationNodes(0), `${j.jobId}|1`)).toBe('n1');
    // Re-sent (the answer was lost): nothing new is reserved; the answer names the node to redo
    // the follow-up (send the assignment).
    const again = await store.selectAndCreate(j, selection(ks, j.jobId));
    expect(again).toMatchObject({
      status: 'exists',
      state: 'dispatched',
      attempt: 1,
      node: 'n1',
      instance: 'gw-2',
    });
    expect(await running(ks, 'n1')).toBe(1);
  });

  it('no node: the job is created waiting, and the selection says why (no pool / none free)', async () => {
    const { ks, store } = rig();
    await openSession(store, 's2');
    const a = job('s2', 0);
    expect(await store.selectAndCreate(a, selection(ks, a.jobId))).toMatchObject({
      status: 'created',
      state: 'created',
      node: '',
      selection: ScriptErrorCode.NO_POOL_FOR_LANG_PAIR,
    });
    await registerNode(redis, ks, {
      nodeId: 'n1',
      instance: 'gw-2',
      capabilities: { ...caps, maxConcurrentJobs: 1 },
      now: T0,
    });
    const b = job('s2', 1);
    expect((await store.selectAndCreate(b, selection(ks, b.jobId))).node).toBe('n1');
    const c = job('s2', 2);
    expect(await store.selectAndCreate(c, selection(ks, c.jobId))).toMatchObject({
      status: 'created',
      state: 'created',
      selection: ScriptErrorCode.NO_AVAILABLE_NODE,
    });
    expect(await redis.zscore(ks.deadlines(ks.shardOf('s2')), c.jobId)).not.toBeNull(); // the waiting check
  });

  it('a refused create (no session, or another owner) reserves nothing', async () => {
    const { ks, store } = rig();
    await registerNode(redis, ks, { nodeId: 'n1', instance: 'gw-2', capabilities: caps, now: T0 });
    const gone = job('nobody', 0);
    await expect(store.selectAndCreate(gone, selection(ks, gone.jobId))).rejects.toSatisfy((e) =>
      isScriptError(e, ScriptErrorCode.NOT_FOUND),
    );
    await openSession(store, 's3', 'c-new');
    const moved = job('s3', 0, 'c-old');
    await expect(store.selectAndCreate(moved, selection(ks, moved.jobId))).rejects.toSatisfy((e) =>
      isScriptError(e, ScriptErrorCode.SESSION_MOVED),
    );
    expect(await running(ks, 'n1')).toBe(0);
    expect(await redis.hlen(ks.reservationNodes(0))).toBe(0);
  });

  it('complete-release completes and frees the slot once; a re-send answers dup and frees nothing more', async () => {
    const { ks, store } = rig();
    await registerNode(redis, ks, { nodeId: 'n1', instance: 'gw-2', capabilities: caps, now: T0 });
    await openSession(store, 's4');
    const a = job('s4', 0);
    const b = job('s4', 1);
    await store.selectAndCreate(a, selection(ks, a.jobId));
    await store.selectAndCreate(b, selection(ks, b.jobId));
    expect(await running(ks, 'n1')).toBe(2);
    const keys = releaseSlotKeys(ks, 'n1');
    const done = await store.complete(a.jobId, 1, 'n1', result(a.jobId), T0 + 5, keys);
    expect(done).toMatchObject({ status: 'ok', owner: 'gw-1', sessionId: 's4', index: 0 });
    expect(await running(ks, 'n1')).toBe(1);
    const dup = await store.complete(a.jobId, 1, 'n1', result(a.jobId), T0 + 6, keys);
    expect(dup.status).toBe('dup');
    expect(dup.logged?.text_translated).toBe('b');
    expect(await running(ks, 'n1')).toBe(1);
    // A stale answer (wrong attempt) is refused, and the reservation named is freed anyway:
    // the node's slot for (job, attempt 1) is garbage whatever the job's state.
    await expect(store.complete(b.jobId, 2, 'n1', result(b.jobId), T0 + 7, keys)).rejects.toSatisfy((e) =>
      isScriptError(e, ScriptErrorCode.STALE_ATTEMPT),
    );
    expect(await running(ks, 'n1')).toBe(1); // attempt 2 held nothing
    await expect(
      store.complete(b.jobId, 1, 'n9', result(b.jobId), T0 + 7, releaseSlotKeys(ks, 'n9')),
    ).rejects.toSatisfy((e) => isScriptError(e, ScriptErrorCode.NODE_MISMATCH));
    expect(await running(ks, 'n1')).toBe(1); // another node's reservation is left alone
    expect((await store.complete(b.jobId, 1, 'n1', result(b.jobId), T0 + 8, keys)).status).toBe('ok');
    expect(await running(ks, 'n1')).toBe(0);
    expect(await redis.hlen(ks.reservationNodes(0))).toBe(0);
  });
});
