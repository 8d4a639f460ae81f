/**
 * Wire order: on every session connection, `utterance_accepted` for an index precedes that
 * index's `translation_result` / `missing_result`, even with a node that answers in 0 ms (on
 * the same gateway as the session, and on another one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeToken } from '../support/auth';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, until } from '../support/peers';
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

/** Answers every job_assign synchronously, inside the message callback: a 0 ms node. */
async function instantNode(gw: number, nodeId: string, src: string): Promise<RawPeer> {
  const p = await RawPeer.connect(cluster.urls('node')[gw]!);
  p.ws.on('message', (data) => {
    const f = JSON.parse(data.toString());
    if (f.type !== 'job_assign') return;
    p.send({
      type: 'job_result',
      job_id: f.job_id,
      attempt: f.attempt,
      success: true,
      text_asr: 'a',
      text_translated: 'b',
    });
  });
  p.send({
    type: 'node_register',
    node_id: nodeId,
    token: await nodeToken(nodeId),
    services: ['asr', 'nmt'],
    asr_langs: [src],
    tts_langs: ['en'],
    max_concurrent_jobs: 64,
    job_ids: [],
  });
  await p.next('node_register_ack');
  return p;
}

describe('wire order', () => {
  it('utterance_accepted always precedes the result of its index (0 ms nodes, local and remote)', async () => {
    const nodes = [await instantNode(0, 'instant-local', 'zh'), await instantNode(1, 'instant-remote', 'fr')];
    const sessions: RawPeer[] = [];
    for (const src of ['zh', 'fr', 'zh', 'fr']) {
      const s = await RawPeer.connect(cluster.urls('session')[0]!);
      s.send({
        type: 'session_init',
        src_lang: src,
        tgt_lang: 'en',
        audio_format: 'pcm16',
        sample_rate: 16000,
      });
      await s.next('session_init_ack');
      sessions.push(s);
    }
    const N = 40;
    for (let i = 0; i < N; i++) {
      for (const s of sessions) s.send({ type: 'utterance', data: Buffer.from(`u${i}`).toString('base64') });
    }
    for (const s of sessions) {
      await until(() => s.ofType('translation_result').length >= N, `${N} results`, 50_000);
      const seen = new Set<number>();
      for (const f of s.frames) {
        const idx = f.utterance_index as number;
        if (f.type === 'utterance_accepted') seen.add(idx);
        if (f.type === 'translation_result' || f.type === 'missing_result') {
          expect(seen.has(idx), `result of index ${idx} before its acceptance`).toBe(true);
        }
      }
      expect(seen.size).toBe(N);
      expect(s.ofType('translation_result').map((r) => r.utterance_index)).toEqual([...Array(N).keys()]);
    }
    for (const p of [...nodes, ...sessions]) p.close();
  });
});
