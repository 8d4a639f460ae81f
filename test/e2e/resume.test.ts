import { LinguaSession } from '@lingua/client-sdk';
import { createSimNode, simulatedOutput } from '@lingua/node-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeToken, sessionToken } from '../support/auth';
import { startGateways, type TestCluster } from '../support/gateways';
import { until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let cluster: TestCluster;

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGateways(redis.url, 2);
});
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

describe('resume', () => {
  it('socket closed mid-stream, resume on a different instance: nothing lost or duplicated', async () => {
    const node = createSimNode({
      urls: [cluster.urls('node')[1]!],
      nodeId: 'sim-1',
      token: await nodeToken('sim-1'),
      latencyMs: 40,
    });
    await node.start();
    const [gw1, gw2] = cluster.urls('session');
    const session = new LinguaSession({
      urls: [gw1!, gw2!],
      srcLang: 'zh',
      tgtLang: 'en',
      token: await sessionToken(),
      reconnect: { initialMs: 20, maxMs: 200 },
    });
    const results: { utterance_index: number; text_asr: string }[] = [];
    const missing: unknown[] = [];
    session.on('result', (r) => results.push(r));
    session.on('missing', (m) => missing.push(m));
    const reconnected: string[] = [];
    session.on('reconnected', (ack) => reconnected.push(ack.instance_id));
    const ack = await session.start();
    expect(ack.instance_id).toBe('gw-1');

    // Utterance k = 3 chunks of 320 bytes filled with (10k + j).
    const chunk = (k: number, j: number) => new Uint8Array(320).fill(10 * k + j);
    const utterance = (k: number) => Buffer.concat([0, 1, 2].map((j) => chunk(k, j)));
    const sendUtterance = (k: number, from = 0) => {
      for (let j = from; j < 3; j++) session.sendAudio(chunk(k, j), { isFinal: j === 2 });
    };
    sendUtterance(0);
    sendUtterance(1);
    sendUtterance(2);
    session.sendAudio(chunk(3, 0));
    session.sendAudio(chunk(3, 1));
    // Wait until gw-1 accepted utterance 2, then drop the socket server-side mid-stream.
    const actor = await until(() => cluster.gateways[0]!.ctx.sessions.get(ack.session_id), 'session on gw-1');
    await until(
      () => (actor as unknown as { seg?: { nextIndex: number } }).seg!.nextIndex >= 3,
      'utterance 2',
    );
    (actor as unknown as { transport: { close(c: number, r: string): void } }).transport.close(
      4000,
      'test: drop',
    );
    await until(() => reconnected.length > 0, 'reconnect');
    expect(reconnected[0]).toBe('gw-2');
    sendUtterance(3, 2);
    sendUtterance(4);
    await until(() => results.length >= 5, '5 results', 15_000);
    await new Promise((r) => setTimeout(r, 150));
    expect(results.map((r) => r.utterance_index)).toEqual([0, 1, 2, 3, 4]);
    for (const r of results) {
      expect(r.text_asr).toBe(simulatedOutput(utterance(r.utterance_index), 'zh', 'en', false).text_asr);
    }
    expect(missing).toEqual([]);
    await session.close();
    await node.close();
  });

  it('a wrong resume_token is RESUME_REJECTED', async () => {
    const node = createSimNode({
      urls: [cluster.urls('node')[0]!],
      nodeId: 'sim-2',
      token: await nodeToken('sim-2'),
    });
    await node.start();
    const a = new LinguaSession({
      urls: [cluster.urls('session')[0]!],
      srcLang: 'zh',
      tgtLang: 'en',
      token: await sessionToken(),
    });
    const ack = await a.start();
    const { RawPeer } = await import('../support/peers');
    const raw = await RawPeer.connect(cluster.urls('session')[1]!);
    raw.send({
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
      resume: { session_id: ack.session_id, resume_token: 'forged', last_result_index: -1 },
    });
    const [err] = await raw.next('error');
    expect(err).toMatchObject({ code: 'RESUME_REJECTED' });
    raw.close();
    await a.close();
    await node.close();
  });

  it('resuming while the old socket is still open elsewhere closes the old one (4001)', async () => {
    const node = createSimNode({
      urls: [cluster.urls('node')[0]!],
      nodeId: 'sim-3',
      token: await nodeToken('sim-3'),
    });
    await node.start();
    const { RawPeer } = await import('../support/peers');
    const old = await RawPeer.connect(cluster.urls('session')[0]!);
    old.send({
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
    });
    const [ack] = await old.next('session_init_ack');
    old.send({ type: 'utterance', seq: 0, data: Buffer.from('before the move').toString('base64') });
    await old.next('translation_result');
    const fresh = await RawPeer.connect(cluster.urls('session')[1]!);
    fresh.send({
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
      resume: { session_id: ack!.session_id, resume_token: ack!.resume_token, last_result_index: 0 },
    });
    const [ack2] = await fresh.next('session_init_ack');
    expect(ack2).toMatchObject({ instance_id: 'gw-2', next_utterance_index: 1, last_accepted_seq: 0 });
    await until(() => old.closed, 'old socket closed');
    expect(old.closed?.code).toBe(4001);
    fresh.send({ type: 'utterance', seq: 1, data: Buffer.from('after the move').toString('base64') });
    const [r] = await fresh.next('translation_result');
    expect(r).toMatchObject({ utterance_index: 1 });
    expect(fresh.ofType('translation_result')).toHaveLength(1); // index 0 was not replayed
    fresh.close();
    await node.close();
  });
});
