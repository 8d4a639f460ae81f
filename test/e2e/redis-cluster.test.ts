import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, rawNode, simOutput } from '../support/peers';
import { type RedisClusterServer, startRedisCluster } from '../support/redis';

let rc: RedisClusterServer;
let cluster: TestCluster;

beforeAll(async () => {
  rc = await startRedisCluster(3);
  const url = `redis+cluster://${rc.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  cluster = await startGateways(url, 2, { cells: 16, shards: 16 });
}, 90_000);
afterAll(async () => {
  await cluster?.stop();
  await rc?.stop();
});

describe('gateways on a 3-master Redis Cluster (16 cells, 16 shards)', () => {
  it('8 sessions × 5 utterances across instances → correct results in order', async () => {
    const nodes = await Promise.all(
      [0, 1, 2, 3].map((i) => rawNode(cluster.urls('node')[i % 2]!, `cn-${i}`, { max: 8 })),
    );
    const sessions = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const s = await RawPeer.connect(cluster.urls('session')[(i + 1) % 2]!);
        s.send({
          type: 'session_init',
          src_lang: 'en',
          tgt_lang: 'zh',
          audio_format: 'pcm16',
          sample_rate: 16000,
        });
        await s.next('session_init_ack');
        return s;
      }),
    );
    sessions.forEach((s, i) => {
      for (let u = 0; u < 5; u++)
        s.send({ type: 'utterance', data: Buffer.from(`c${i}u${u}`).toString('base64') });
    });
    for (const [i, s] of sessions.entries()) {
      const results = await s.next('translation_result', 5);
      expect(results.map((r) => r.utterance_index)).toEqual([0, 1, 2, 3, 4]);
      for (const [u, r] of results.entries())
        expect(r).toMatchObject(simOutput(Buffer.from(`c${i}u${u}`), 'en', 'zh'));
      s.close();
    }
    for (const n of nodes) n.close();
  });
});
