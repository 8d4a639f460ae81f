/**
 * Issue 9, finding 2 (the session credential was also the node credential; a node id could be
 * taken over) and part B, against two real gateway processes: what the attacker tries is
 * refused with UNAUTHORIZED and close 1008, the gateways stay up, the honest node keeps its
 * jobs, an honest session alongside gets the simulated node's results, and no credential shows
 * up in the gateways' logs.
 */

import { mintSessionToken, secretKey } from '@lingua/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeToken, sessionToken, TEST_CREDENTIALS, TEST_TENANT } from '../support/auth';
import { type GatewayProcesses, startGatewayProcesses } from '../support/gateway-procs';
import { RawPeer, rawNode, simOutput, type TestNode, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let cluster: GatewayProcesses;
/** every credential used here: none may appear in a gateway log */
const used: string[] = [];

async function token<T extends string>(p: Promise<T>): Promise<T> {
  const t = await p;
  used.push(t);
  return t;
}

const REGISTER = {
  type: 'node_register',
  services: ['asr', 'nmt'],
  asr_langs: ['zh'],
  tts_langs: ['en'],
  max_concurrent_jobs: 2,
};

/** The peer was refused: an UNAUTHORIZED error, then close 1008. */
async function refused(peer: RawPeer, message?: RegExp): Promise<void> {
  const [err] = await peer.next('error');
  expect(err).toMatchObject({ code: 'UNAUTHORIZED' });
  if (message) expect(String(err!.message)).toMatch(message);
  await until(() => peer.closed, 'close after UNAUTHORIZED');
  expect(peer.closed?.code).toBe(1008);
}

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGatewayProcesses(redis.url, 2);
}, 150_000);
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

describe('credentials per role', { timeout: 240_000 }, () => {
  it('a session token opens no node socket and registers no node', async () => {
    const [gw] = cluster.gateways;
    const sess = await token(sessionToken());
    // As a bearer on the /ws/node upgrade …
    await refused(await RawPeer.connect(gw!.url('node'), { token: sess }), /session token/);
    // … or inside node_register.
    const peer = await RawPeer.connect(gw!.url('node'));
    peer.send({ ...REGISTER, node_id: 'rogue-1', token: sess });
    await refused(peer, /session token/);
    // Without any token.
    const bare = await RawPeer.connect(gw!.url('node'));
    bare.send({ ...REGISTER, node_id: 'rogue-2' });
    await refused(bare);
  });

  it('a node token (or none, or an expired one) opens no session', async () => {
    const [, gw] = cluster.gateways;
    await refused(
      await RawPeer.connect(gw!.url('session'), { token: await token(nodeToken('n-1')) }),
      /node token/,
    );
    await refused(await RawPeer.connect(gw!.url('session'), { token: null }), /required/);
    const expired = await token(
      mintSessionToken(
        secretKey(TEST_CREDENTIALS.sessionJwtSecret),
        { tenant: TEST_TENANT },
        { ttlSeconds: 60, now: Date.now() - 3600_000 },
      ),
    );
    await refused(await RawPeer.connect(gw!.url('session'), { token: expired }), /expired/);
    // The browser form, ?token=, works as well as the header.
    const viaQuery = await RawPeer.connect(
      `${gw!.url('session')}?token=${encodeURIComponent(await token(sessionToken()))}`,
      { token: null },
    );
    viaQuery.send({ type: 'client_heartbeat', ts: 1 });
    await viaQuery.next('server_heartbeat');
    expect(viaQuery.closed).toBeNull();
    viaQuery.close();
  });

  it('a node registers only the ids its token allows', async () => {
    const [gw] = cluster.gateways;
    const teamA = await token(nodeToken('team-a-*'));
    const outside = await RawPeer.connect(gw!.url('node'));
    outside.send({ ...REGISTER, node_id: 'team-b-1', token: teamA });
    await refused(outside, /team-b-1/);
    const inside = await rawNode(gw!.url('node'), 'team-a-1', { token: teamA, asr: ['fr'], tts: ['de'] });
    expect(inside.ofType('node_register_ack')).toHaveLength(1);
    // The node token may also come as a bearer header on the upgrade.
    const viaHeader = await RawPeer.connect(gw!.url('node'), { token: await token(nodeToken('team-a-2')) });
    viaHeader.send({ ...REGISTER, node_id: 'team-a-2', asr_langs: ['fr'], tts_langs: ['de'] });
    await viaHeader.next('node_register_ack');
    inside.close();
    viaHeader.close();
  });

  it("registering a connected node's id without a token for it is refused; the real node keeps its jobs", async () => {
    const [gw1, gw2] = cluster.gateways;
    const real: TestNode = await rawNode(gw1!.url('node'), 'gpu-1', {
      token: await token(nodeToken('gpu-1')),
    });
    // An honest session on the other gateway, served by gpu-1.
    const s = await RawPeer.connect(gw2!.url('session'), { token: await token(sessionToken()) });
    s.send({
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
    });
    await s.next('session_init_ack');
    const audio = (i: number) => Buffer.from(`honest utterance ${i} `.repeat(20));
    s.send({ type: 'utterance', data: audio(0).toString('base64') });
    await s.next('translation_result', 1);

    // The attacker holds a valid node token, for other ids, and tries gpu-1 on both gateways.
    const attackerToken = await token(nodeToken('evil-*'));
    for (const gw of [gw1!, gw2!]) {
      const hijack = await RawPeer.connect(gw.url('node'));
      hijack.send({ ...REGISTER, node_id: 'gpu-1', token: attackerToken });
      await refused(hijack, /gpu-1/);
      expect(hijack.ofType('job_assign')).toEqual([]);
    }
    // The real node was not kicked (no 4002) and still gets the session's jobs.
    expect(real.closed).toBeNull();
    for (let i = 1; i < 4; i++) s.send({ type: 'utterance', data: audio(i).toString('base64') });
    const results = await s.next('translation_result', 4);
    expect(results.map((r) => r.utterance_index)).toEqual([0, 1, 2, 3]);
    for (const [i, r] of results.entries()) {
      expect(r).toMatchObject({ ...simOutput(audio(i), 'zh', 'en'), node_id: 'gpu-1' });
    }
    expect(real.assigns).toHaveLength(4);
    expect(real.closed).toBeNull();
    s.close();
    real.close();
  });

  it('the gateways are alive and logged no credential', async () => {
    for (const gw of cluster.gateways) {
      expect(gw.child.exitCode).toBeNull();
      expect((await fetch(`${gw.base}/health`)).status).toBe(200);
      const log = gw.output();
      expect(log).toContain('node_register refused'); // the refusals were logged …
      for (const t of used) expect(log).not.toContain(t); // … without the tokens
      expect(log).not.toMatch(/"token":"ey/);
    }
  });
});
