/**
 * Selection dry-run (`GET /api/v1/simulate`, `lingua status --explain`) against real gateways
 * and SDK simulated nodes: the node selection would pick now and why, nothing reserved.
 */
import { renderSimulation, type SimulateResult } from '@lingua/cluster';
import { createSimNode } from '@lingua/node-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeaders, nodeToken } from '../support/auth';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let cluster: TestCluster;
const open: { close(): unknown }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGateways(redis.url, 1, { nodeHeartbeatMs: 100 });
});
afterAll(async () => {
  await Promise.all(open.map((p) => p.close()));
  await cluster?.stop();
  await redis?.stop();
});

async function simulate(
  query: string,
  headers = adminHeaders(),
): Promise<{ status: number; body: SimulateResult }> {
  const r = await fetch(`http://127.0.0.1:${cluster.gateways[0]!.port}/api/v1/simulate?${query}`, {
    headers,
  });
  return { status: r.status, body: (await r.json().catch(() => null)) as SimulateResult };
}

async function node(nodeId: string, opts: { ready?: boolean; latencyMs?: number } = {}) {
  const n = createSimNode({
    urls: [cluster.urls('node')[0]!],
    nodeId,
    token: await nodeToken(nodeId),
    asrLangs: ['zh'],
    ttsLangs: ['en'],
    heartbeatIntervalMs: 100,
    ...opts,
  });
  open.push(n);
  await n.start();
  return n;
}

describe('selection dry-run', () => {
  it('names the node selection would pick now and why, reserves nothing, follows a session’s affinity', async () => {
    await node('b-ready');
    await node('c-warm', { ready: false });
    const first = await simulate('src=zh&tgt=en');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ chosen: { node_id: 'b-ready' }, error: null, session: null });
    const byId = Object.fromEntries(first.body.candidates.map((c) => [c.node_id, c]));
    expect(byId['b-ready']).toMatchObject({ status: 'chosen', running: 0, load: 0 });
    expect(byId['c-warm']).toMatchObject({ status: 'warmup', state: 'warmup' });
    // Nothing was reserved: the same answer again, still 0 running.
    expect(
      (await simulate('src=zh&tgt=en')).body.candidates.find((c) => c.node_id === 'b-ready'),
    ).toMatchObject({
      running: 0,
    });

    // A session served by b-ready has it as its affinity; a less loaded 'a-…' node does not win then.
    const s = await RawPeer.connect(cluster.urls('session')[0]!);
    open.push(s);
    s.send({
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
    });
    const [ack] = await s.next('session_init_ack');
    s.send({ type: 'utterance', data: Buffer.from('hello').toString('base64') });
    await s.next('translation_result');
    await node('a-idle');
    await until(
      async () => (await simulate('src=zh&tgt=en')).body.chosen?.node_id === 'a-idle',
      'a-idle chosen without affinity (ties by id)',
    );
    const withSession = (await simulate(`src=zh&tgt=en&session=${ack!.session_id}`)).body;
    expect(withSession.session).toMatchObject({
      found: true,
      affinity: 'b-ready',
      next_job_id: `${ack!.session_id}.1`,
    });
    expect(withSession.chosen).toMatchObject({ node_id: 'b-ready' });
    expect(withSession.chosen!.why).toContain('affinity');
    expect(withSession.candidates.find((c) => c.node_id === 'a-idle')).toMatchObject({ status: 'available' });
    const text = renderSimulation(withSession);
    expect(text).toContain('Chosen: b-ready');
    expect(text).toContain('c-warm');
  });

  it('a pair nobody serves, bad input and no admin token are answered plainly', async () => {
    expect((await simulate('src=ko&tgt=fr')).body).toMatchObject({
      chosen: null,
      error: 'NO_POOL_FOR_LANG_PAIR',
    });
    expect((await simulate('src=zh&tgt=zh')).status).toBe(400);
    expect((await simulate('src=%zz&tgt=en')).status).toBe(400);
    expect((await simulate(`src=zh&tgt=en&session=${'x'.repeat(200)}`)).status).toBe(400);
    expect((await simulate('src=zh&tgt=en', {})).status).toBe(401);
  });
});
