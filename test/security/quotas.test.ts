/**
 * Issue 9, finding 5 ("1,000 sessions for one tenant are all accepted") and part C's quotas:
 * concurrent sessions per tenant and utterances per second per session and per tenant,
 * cluster-wide in Redis (Lua), exact across gateways, not leaking when a gateway dies.
 */

import { LinguaSession } from '@lingua/client-sdk';
import {
  acquireSessionSlot,
  connectRedis,
  Keyspace,
  liveSessions,
  type RedisClient,
  refreshSessionSlots,
  releaseSessionSlot,
  takeUtteranceTokens,
} from '@lingua/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionToken } from '../support/auth';
import { checkBoundedState } from '../support/bounded-state';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, rawNode, simOutput, type TestNode, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let r: RedisClient;

beforeAll(async () => {
  redis = await startRedis();
  r = connectRedis({ url: redis.url, role: 'worker', name: 'quotas-test' });
});
afterAll(async () => {
  r?.disconnect();
  await redis?.stop();
});

const init = (tenant: string, extra: Record<string, unknown> = {}) => ({
  type: 'session_init',
  src_lang: 'zh',
  tgt_lang: 'en',
  audio_format: 'pcm16',
  sample_rate: 16000,
  tenant_id: tenant,
  ...extra,
});

