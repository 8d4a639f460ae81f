/**
 * Issue 9, finding 6 (the tenant was self-declared) and the resume rules of part B, against
 * two real gateway processes: the tenant comes only from the session token, a resume must come
 * from the same tenant, the resume token rotates on every resume (a used one is spent), and
 * failed resumes cost the guesser its socket (LINGUA_ABUSE_LIMIT). Honest sessions alongside
 * get the simulated node's results.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders, sessionToken } from '../support/auth';
import { type GatewayProcesses, startGatewayProcesses } from '../support/gateway-procs';
import { RawPeer, rawNode, simOutput, type TestNode, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

const ABUSE_LIMIT = 5;
let redis: RedisServer;
let cluster: GatewayProcesses;
let node: TestNode;

const INIT = {
  type: 'session_init',
  src_lang: 'zh',
  tgt_lang: 'en',
  audio_format: 'pcm16',
  sample_rate: 16000,
};
const audio = (tag: string, i: number) => Buffer.from(`${tag} ${i} `.repeat(25));

async function session(url: string, claims: Parameters<typeof sessionToken>[0] = {}): Promise<RawPeer> {
  return RawPeer.connect(url, { token: await sessionToken(claims) });
}

async function refused(peer: RawPeer, code: string, message: RegExp): Promise<void> {
  const [err] = await peer.next('error');
  expect(err).toMatchObject({ code });
  expect(String(err!.message)).toMatch(message);
}

/** Sends utterance i and checks its result is the simulated node's output for that audio. */
async function roundTrip(peer: RawPeer, tag: string, i: number, expectedIndex: number): Promise<void> {
  peer.send({ type: 'utterance', seq: i, data: audio(tag, i).toString('base64') });
  const results = await peer.next('translation_result', peer.ofType('translation_result').length + 1);
  expect(results.at(-1)).toMatchObject({
    utterance_index: expectedIndex,
    ...simOutput(audio(tag, i), 'zh', 'en'),
  });
}

async function jobTenant(jobId: string): Promise<string> {
  const r = await fetch(`${cluster.gateways[0]!.base}/api/v1/jobs/${encodeURIComponent(jobId)}`, {
    headers: adminHeaders(),
  });
  return ((await r.json()) as { tenant: string }).tenant;
}

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGatewayProcesses(redis.url, 2, { LINGUA_ABUSE_LIMIT: String(ABUSE_LIMIT) });
  node = await rawNode(cluster.gateways[0]!.url('node'), 'tenant-node', { max: 8 });
}, 150_000);
afterAll(async () => {
  node?.close();
  await cluster?.stop();
  await redis?.stop();
});

describe('tenant from the token', { timeout: 240_000 }, () => {
  it('a tenant_id other than the token’s is refused; absent or equal, the token’s tenant is recorded', async () => {
    const [gw1] = cluster.gateways;
    const spoof = await session(gw1!.url('session'), { tenant: 'acme' });
    spoof.send({ ...INIT, tenant_id: 'victim-corp' });
    await refused(spoof, 'UNAUTHORIZED', /victim-corp/);
    await until(() => spoof.closed, 'closed');
    expect(spoof.closed?.code).toBe(1008);
    expect(spoof.ofType('session_init_ack')).toEqual([]);

    for (const init of [{ ...INIT, tenant_id: 'acme' }, INIT]) {
      const s = await session(gw1!.url('session'), { tenant: 'acme' });
      s.send(init);
      await s.next('session_init_ack');
      await roundTrip(s, 'acme', 0, 0);
      const [accepted] = s.ofType('utterance_accepted');
      expect(await jobTenant(String(accepted!.job_id))).toBe('acme');
      s.close();
    }
  });

  it('a token limited to some language pairs opens only those', async () => {
    const [, gw2] = cluster.gateways;
    const s = await session(gw2!.url('session'), { langs: ['en:zh'] });
    s.send(INIT); // zh:en
    await refused(s, 'UNAUTHORIZED', /zh:en/);
    await until(() => s.closed, 'closed');
    const ok = await session(gw2!.url('session'), { langs: ['zh:*'] });
    ok.send(INIT);
    await ok.next('session_init_ack');
    ok.close();
  });
});

