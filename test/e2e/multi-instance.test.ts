import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, rawNode, simOutput, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let cluster: TestCluster;

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGateways(redis.url, 3, { cells: 2, shards: 4 });
});
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

describe('3 gateway instances sharing one Redis', () => {
  it('20 sessions × 10 utterances, every node on another instance → 200 correct results in order, once', async () => {
    const nodeUrls = cluster.urls('node');
    const sessUrls = cluster.urls('session');
    // Source languages pin sessions to nodes: the nodes for `src` live on instance srcHome[src].
    const srcHome: Record<string, number> = { fr: 0, de: 1, es: 2 };
    const nodes = await Promise.all([
      rawNode(nodeUrls[0]!, 'n-fr', { asr: ['fr'], tts: ['en'] }),
      rawNode(nodeUrls[1]!, 'n-de', { asr: ['de'], tts: ['en'] }),
      rawNode(nodeUrls[2]!, 'n-es-1', { asr: ['es'], tts: ['en'] }),
      rawNode(nodeUrls[2]!, 'n-es-2', { asr: ['es'], tts: ['en'] }),
    ]);
    const sessions: { peer: RawPeer; src: string; home: number; audios: Buffer[] }[] = [];
    for (let i = 0; i < 20; i++) {
      const home = i % 3;
      const choices = Object.keys(srcHome).filter((l) => srcHome[l] !== home);
      const src = choices[i % choices.length]!;
      const peer = await RawPeer.connect(sessUrls[home]!);
      peer.send({
        type: 'session_init',
        src_lang: src,
        tgt_lang: 'en',
        audio_format: 'pcm16',
        sample_rate: 16000,
      });
      await peer.next('session_init_ack');
      sessions.push({ peer, src, home, audios: [] });
    }
    for (let u = 0; u < 10; u++) {
      for (const [i, s] of sessions.entries()) {
        const audio = Buffer.from(`session ${i} utterance ${u} `.repeat(20));
        s.audios.push(audio);
        s.peer.send({ type: 'utterance', data: audio.toString('base64') });
      }
    }
    for (const s of sessions) {
      // 200 jobs through four nodes: generous for two suites sharing a 2-core machine
      const results = await s.peer.next('translation_result', 10, 60_000);
      expect(results.map((r) => r.utterance_index)).toEqual([...Array(10).keys()]);
      for (const r of results) {
        const idx = r.utterance_index as number;
        expect(r).toMatchObject(simOutput(s.audios[idx]!, s.src, 'en'));
        // the node that served it lives on another instance than the session
        expect(srcHome[s.src]).not.toBe(s.home);
      }
      expect(s.peer.ofType('missing_result')).toHaveLength(0);
    }
    const total = sessions.reduce((n, s) => n + s.peer.ofType('translation_result').length, 0);
    expect(total).toBe(200);
    // Inboxes drained: nothing pending in any instance's consumer group.
    const { redis: r, ks } = cluster.gateways[0]!.ctx;
    await until(async () => {
      for (const g of cluster.gateways) {
        const pending = (await r.xpending(ks.inbox(g.cfg.instanceId), 'lingua')) as [number, ...unknown[]];
        if (pending[0] !== 0) return false;
      }
      return true;
    }, 'all inboxes drained');
    // No duplicates arrive late.
    await new Promise((res) => setTimeout(res, 200));
    for (const s of sessions) expect(s.peer.ofType('translation_result')).toHaveLength(10);
    for (const n of nodes) n.close();
    for (const s of sessions) s.peer.close();
  });
});