/** Opens a session and waits for its answer: the ack, or an error. */
async function open(
  url: string,
  tenant: string,
): Promise<{ peer: RawPeer; answer: Record<string, unknown> }> {
  const peer = await RawPeer.connect(url, { token: await sessionToken({ tenant }) });
  peer.send(init(tenant));
  // A hang bound (one test opens 1,000 sessions at once against in-process gateways), below the
  // test's own so that a socket that never answers says how it ended.
  const answer = await until(
    () => peer.frames.find((f) => f.type === 'session_init_ack' || f.type === 'error'),
    'session_init answer',
    45_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; socket ${peer.closed ? `closed ${peer.closed.code}` : 'open'}`);
  });
  return { peer, answer };
}

describe('quota scripts (real Redis)', () => {
  const ks = new Keyspace({ prefix: 'lingua:qs:', cells: 1, shards: 1 });

  it('admits up to max live sessions, exactly; a session already in counts once; release frees', async () => {
    const slot = (i: number) => ({ tenant: 't1', sessionId: `s${i}`, conn: `c${i}` });
    const admit = (i: number, now = 1000) =>
      acquireSessionSlot(r, ks, { ...slot(i), now, leaseMs: 10_000, maxSessions: 3 });
    expect((await Promise.all([0, 1, 2, 3, 4].map((i) => admit(i)))).map((a) => a.admitted)).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
    // resumed on another connection: still one session, admitted although the tenant is full
    expect(
      await acquireSessionSlot(r, ks, {
        ...slot(1),
        conn: 'c1b',
        now: 1000,
        leaseMs: 10_000,
        maxSessions: 3,
      }),
    ).toEqual({
      admitted: true,
      live: 3,
    });
    // the old connection's late release does not free the resumed session's slot
    expect(await releaseSessionSlot(r, ks, slot(1))).toBe(false);
    expect(await liveSessions(r, ks, 't1', 1000)).toBe(3);
    expect(await releaseSessionSlot(r, ks, { ...slot(1), conn: 'c1b' })).toBe(true);
    expect(await releaseSessionSlot(r, ks, { ...slot(1), conn: 'c1b' })).toBe(false); // idempotent
    expect((await admit(3)).admitted).toBe(true);
    expect((await admit(4)).admitted).toBe(false);
    // leases run out when nobody refreshes (the owning gateway died): the slots free themselves
    expect((await admit(4, 11_001)).admitted).toBe(true);
    expect(await liveSessions(r, ks, 't1', 11_001)).toBe(1);
    // every quota key has a TTL
    for (const key of [ks.tenantSessions('t1'), ks.tenantSessionConns('t1')]) {
      const ttl = await r.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(11_000);
    }
  });

  it('refresh keeps owned leases alive, skips sessions another connection took over', async () => {
    const base = { tenant: 't2', leaseMs: 1000, maxSessions: 2 };
    await acquireSessionSlot(r, ks, { ...base, sessionId: 'a', conn: 'ca', now: 0 });
    await acquireSessionSlot(r, ks, { ...base, sessionId: 'b', conn: 'cb', now: 0 });
    await acquireSessionSlot(r, ks, { ...base, sessionId: 'b', conn: 'cb2', now: 500 }); // resumed
    const lost = await refreshSessionSlots(r, ks, {
      tenant: 't2',
      now: 900,
      leaseMs: 1000,
      sessions: [
        { sessionId: 'a', conn: 'ca' },
        { sessionId: 'b', conn: 'cb' },
      ],
    });
    expect(lost).toEqual(['b']);
    // at 1600 only a's refreshed lease (1900) and b's resumed lease (1500 → expired) count
    expect(await liveSessions(r, ks, 't2', 1600)).toBe(1);
    expect(
      (await acquireSessionSlot(r, ks, { ...base, sessionId: 'c', conn: 'cc', now: 1600 })).admitted,
    ).toBe(true);
  });

  it('token buckets: burst, refill, session and tenant scope, refusal debits nothing, force, re-send', async () => {
    const lim = { tenantRate: 2, tenantBurst: 5, sessionRate: 2, sessionBurst: 3 };
    const take = (sid: string, n: number, now: number, force = false, requestId = '') =>
      takeUtteranceTokens(r, ks, { tenant: 't3', sessionId: sid, now, n, force, requestId, ...lim });
    expect(await take('s1', 3, 0)).toEqual({ ok: true }); // session 3 → 0, tenant 5 → 2
    expect(await take('s1', 1, 0)).toEqual({ ok: false, retryAfterMs: 500, scope: 'session' });
    expect(await take('s1', 1, 499)).toMatchObject({ ok: false, scope: 'session' });
    expect(await take('s1', 1, 500)).toEqual({ ok: true }); // both refilled by 1: session 0, tenant 2
    // s2's own bucket is full, the tenant's is not; the refusal debited nothing
    expect(await take('s2', 3, 500)).toEqual({ ok: false, retryAfterMs: 500, scope: 'tenant' });
    expect(await take('s2', 3, 1000)).toEqual({ ok: true });
    // a re-sent take (same request id) is not debited twice
    expect(await take('s3', 1, 100_000, false, 'req-1')).toEqual({ ok: true });
    const t1 = Number(await r.hget(ks.tenantRate('t3'), 't'));
    expect(await take('s3', 1, 100_000, false, 'req-1')).toEqual({ ok: true });
    expect(Number(await r.hget(ks.tenantRate('t3'), 't'))).toBe(t1);
    // a request larger than the burst passes from a full bucket and is paid back by waiting
    expect(await take('s4', 10, 200_000)).toEqual({ ok: true });
    expect(Number(await r.hget(ks.sessionRate('t3', 's4'), 't'))).toBe(-3);
    expect(await take('s4', 1, 200_000)).toMatchObject({ ok: false, scope: 'session' });
    // force debits without checking (server-side finalize); never below -burst
    expect(await take('s5', 50, 300_000, true)).toEqual({ ok: true });
    expect(Number(await r.hget(ks.sessionRate('t3', 's5'), 't'))).toBe(-3);
    for (const key of [ks.tenantRate('t3'), ks.sessionRate('t3', 's1'), ks.sessionRate('t3', 's5')]) {
      expect(await r.pttl(key)).toBeGreaterThan(0);
    }
  });
});

describe('quotas on a 2-gateway cluster', () => {
  let cluster: TestCluster;
  let node: TestNode;
  const prefix = 'lingua:quota:';
  const ks = new Keyspace({ prefix, cells: 1, shards: 1 });

  beforeAll(async () => {
    cluster = await startGateways(redis.url, 2, {
      keyPrefix: prefix,
      // LINGUA_TENANT_MAX_SESSIONS keeps its default (500)
      sessionLeaseMs: 2000,
      sessionUtteranceRate: 2,
      sessionUtteranceBurst: 3,
      tenantUtteranceRate: 1000,
      tenantUtteranceBurst: 2000,
    });
    node = await rawNode(cluster.urls('node')[0]!, 'q-node', { max: 64, heartbeatMs: 1000 });
  });
  afterAll(async () => {
    node?.close();
    await cluster?.stop();
  });

  it('1,000 sessions for one tenant over two gateways: exactly the quota (500) admitted, the rest RATE_LIMITED', async () => {
    const urls = cluster.urls('session');
    const opened = await Promise.all(Array.from({ length: 1000 }, (_, i) => open(urls[i % 2]!, 'acme')));
    const acked = opened.filter((o) => o.answer.type === 'session_init_ack');
    const refused = opened.filter((o) => o.answer.type === 'error');
    expect(acked).toHaveLength(500);
    expect(refused).toHaveLength(500);
    expect(refused[0]!.answer).toMatchObject({ code: 'RATE_LIMITED' });
    expect(String(refused[0]!.answer.message)).toMatch(
      /tenant "acme" has 500 concurrent sessions, its limit is 500/,
    );
    expect(await liveSessions(r, ks, 'acme', Date.now())).toBe(500);

    // Another tenant is not affected, and an admitted session works normally.
    const other = await open(urls[1]!, 'globex');
    expect(other.answer.type).toBe('session_init_ack');
    const s = acked[0]!.peer;
    s.send({ type: 'utterance', seq: 0, data: Buffer.alloc(640, 4).toString('base64') });
    const [res] = await s.next('translation_result');
    expect(res).toMatchObject(simOutput(Buffer.alloc(640, 4), 'zh', 'en'));

    // Sessions that close or drop leave the quota: 10 closed → 10 new admitted, no more.
    for (const o of acked.slice(1, 11)) o.peer.close();
    await until(async () => (await liveSessions(r, ks, 'acme', Date.now())) === 490, 'slots freed');
    const again = await Promise.all(Array.from({ length: 12 }, (_, i) => open(urls[i % 2]!, 'acme')));
    expect(again.filter((o) => o.answer.type === 'session_init_ack')).toHaveLength(10);

    for (const o of [...opened, ...again, other]) o.peer.close();
    await until(async () => (await liveSessions(r, ks, 'acme', Date.now())) === 0, 'all slots freed');
  });

  it('a resumed session counts once, also when resumed on the other gateway', async () => {
    const urls = cluster.urls('session');
    const first = await open(urls[0]!, 'resume-co');
    const ack = first.answer;
    expect(ack.type).toBe('session_init_ack');
    first.peer.close(); // detached: it leaves the quota until resumed
    await until(async () => (await liveSessions(r, ks, 'resume-co', Date.now())) === 0, 'detached');
    const resumed = await RawPeer.connect(urls[1]!, { token: await sessionToken({ tenant: 'resume-co' }) });
    resumed.send(
      init('resume-co', {
        resume: { session_id: ack.session_id, resume_token: ack.resume_token, last_result_index: -1 },
      }),
    );
    await resumed.next('session_init_ack');
    expect(await liveSessions(r, ks, 'resume-co', Date.now())).toBe(1);
    resumed.close();
  });

  it('a gateway that dies stops refreshing: its sessions age out of the quota (lease 2 s)', async () => {
    const extra = await startGateways(redis.url, 1, {
      keyPrefix: prefix,
      instanceId: 'gw-doomed',
      sessionLeaseMs: 2000,
    });
    const url = extra.urls('session')[0]!;
    const peers = await Promise.all(Array.from({ length: 5 }, () => open(url, 'doomed-co')));
    expect(peers.every((p) => p.answer.type === 'session_init_ack')).toBe(true);
    // The surviving gateways keep refreshing theirs: one session on gw-1 stays.
    const survivor = await open(cluster.urls('session')[0]!, 'doomed-co');
    expect(await liveSessions(r, ks, 'doomed-co', Date.now())).toBe(6);
    const sid = String(survivor.answer.session_id);
    const firstLease = Number(await r.zscore(ks.tenantSessions('doomed-co'), sid));
    await extra.stop(); // ungraceful (stop(false)): no release, no detach
    await until(
      async () => (await liveSessions(r, ks, 'doomed-co', Date.now())) === 1,
      'dead sessions aged out',
      10_000,
    );
    // The survivor's gateway keeps refreshing: past its first lease it still counts.
    await until(
      async () => Number(await r.zscore(ks.tenantSessions('doomed-co'), sid)) > firstLease + 1000,
      'a lease refresh',
    );
    expect(await liveSessions(r, ks, 'doomed-co', firstLease + 1)).toBe(1);
    survivor.peer.close();
    for (const p of peers) p.peer.close();
  });

  it('utterances over the session rate are refused (RATE_LIMITED, seq, retry_after_ms) without a trace; resending is exact', async () => {
    const { peer: s, answer } = await open(cluster.urls('session')[0]!, 'rate-co');
    expect(answer.type).toBe('session_init_ack');
    const audio = (i: number) => Buffer.alloc(320, i + 1);
    for (let i = 0; i < 6; i++) s.send({ type: 'utterance', seq: i, data: audio(i).toString('base64') });
    const errs = await s.next('error');
    await s.next('utterance_accepted', 3);
    expect(errs[0]).toMatchObject({ code: 'RATE_LIMITED', field: 'seq' });
    expect(errs[0]!.retry_after_ms).toBeGreaterThan(0);
    expect(String(errs[0]!.message)).toMatch(
      /2 utterances\/s per session .*seq 3 was not accepted .*resend from seq 3/,
    );
    // A heartbeat round trip: every frame before it was handled; still 3 accepted (burst 3).
    s.send({ type: 'client_heartbeat', ts: 1 });
    await s.next('server_heartbeat');
    expect(s.ofType('utterance_accepted')).toHaveLength(3);
    expect(s.ofType('error')).toHaveLength(1);
    // Seq 4 and 5 were ahead of the refused 3: held, not accepted. Resume bookkeeping is exact.
    const ack2 = await (async () => {
      s.close();
      const p = await RawPeer.connect(cluster.urls('session')[1]!, {
        token: await sessionToken({ tenant: 'rate-co' }),
      });
      p.send(
        init('rate-co', {
          resume: { session_id: answer.session_id, resume_token: answer.resume_token, last_result_index: -1 },
        }),
      );
      const [a] = await p.next('session_init_ack');
      return { p, a: a! };
    })();
    expect(ack2.a).toMatchObject({ next_utterance_index: 3, last_accepted_seq: 2 });
    // Resend as the protocol says (from the named seq, after retry_after_ms) until all are in:
    // every utterance exactly once, in order, correct.
    const p = ack2.p;
    const resend = () => {
      const from = p.ofType('utterance_accepted').length + 3;
      for (let i = from; i < 6; i++) p.send({ type: 'utterance', seq: i, data: audio(i).toString('base64') });
    };
    p.ws.on('message', (d) => {
      const f = JSON.parse(d.toString());
      if (f.code === 'RATE_LIMITED') setTimeout(resend, f.retry_after_ms);
    });
    resend();
    const results = await p.next('translation_result', 6);
    expect(results.map((x) => x.utterance_index)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const [i, x] of results.entries()) expect(x).toMatchObject(simOutput(audio(i), 'zh', 'en'));
    ack2.p.close();
  });

  it('the client SDK re-sends refused audio after retry_after_ms: every utterance gets its result', async () => {
    const session = new LinguaSession({
      urls: cluster.urls('session'),
      srcLang: 'zh',
      tgtLang: 'en',
      tenantId: 'sdk-co',
      token: await sessionToken({ tenant: 'sdk-co' }),
    });
    const results: number[] = [];
    const limited: string[] = [];
    session.on('result', (x) => results.push(x.utterance_index));
    session.on('error', (e) => limited.push(e.code));
    await session.start();
    for (let i = 0; i < 8; i++) session.sendUtterance(new Uint8Array(Buffer.alloc(320, 50 + i)));
    await until(() => results.length === 8, '8 results', 20_000);
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(limited).toContain('RATE_LIMITED');
    await session.close();
  });

  it('quota and bucket keys all have TTLs; nothing else is left without one', async () => {
    const report = await checkBoundedState(r, ks);
    expect(report.violations).toEqual([]);
    const tenantKeys = await r.keys(`${prefix}{t:*`);
    expect(tenantKeys.length).toBeGreaterThan(0);
    for (const k of tenantKeys) expect(await r.pttl(k), k).toBeGreaterThan(0);
  });
});
