import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../../../test/support/redis';
import {
  canTransition,
  connectRedis,
  decode,
  type Envelope,
  entryEnvelopes,
  fsmLuaSource,
  INBOX_BATCH_META,
  InboxBus,
  isScriptError,
  JOB_STATES,
  type JobStore,
  jobIdFor,
  Keyspace,
  parseJobEvent,
  RESUME_TOKEN_GRACE_MS,
  type RedisClient,
  ScriptErrorCode,
  type StoredResult,
} from '../src/index';
import { openTestSession, testJob, testJobStore } from './support';

let server: RedisServer;
let redis: RedisClient;
const ks = new Keyspace({ prefix: 'lingua:t:', cells: 2, shards: 4 });
let store: JobStore;
const NOW = 1_000_000;

beforeAll(async () => {
  server = await startRedis();
  redis = connectRedis({ url: server.url, role: 'worker' });
  store = testJobStore(redis, ks);
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

/** The events of one job in its shard's stream, as [from, to, since]. */
async function eventsOf(jobId: string): Promise<[string, string, number][]> {
  const entries = await redis.xrange(ks.events(ks.shardOf(jobId.slice(0, jobId.lastIndexOf('.')))), '-', '+');
  return entries
    .map(([, fields]) => parseJobEvent(fields))
    .filter((e) => e.job === jobId)
    .map((e) => [e.from, e.to, e.since]);
}

const openSession = (sid: string) => openTestSession(store, sid, NOW);

function job(sid: string, index: number, node?: string) {
  return {
    ...testJob(sid, index, NOW),
    audio: new Uint8Array([1, 2, 3, 4]),
    lastChunkSeq: index * 2 + 1,
    node: node ? { nodeId: node, instance: 'gw-2', deadline: NOW + 10_000 } : undefined,
  };
}

const result = (sid: string, index: number): StoredResult => ({
  job_id: jobIdFor(sid, index),
  utterance_index: index,
  src_lang: 'zh',
  tgt_lang: 'en',
  text_asr: 'zh:abc',
  text_translated: 'en:abc',
  node_id: 'n1',
  timings: { queue_ms: 1, node_ms: 2, total_ms: 3 },
});

describe('job scripts', () => {
  it("the scripts' fsmAllows is the FSM table", async () => {
    const lua = `${fsmLuaSource()}return fsmAllows(ARGV[1], ARGV[2]) and 1 or 0`;
    for (const from of JOB_STATES) {
      for (const to of JOB_STATES) {
        expect(await redis.eval(lua, 0, from, to), `${from} -> ${to}`).toBe(canTransition(from, to) ? 1 : 0);
      }
    }
    expect(await redis.eval(lua, 0, 'created>dispatched|x', 'y')).toBe(0);
  });

  it('creates idempotently, dispatches, completes once, logs the result', async () => {
    await openSession('s1');
    const a = await store.createJob(job('s1', 0, 'n1'));
    expect(a).toEqual({ status: 'created', state: 'dispatched', attempt: 1, node: 'n1' });
    // A re-sent create answers with what the caller needs to send the assignment again.
    expect(await store.createJob(job('s1', 0, 'n1'))).toEqual({
      status: 'exists',
      state: 'dispatched',
      attempt: 1,
      node: 'n1',
    });
    const sess = await store.getSession('s1');
    expect(sess?.next_index).toBe('1');
    expect(sess?.last_accepted_seq).toBe('1');
    expect(await store.progress(jobIdFor('s1', 0), 1, 'n1', 'accepted', NOW + 1)).toBe(true);
    expect(await store.progress(jobIdFor('s1', 0), 1, 'n1', 'accepted', NOW + 1)).toBe(false);
    const wrong = await store.complete(jobIdFor('s1', 0), 1, 'n9', result('s1', 0), NOW + 2).catch((e) => e);
    expect(isScriptError(wrong, ScriptErrorCode.NODE_MISMATCH)).toBe(true);
    const stale = await store.complete(jobIdFor('s1', 0), 2, 'n1', result('s1', 0), NOW + 2).catch((e) => e);
    expect(isScriptError(stale, ScriptErrorCode.STALE_ATTEMPT)).toBe(true);
    const done = await store.complete(jobIdFor('s1', 0), 1, 'n1', result('s1', 0), NOW + 2);
    expect(done).toMatchObject({ status: 'ok', owner: 'gw-1', conn: 'c1', index: 0, sessionId: 's1' });
    // A re-sent completion: 'dup' with the logged result, so the caller delivers it again.
    const dup = await store.complete(jobIdFor('s1', 0), 1, 'n1', result('s1', 0), NOW + 3);
    expect(dup).toMatchObject({ status: 'dup', owner: 'gw-1', index: 0, logged: result('s1', 0) });
    const log = await store.readResults('s1', -1);
    expect(log).toHaveLength(1);
    // Stored once: in the result log; the job keeps only the kind and the entry id.
    const raw = await redis.hgetall(ks.job(jobIdFor('s1', 0)));
    expect(raw.outcome).toBe('r');
    expect(raw.oid).toMatch(/^\d+-\d+$/);
    expect(Object.keys(raw)).not.toContain('oblob');
    expect(await store.outcomeOf('s1', 0)).toMatchObject({ kind: 'result', result: { text_asr: 'zh:abc' } });
    expect(await store.outcomeOf('s1', 1)).toBeNull();
    expect(log[0]).toMatchObject({ index: 0, kind: 'result', result: { text_asr: 'zh:abc' } });
    expect((await store.getSession('s1'))?.last_node).toBe('n1');
    // A healthy job records one event, its outcome, carrying its creation time (the dashboard's
    // latency); its steps (created, dispatched, accepted) cost no XADD.
    expect(await eventsOf(jobIdFor('s1', 0))).toEqual([['accepted', 'completed', NOW]]);
  });

  it('refuses a create from a connection that no longer owns the session', async () => {
    await openSession('s2');
    const err = await store.createJob({ ...job('s2', 0), conn: 'other' }).catch((e) => e);
    expect(isScriptError(err, ScriptErrorCode.SESSION_MOVED)).toBe(true);
  });

  it('retries failed attempts then fails terminally with one missing marker', async () => {
    await openSession('s3');
    const id = jobIdFor('s3', 0);
    await store.createJob(job('s3', 0, 'n1'));
    const r1 = await store.fail(id, 1, 'n1', 'timed_out', NOW + 10);
    expect(r1).toEqual({ kind: 'retry', attempt: 1, tried: ['n1'], overallDeadline: NOW + 60_000 });
    // a late result of attempt 1 is refused
    const late = await store.complete(id, 1, 'n1', result('s3', 0), NOW + 11).catch((e) => e);
    expect(isScriptError(late, ScriptErrorCode.ILLEGAL_TRANSITION)).toBe(true);
    expect(await store.dispatch(id, 1, 'n2', 'gw-2', NOW + 12, NOW + 20_000, 'call-1')).toEqual({
      status: 'dispatched',
      attempt: 2,
      node: 'n2',
    });
    // The same call re-sent: 'already' (send the assignment again); a rival call that chose the
    // same node: 'concurrent' (the first sends it); another node: 'taken' (release its slot).
    expect((await store.dispatch(id, 1, 'n2', 'gw-2', NOW + 12, NOW + 20_000, 'call-1')).status).toBe(
      'already',
    );
    expect((await store.dispatch(id, 1, 'n2', 'gw-2', NOW + 12, NOW + 20_000, 'call-2')).status).toBe(
      'concurrent',
    );
    expect(await store.dispatch(id, 1, 'n9', 'gw-2', NOW + 12, NOW + 20_000)).toEqual({
      status: 'taken',
      attempt: 2,
      node: 'n2',
    });
    const r2 = await store.fail(id, 2, 'n2', 'node_lost', NOW + 13);
    expect(r2.kind).toBe('retry');
    await store.dispatch(id, 2, 'n3', 'gw-2', NOW + 14, NOW + 20_000);
    const r3 = await store.fail(id, 3, 'n3', 'failed', NOW + 15);
    expect(r3).toMatchObject({ kind: 'failed', reason: 'failed', appended: true, index: 0 });
    const log = await store.readResults('s3', -1);
    expect(log).toEqual([{ index: 0, kind: 'missing', reason: 'failed', jobId: id }]);
    // A re-sent report answers as the first did, so the missing is delivered again.
    expect(await store.fail(id, 3, 'n3', 'failed', NOW + 16)).toMatchObject({
      kind: 'failed',
      reason: 'failed',
      appended: true,
    });
    expect(await store.readResults('s3', -1)).toHaveLength(1);
    // The failover path is recorded: each attempt failure with its dispatch time, the retries,
    // the re-dispatches, and the outcome.
    expect(await eventsOf(id)).toEqual([
      ['dispatched', 'timed_out', NOW],
      ['timed_out', 'retrying', 0],
      ['retrying', 'dispatched', 0],
      ['dispatched', 'node_lost', NOW + 12],
      ['node_lost', 'retrying', 0],
      ['retrying', 'dispatched', 0],
      ['dispatched', 'failed', NOW + 14],
    ]);
  });

  it('a second failure report for the same attempt does not end a retrying job', async () => {
    await openSession('s7');
    const id = jobIdFor('s7', 0);
    await store.createJob(job('s7', 0, 'n1'));
    expect((await store.fail(id, 1, 'n1', 'node_lost', NOW + 1)).kind).toBe('retry');
    // e.g. the socket-close path and a re-routed assignment both report the lost node, or
    // ioredis re-sent the script: the same answer, so the failover is enqueued (idempotent).
    expect(await store.fail(id, 1, 'n1', 'node_lost', NOW + 2)).toMatchObject({ kind: 'retry', attempt: 1 });
    expect((await store.getJob(id))?.state).toBe('retrying');
    // A retrying job is due for a check soon, not at its overall deadline.
    const score = Number(await redis.zscore(ks.deadlines(ks.shardOf('s7')), id));
    expect(score).toBe(NOW + 1 + 1000);
    expect(await store.readResults('s7', -1)).toEqual([]);
  });

  it('declared-missing wins over a later result, and vice versa', async () => {
    await openSession('s4');
    await store.createJob(job('s4', 0, 'n1'));
    await store.createJob(job('s4', 1, 'n1'));
    const d = await store.declareMissing('s4', 0, 'timeout', NOW + 5);
    expect(d).toMatchObject({ index: 0, kind: 'missing', reason: 'timeout' });
    expect((await store.complete(jobIdFor('s4', 0), 1, 'n1', result('s4', 0), NOW + 6)).status).toBe('late');
    await store.complete(jobIdFor('s4', 1), 1, 'n1', result('s4', 1), NOW + 6);
    const d1 = await store.declareMissing('s4', 1, 'timeout', NOW + 7);
    expect(d1).toMatchObject({ index: 1, kind: 'result' });
    // a never-created index gets a stub
    expect(await store.declareMissing('s4', 5, 'failed', NOW + 8)).toMatchObject({ kind: 'missing' });
    const log = await store.readResults('s4', -1);
    expect(log.map((o) => `${o.index}:${o.kind}`)).toEqual(['0:missing', '1:result', '5:missing']);
  });

  it('claims due jobs once and leases the claim', async () => {
    await openSession('s5');
    await store.createJob(job('s5', 0, 'n1'));
    const shard = ks.shardOf('s5');
    const mine = (d: { jobId: string }) => d.jobId === jobIdFor('s5', 0);
    // The node has not confirmed it after the assignment check: a 'check' (re-send), once.
    expect((await store.claimDue(shard, NOW + 999, 10, 1000)).filter(mine)).toEqual([]);
    const check = { jobId: jobIdFor('s5', 0), state: 'dispatched', attempt: 1, node: 'n1', kind: 'check' };
    expect((await store.claimDue(shard, NOW + 1000, 10, 1000)).filter(mine)).toEqual([check]);
    // Once more a claim lease later (its first claimer may have died before re-sending), then
    // not before the attempt deadline.
    expect((await store.claimDue(shard, NOW + 1999, 10, 1000)).filter(mine)).toEqual([]);
    expect((await store.claimDue(shard, NOW + 2000, 10, 1000)).filter(mine)).toEqual([check]);
    expect((await store.claimDue(shard, NOW + 5_000, 10, 1000)).filter(mine)).toEqual([]);
    const due = await store.claimDue(shard, NOW + 10_000, 10, 1000);
    expect(due).toContainEqual({
      jobId: jobIdFor('s5', 0),
      state: 'dispatched',
      attempt: 1,
      node: 'n1',
      kind: 'timeout',
    });
    const twice = await store.claimDue(shard, NOW + 10_000, 10, 1000);
    expect(twice.find((d) => d.jobId === jobIdFor('s5', 0))).toBeUndefined();
    const reclaimed = await store.claimDue(shard, NOW + 11_001, 10, 1000);
    expect(reclaimed.find((d) => d.jobId === jobIdFor('s5', 0))).toBeDefined();
  });

  it("the node's job_accepted moves the assignment check on to the attempt deadline", async () => {
    await openSession('s8');
    const id = jobIdFor('s8', 0);
    await store.createJob(job('s8', 0, 'n1'));
    const dkey = ks.deadlines(ks.shardOf('s8'));
    expect(Number(await redis.zscore(dkey, id))).toBe(NOW + 1000);
    await store.progress(id, 1, 'n1', 'accepted', NOW + 5);
    expect(Number(await redis.zscore(dkey, id))).toBe(NOW + 10_000);
    // A job waiting for a node is checked soon too, not at its overall deadline.
    await store.createJob(job('s8', 1));
    expect(Number(await redis.zscore(dkey, jobIdFor('s8', 1)))).toBe(NOW + 1000);
  });

  it('resume checks the token and re-binds the owner', async () => {
    await openSession('s6');
    const rot = { newToken: 'tok2' };
    const bad = await store.resumeSession('s6', 'nope', 'gw-3', 'c9', NOW, rot).catch((e) => e);
    expect(isScriptError(bad, ScriptErrorCode.RESUME_REJECTED)).toBe(true);
    const missing = await store.resumeSession('nope', 'tok', 'gw-3', 'c9', NOW, rot).catch((e) => e);
    expect(isScriptError(missing, ScriptErrorCode.NOT_FOUND)).toBe(true);
    const r = await store.resumeSession('s6', 'tok', 'gw-3', 'c9', NOW, rot);
    expect(r).toMatchObject({
      oldOwner: 'gw-1',
      oldConn: 'c1',
      nextIndex: 0,
      lastAcceptedSeq: -1,
      src: 'zh',
    });
    // A re-send of the same resume (same new token, same connection) answers the same.
    expect(await store.resumeSession('s6', 'tok', 'gw-3', 'c9', NOW, rot)).toEqual(r);
    expect(await store.detachSession('s6', 'c1', 'detach', NOW)).toBe(false);
    expect(await store.detachSession('s6', 'c9', 'detach', NOW)).toBe(true);
    expect((await store.getSession('s6'))?.owner).toBe('');
  });

  it('resume rotates the token and checks the tenant', async () => {
    await openSession('s7');
    const tenant = 't';
    const other = await store
      .resumeSession('s7', 'tok', 'gw-3', 'c9', NOW, { newToken: 'r1', tenant: `${tenant}-other` })
      .catch((e) => e);
    expect(isScriptError(other, ScriptErrorCode.RESUME_REJECTED)).toBe(true);
    await store.resumeSession('s7', 'tok', 'gw-3', 'c9', NOW, { newToken: 'r1', tenant });
    // The replaced token works only within RESUME_TOKEN_GRACE_MS of its rotation (the client may
    // never have received r1): later it is refused, whichever connection presents it.
    for (const conn of ['c10', 'c9']) {
      const late = await store
        .resumeSession('s7', 'tok', 'gw-2', conn, NOW + RESUME_TOKEN_GRACE_MS + 1, { newToken: 'r2', tenant })
        .catch((e) => e);
      expect(isScriptError(late, ScriptErrorCode.RESUME_REJECTED)).toBe(true);
    }
    await store.resumeSession('s7', 'tok', 'gw-2', 'c10', NOW + 1000, { newToken: 'r2', tenant });
    expect((await store.getSession('s7'))?.token).toBe('r2');
    const next = await store.resumeSession('s7', 'r2', 'gw-2', 'c11', NOW + 2000, { newToken: 'r3', tenant });
    expect(next).toMatchObject({ oldOwner: 'gw-2', oldConn: 'c10' });
    // r1 was never presented and 'tok' is two rotations old: both spent.
    for (const token of ['r1', 'tok']) {
      const spent = await store
        .resumeSession('s7', token, 'gw-2', 'c12', NOW + 3000, { newToken: 'r4', tenant })
        .catch((e) => e);
      expect(isScriptError(spent, ScriptErrorCode.RESUME_REJECTED)).toBe(true);
    }
    expect((await store.getSession('s7'))?.token).toBe('r3');
  });
});

describe('resume token grace', () => {
  it('a resume that waited out an outage in a queue cannot take the session back from a later one', async () => {
    await openSession('s8');
    const tenant = 't';
    // the later resume (issued at +2 s) ran first
    await store.resumeSession('s8', 'tok', 'gw-2', 'c2', NOW + 2000, { newToken: 'r2', tenant });
    // the earlier one (issued at +1 s, its reply long given up) arrives now: refused
    const stale = await store
      .resumeSession('s8', 'tok', 'gw-1', 'c1', NOW + 1000, { newToken: 'r1', tenant })
      .catch((e) => e);
    expect(isScriptError(stale, ScriptErrorCode.RESUME_REJECTED)).toBe(true);
    expect(await store.getSession('s8')).toMatchObject({ token: 'r2', owner: 'gw-2', conn: 'c2' });
    // a newer retry with the replaced token still works within the grace
    await store.resumeSession('s8', 'tok', 'gw-3', 'c3', NOW + 3000, { newToken: 'r3', tenant });
    expect(await store.getSession('s8')).toMatchObject({ token: 'r3', owner: 'gw-3', conn: 'c3' });
  });
});

describe('inbox', () => {
  /** An inbox with fast claim/probe timings, for tests. */
  const inboxFor = (id: string, maxDeliveries: number, handle: (env: Envelope) => Promise<void>) =>
    new InboxBus({
      redis,
      blocking: connectRedis({ url: server.url, role: 'blocking' }),
      ks,
      instanceId: id,
      log: { warn() {}, error() {} },
      claimIdleMs: 50,
      claimIntervalMs: 50,
      maxDeliveries,
      blockMs: 100,
      probeIntervalMs: 100,
      handle,
    });

  it('delivers across instances, retries failures and dead-letters after max deliveries', async () => {
    const got: Envelope[] = [];
    let failFor = '';
    const mk = (id: string) =>
      inboxFor(id, 3, async (env) => {
        if (env.t === 'kick' && env.sessionId === failFor) throw new Error('socket gone');
        got.push(env);
      });
    const a = mk('gw-a');
    const b = mk('gw-b');
    await a.start();
    await b.start();
    await a.send('gw-b', { t: 'kick', sessionId: 'x', conn: 'c' });
    failFor = 'bad';
    await a.send('gw-b', { t: 'kick', sessionId: 'bad', conn: 'c' });
    const until = async (cond: () => boolean | Promise<boolean>) => {
      const end = Date.now() + 10_000;
      while (!(await cond())) {
        if (Date.now() > end) throw new Error('condition not met in 10 s');
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until(() => got.some((e) => e.t === 'kick' && e.sessionId === 'x'));
    await until(async () => (await redis.xlen(ks.dlq('gw-b'))) === 1);
    const dlq = (await redis.xrange(ks.dlq('gw-b'), '-', '+')) as [string, string[]][];
    const fields = dlq[0]![1];
    expect(fields).toContain('reason');
    expect(fields[fields.indexOf('reason') + 1]).toMatch(/delivery failed 3 times/);
    await until(() => b.isConsuming());
    expect(await redis.xlen(ks.inbox('gw-b'))).toBeLessThanOrEqual(1); // only a probe may be in flight
    await a.stop();
    await b.stop();
  });

  it('batches what one turn sends to an instance that reads batches; a batch dead letter is split', async () => {
    const got: Envelope[] = [];
    let failAll = false;
    const mk = (id: string) =>
      inboxFor(id, 2, async (env) => {
        if (failAll) throw new Error('down');
        got.push(env);
      });
    const until = async (cond: () => boolean | Promise<boolean>) => {
      const end = Date.now() + 10_000;
      while (!(await cond())) {
        if (Date.now() > end) throw new Error('condition not met in 10 s');
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const kicks = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ t: 'kick' as const, sessionId: `s${from + i}`, conn: 'c' }));
    const a = mk('gw-c');
    const b = mk('gw-d');
    await a.start();
    await b.start();
    // gw-d has not said it reads batches (no presence): one entry per envelope.
    await Promise.all(kicks(0, 10).map((e) => a.send('gw-d', e)));
    expect(a.stats.batchesSent).toBe(0);
    await until(() => got.length === 10);
    // Once its presence says so (asked in the background), a turn's sends share one entry.
    await redis.set(ks.presence('gw-d'), JSON.stringify({ [INBOX_BATCH_META]: 1 }), 'PX', 60_000);
    (a as unknown as { batchPeers: Map<string, unknown> }).batchPeers.clear();
    await a.send('gw-d', kicks(10, 1)[0]!); // asks
    await until(
      () =>
        (a as unknown as { batchPeers: Map<string, { asking: boolean }> }).batchPeers.get('gw-d')?.asking ===
        false,
    );
    await Promise.all(kicks(11, 100).map((e) => a.send('gw-d', e)));
    expect(a.stats.batchesSent).toBeGreaterThanOrEqual(2); // 100 envelopes, at most 64 per entry
    expect(a.stats.batchesSent).toBeLessThanOrEqual(3);
    await until(() => got.length === 111);
    expect(new Set(got.map((e) => (e as { sessionId: string }).sessionId)).size).toBe(111);
    // A batch that keeps failing is dead-lettered as one dead letter per envelope (`m`).
    failAll = true;
    await Promise.all(kicks(200, 3).map((e) => a.send('gw-d', e)));
    await until(async () => (await redis.xlen(ks.dlq('gw-d'))) === 3);
    const dlq = (await redis.xrangeBuffer(ks.dlq('gw-d'), '-', '+')) as [Buffer, Buffer[]][];
    const sids = dlq.map(([, fields]) => {
      const raws = entryEnvelopes(fields);
      expect(raws).toHaveLength(1);
      return decode<{ sessionId: string }>(raws![0]!).sessionId;
    });
    expect(sids.sort()).toEqual(['s200', 's201', 's202']);
    await a.stop();
    await b.stop();
  });

  it('reads an entry as one envelope (m) or a bounded batch (b); anything else is malformed', async () => {
    const { encode, frameBatch } = await import('../src/index');
    const one = encode({ t: 'kick', sessionId: 'x', conn: 'c' });
    const f = (name: string, v: Buffer) => [Buffer.from(name), v];
    expect(entryEnvelopes(f('m', one))).toEqual([one]);
    expect(entryEnvelopes(f('b', frameBatch([one, one])))).toEqual([one, one]);
    expect(entryEnvelopes(f('b', Buffer.alloc(0)))).toBeNull();
    expect(entryEnvelopes(f('b', frameBatch(Array.from({ length: 65 }, () => one))))).toBeNull();
    expect(entryEnvelopes(f('b', frameBatch([one]).subarray(0, 10)))).toBeNull(); // cut short
    expect(entryEnvelopes(f('b', Buffer.from([0, 0, 0, 0])))).toBeNull(); // empty item
    expect(entryEnvelopes(f('x', one))).toBeNull();
  });
});