describe('resume', { timeout: 240_000 }, () => {
  it('rotates the resume token on every resume; a used token is spent', async () => {
    const [gw1, gw2] = cluster.gateways;
    const a = await session(gw1!.url('session'));
    a.send(INIT);
    const [ack0] = await a.next('session_init_ack');
    await roundTrip(a, 'rot', 0, 0);
    a.close();
    await until(() => a.closed, 'closed');

    const resume = (token: unknown, last: number) => ({
      ...INIT,
      resume: { session_id: ack0!.session_id, resume_token: token, last_result_index: last },
    });
    const b = await session(gw2!.url('session'));
    b.send(resume(ack0!.resume_token, 0));
    const [ack1] = await b.next('session_init_ack');
    expect(ack1!.resume_token).not.toBe(ack0!.resume_token);
    await roundTrip(b, 'rot', 1, 1);

    // The first token is spent: replaying it fails, even while b is connected.
    const replay = await session(gw1!.url('session'));
    replay.send(resume(ack0!.resume_token, 0));
    await refused(replay, 'RESUME_REJECTED', /resume_token/);
    replay.close();

    // The rotated token works once more and rotates again; b is told it moved (4001).
    const c = await session(gw1!.url('session'));
    c.send(resume(ack1!.resume_token, 1));
    const [ack2] = await c.next('session_init_ack');
    expect(new Set([ack0!.resume_token, ack1!.resume_token, ack2!.resume_token]).size).toBe(3);
    await until(() => b.closed, 'b kicked');
    expect(b.closed?.code).toBe(4001);
    await roundTrip(c, 'rot', 2, 2);
    c.close();
  });

  it('a resume from another tenant is refused, even with the right resume token', async () => {
    const [gw1, gw2] = cluster.gateways;
    const a = await session(gw1!.url('session'), { tenant: 'owner-co' });
    a.send(INIT);
    const [ack] = await a.next('session_init_ack');
    await roundTrip(a, 'owner', 0, 0);
    a.close();
    await until(() => a.closed, 'closed');
    const resume = {
      ...INIT,
      resume: { session_id: ack!.session_id, resume_token: ack!.resume_token, last_result_index: 0 },
    };
    const thief = await session(gw2!.url('session'), { tenant: 'thief-co' });
    thief.send(resume);
    await refused(thief, 'RESUME_REJECTED', /resume_token/);
    expect(thief.ofType('translation_result')).toEqual([]);
    thief.close();
    // The refused attempt did not spend the token: the owner resumes.
    const back = await session(gw2!.url('session'), { tenant: 'owner-co' });
    back.send(resume);
    await back.next('session_init_ack');
    await roundTrip(back, 'owner', 1, 1);
    back.close();
  });

  it(`failed resumes count toward LINGUA_ABUSE_LIMIT (${ABUSE_LIMIT}): then close 1008`, async () => {
    const [gw1] = cluster.gateways;
    const guesser = await session(gw1!.url('session'));
    const honest = await session(gw1!.url('session'));
    honest.send(INIT);
    await honest.next('session_init_ack');
    for (let i = 0; i <= ABUSE_LIMIT; i++) {
      guesser.send({
        ...INIT,
        resume: {
          session_id: `00000000-0000-4000-8000-00000000000${i}`,
          resume_token: 'guess',
          last_result_index: -1,
        },
      });
    }
    await until(() => guesser.closed, 'the guesser closed');
    expect(guesser.closed?.code).toBe(1008);
    expect(guesser.ofType('error')).toHaveLength(ABUSE_LIMIT + 1);
    expect(guesser.ofType('error').every((e) => e.code === 'SESSION_NOT_FOUND')).toBe(true);
    // Everyone else is served as before.
    await roundTrip(honest, 'honest', 0, 0);
    expect(honest.closed).toBeNull();
    honest.close();
  });
});
