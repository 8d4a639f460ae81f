/**
 * Two-way sessions (protocol v1.11) with real gateways: jobs reach only nodes serving both
 * directions, the node's language ID (the simulated node: one bit of sha256(audio)) picks
 * the direction each result carries, in order, across a resume on the other gateway; a
 * result without a valid direction is refused and fails over.
 */
import { createSimNode } from '@lingua/node-sdk';
import { describe, expect, it } from 'vitest';
import { nodeToken, sessionToken } from '../support/auth';
import { useGateways } from '../support/gateways';
import { RawPeer, rawNode, simDirection, simOutput, until } from '../support/peers';

const fx = useGateways(2, {
  jobTimeoutMs: 1500,
  assignCheckMs: 1000,
  nodeHeartbeatMs: 100,
  sweepIntervalMs: 100,
  timeoutPollMs: 50,
});

const init = (a: string, b: string, extra: Record<string, unknown> = {}) => ({
  type: 'session_init',
  src_lang: a,
  tgt_lang: b,
  mode: 'two_way',
  lang_a: a,
  lang_b: b,
  audio_format: 'pcm16',
  sample_rate: 16000,
  ...extra,
});

/** What the client must see for `audio` in a zh/en two-way session. */
function expected(audio: Buffer, index: number) {
  const d = simDirection(audio, 'zh', 'en');
  return { utterance_index: index, src_lang: d.src, tgt_lang: d.tgt, ...simOutput(audio, d.src, d.tgt) };
}

