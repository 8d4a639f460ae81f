import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE } from '../support/auth';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, rawNode, simOutput } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let cluster: TestCluster;

beforeAll(async () => {
  redis = await startRedis();
  // One of the few suites on an open gateway (LINGUA_INSECURE=true): the development setup.
  cluster = await startGateways(redis.url, 1, INSECURE);
});
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

describe('single instance', () => {
  it('1 node, 1 session, 5 utterances → 5 correct results in order', async () => {
    const [nodeUrl] = cluster.urls('node');
    const [sessUrl] = cluster.urls('session');
    const node = await rawNode(nodeUrl!, 'node-a');
    const s = await RawPeer.connect(sessUrl!);
    s.send({
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
    });
    const [ack] = await s.next('session_init_ack');
    expect(ack).toMatchObject({ instance_id: 'gw-1', next_utterance_index: 0, last_accepted_seq: -1 });
    const audios = Array.from({ length: 5 }, (_, i) => Buffer.alloc(3200, i + 1));
    for (const [i, a] of audios.entries()) {
      s.send({ type: 'audio_chunk', seq: i, data: a.toString('base64'), is_final: true });
    }
    const results = await s.next('translation_result', 5);
    expect(results.map((r) => r.utterance_index)).toEqual([0, 1, 2, 3, 4]);
    results.forEach((r, i) => {
      expect(r).toMatchObject({
        ...simOutput(audios[i]!, 'zh', 'en'),
        node_id: 'node-a',
        src_lang: 'zh',
        tgt_lang: 'en',
      });
    });
    const accepted = s.ofType('utterance_accepted');
    expect(accepted.map((a) => [a.utterance_index, a.reason, a.last_chunk_seq])).toEqual([
      [0, 'is_final', 0],
      [1, 'is_final', 1],
      [2, 'is_final', 2],
      [3, 'is_final', 3],
      [4, 'is_final', 4],
    ]);
    // The job API shows a job with its result, which is stored once, in the result log.
    const res = await fetch(
      `http://127.0.0.1:${cluster.gateways[0]!.port}/api/v1/jobs/${results[2]!.job_id}`,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      state: 'completed',
      outcome: 'r',
      outcome_logged: { kind: 'result', ...simOutput(audios[2]!, 'zh', 'en'), node_id: 'node-a' },
    });
    s.send({ type: 'session_close' });
    const [closed] = await s.next('session_closed');
    expect(closed).toMatchObject({ last_result_index: 4 });
    node.close();
  });

  it('NO_POOL_FOR_LANG_PAIR reaches the client as an error frame', async () => {
    const s = await RawPeer.connect(cluster.urls('session')[0]!);
    s.send({
      type: 'session_init',
      src_lang: 'de',
      tgt_lang: 'fr',
      audio_format: 'pcm16',
      sample_rate: 16000,
    });
    const [err] = await s.next('error');
    expect(err).toMatchObject({ code: 'NO_POOL_FOR_LANG_PAIR' });
    expect(s.closed).toBeNull();
    s.close();
  });
});