describe('two-way sessions (v1.11)', () => {
  it('results in order with the detected direction, across a resume on the other gateway; one-way nodes get none', async () => {
    const both = createSimNode({
      urls: [fx.cluster.urls('node')[1]!],
      nodeId: 'tw-both',
      token: await nodeToken('tw-both'),
      asrLangs: ['zh', 'en'],
      ttsLangs: ['en', 'zh'],
      heartbeatIntervalMs: 100,
    });
    fx.open.push(both);
    await both.start();
    const oneWay = await rawNode(fx.cluster.urls('node')[0]!, 'tw-one', {
      asr: ['zh'],
      tts: ['en'],
      max: 50,
    });
    fx.open.push(oneWay);

    const audios = Array.from({ length: 8 }, (_, i) => Buffer.from(`two-way utterance ${i}`));
    const dirs = new Set(audios.map((a) => simDirection(a, 'zh', 'en').src));
    expect(dirs).toEqual(new Set(['zh', 'en'])); // the test covers both directions

    const old = await RawPeer.connect(fx.cluster.urls('session')[0]!);
    fx.open.push(old);
    old.send(init('zh', 'en'));
    const [ack] = await old.next('session_init_ack');
    for (let i = 0; i < 6; i++) old.send({ type: 'utterance', seq: i, data: audios[i]!.toString('base64') });
    await until(() => old.ofType('utterance_accepted').length === 6, 'six accepted');
    await until(() => old.ofType('translation_result').length >= 3, 'three results');
    const seen = old.ofType('translation_result').slice(0, 3);

    // Resume on the other gateway after result 2: the rest arrive there, none missing or doubled.
    const fresh = await RawPeer.connect(fx.cluster.urls('session')[1]!);
    fx.open.push(fresh);
    fresh.send(
      init('zh', 'en', {
        resume: {
          session_id: ack!.session_id,
          resume_token: ack!.resume_token,
          last_result_index: 2,
          next_utterance_index: 6,
          last_accepted_seq: 5,
        },
      }),
    );
    await fresh.next('session_init_ack');
    for (let i = 6; i < 8; i++)
      fresh.send({ type: 'utterance', seq: i, data: audios[i]!.toString('base64') });
    await until(() => fresh.ofType('translation_result').length >= 5, 'results 3..7 on the new gateway');
    const results = [...seen, ...fresh.ofType('translation_result')];
    expect(results.map((r) => r.utterance_index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    results.forEach((r, i) => {
      expect(r).toMatchObject({ ...expected(audios[i]!, i), node_id: 'tw-both' });
    });
    expect(oneWay.assigns).toEqual([]);
    expect(old.ofType('error')).toEqual([]);
    expect(fresh.ofType('error')).toEqual([]);
    // Rooms translate from one language per speaker: a two-way session stays out.
    fresh.send({ type: 'room_join', room_id: 'tw-room', display_name: 'x', listen_lang: 'en' });
    const [e] = await fresh.next('error');
    expect(e).toMatchObject({ code: 'BAD_MESSAGE', message: expect.stringContaining('two-way') });
  });

  it('NO_POOL_FOR_LANG_PAIR at session_init when no node serves both directions; BAD_MESSAGE for a bad mode', async () => {
    const fr = await rawNode(fx.cluster.urls('node')[0]!, 'tw-fr-de', { asr: ['fr'], tts: ['de'] });
    const de = await rawNode(fx.cluster.urls('node')[1]!, 'tw-de-fr', { asr: ['de'], tts: ['fr'] });
    fx.open.push(fr, de);
    const s = await RawPeer.connect(fx.cluster.urls('session')[0]!);
    fx.open.push(s);
    s.send(init('fr', 'de'));
    const [err] = await s.next('error');
    expect(err).toMatchObject({ code: 'NO_POOL_FOR_LANG_PAIR' });
    expect(String(err!.message)).toContain('both fr:de and de:fr');
    // Both one-way sessions are served.
    for (const [a, b] of [
      ['fr', 'de'],
      ['de', 'fr'],
    ] as const) {
      const one = await RawPeer.connect(fx.cluster.urls('session')[1]!);
      fx.open.push(one);
      one.send({ type: 'session_init', src_lang: a, tgt_lang: b, audio_format: 'pcm16', sample_rate: 16000 });
      await one.next('session_init_ack');
    }
    // With auth, the token must allow both directions.
    const oneDir = await RawPeer.connect(fx.cluster.urls('session')[0]!, {
      token: await sessionToken({ langs: ['zh:en'] }),
    });
    fx.open.push(oneDir);
    oneDir.send(init('zh', 'en'));
    const [denied] = await oneDir.next('error');
    expect(denied).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringContaining('en:zh') });
    for (const bad of [
      { lang_a: 'fr', lang_b: 'fr', tgt_lang: 'fr' },
      { lang_b: undefined },
      { lang_a: 'de', lang_b: 'fr' },
      { mode: 'one_way' },
    ]) {
      const p = await RawPeer.connect(fx.cluster.urls('session')[0]!);
      fx.open.push(p);
      p.send(init('fr', 'de', bad));
      const [e] = await p.next('error');
      expect(e).toMatchObject({ code: 'BAD_MESSAGE' });
    }
  });

  it('a result without a valid direction is refused and fails over to another node', async () => {
    // One node says no direction, one a direction outside the pair: each attempt is refused.
    const none = await rawNode(fx.cluster.urls('node')[1]!, 'tw-none', { direction: null, heartbeatMs: 100 });
    const outside = await rawNode(fx.cluster.urls('node')[0]!, 'tw-outside', {
      direction: { src: 'zh', tgt: 'fr' },
      heartbeatMs: 100,
    });
    fx.open.push(none, outside);
    const s = await RawPeer.connect(fx.cluster.urls('session')[0]!);
    fx.open.push(s);
    s.send(init('zh', 'en'));
    await s.next('session_init_ack');
    const audio = Buffer.from('which way?');
    s.send({ type: 'utterance', data: audio.toString('base64') });
    for (const bad of [none, outside]) {
      const [e] = await bad.next('error');
      expect(e).toMatchObject({ code: 'BAD_MESSAGE', field: 'src_lang' });
      expect(bad.assigns[0]).toMatchObject({ src_lang: 'zh', tgt_lang: 'en', features: { two_way: true } });
    }
    const good = await rawNode(fx.cluster.urls('node')[0]!, 'tw-good', { heartbeatMs: 100 });
    fx.open.push(good);
    const [r] = await s.next('translation_result');
    expect(r).toMatchObject({ ...expected(audio, 0), node_id: 'tw-good' });
    expect(s.ofType('translation_result')).toHaveLength(1);
    expect(s.ofType('missing_result')).toEqual([]);
  });
});
