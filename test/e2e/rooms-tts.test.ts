/**
 * Speech in meeting rooms (protocol v1.10) with real gateways and SDK simulated nodes: a
 * listener whose session asked `features.tts` gets `tts_audio` in its room results (also in a
 * replay after a resume), the others get none; when it cannot, `tts_skipped` says why.
 */
import { createHash } from 'node:crypto';
import { createSimNode, type SimNodeOptions } from '@lingua/node-sdk';
import { describe, expect, it } from 'vitest';
import { nodeToken } from '../support/auth';
import { useGateways } from '../support/gateways';
import { RawPeer, simOutput } from '../support/peers';

const fx = useGateways(2);

async function simNode(nodeId: string, opts: Partial<SimNodeOptions>) {
  const node = createSimNode({
    urls: [fx.cluster.urls('node')[1]!],
    nodeId,
    token: await nodeToken(nodeId),
    ...opts,
  });
  fx.open.push(node);
  await node.start();
  return node;
}

interface Member {
  peer: RawPeer;
  sid: string;
  token: string;
}

async function member(gw: number, room: string, src: string, tgt: string, listens: string, tts: boolean) {
  const peer = await RawPeer.connect(fx.cluster.urls('session')[gw]!);
  fx.open.push(peer);
  peer.send({
    type: 'session_init',
    src_lang: src,
    tgt_lang: tgt,
    audio_format: 'pcm16',
    sample_rate: 16000,
    ...(tts ? { features: { tts: true } } : {}),
  });
  const [ack] = await peer.next('session_init_ack');
  peer.send({ type: 'room_join', room_id: room, display_name: `${src}-${listens}`, listen_lang: listens });
  await peer.next('room_joined');
  return { peer, sid: ack!.session_id as string, token: ack!.resume_token as string } satisfies Member;
}

/** What the simulated node speaks for `audio`: base64 of the sha256 of the decoded audio. */
const speech = (audio: Buffer) => createHash('sha256').update(audio).digest('base64');

const say = (m: Member, seq: number, audio: Buffer) =>
  m.peer.send({ type: 'utterance', seq, data: audio.toString('base64') });

describe('speech in meeting rooms (v1.10)', () => {
  it('only the listener that asked for speech gets tts_audio, after a resume on the other gateway too', async () => {
    await simNode('tts-1', { asrLangs: ['zh', 'en'], ttsLangs: ['zh', 'en', 'ja'] });
    const ana = await member(0, 'speech', 'zh', 'en', 'en', false); // speaks; reads its own lane
    const bo = await member(1, 'speech', 'en', 'zh', 'ja', true); // lane zh→ja, wants speech
    const chloe = await member(0, 'speech', 'en', 'zh', 'ja', false); // the same lane, text only
    const audios = [0, 1, 2, 3].map((i) => Buffer.from(`Ana speaks #${i} `.repeat(8)));
    say(ana, 0, audios[0]!);
    say(ana, 1, audios[1]!);
    const boGot = await bo.peer.next('room_result', 2);
    const chloeGot = await chloe.peer.next('room_result', 2);
    for (const [i, r] of boGot.entries()) {
      expect(r).toMatchObject({
        utterance_index: i,
        tgt_lang: 'ja',
        text_translated: simOutput(audios[i]!, 'zh', 'ja').text_translated,
        tts_audio: speech(audios[i]!),
        tts_format: 'pcm16',
      });
      expect(r.tts_skipped).toBeUndefined();
    }
    for (const r of chloeGot) {
      expect(r.tts_audio).toBeUndefined();
      expect(r.tts_format).toBeUndefined();
      expect(r.tts_skipped).toBeUndefined();
    }
    // Ana's own job asked for no speech: her own results have none.
    for (const r of await ana.peer.next('translation_result', 2)) expect(r.tts_audio).toBeUndefined();

    // Bo goes away; Ana speaks on; Bo resumes on the other gateway: the replay has the speech.
    bo.peer.ws.terminate();
    say(ana, 2, audios[2]!);
    say(ana, 3, audios[3]!);
    await chloe.peer.next('room_result', 4);
    const bo2 = await RawPeer.connect(fx.cluster.urls('session')[0]!);
    fx.open.push(bo2);
    bo2.send({
      type: 'session_init',
      src_lang: 'en',
      tgt_lang: 'zh',
      audio_format: 'pcm16',
      sample_rate: 16000,
      features: { tts: true },
      resume: {
        session_id: bo.sid,
        resume_token: bo.token,
        last_result_index: -1,
        next_utterance_index: 0,
        last_accepted_seq: -1,
        room_heard: [{ session_id: ana.sid, utterance_index: 1 }],
      },
    });
    await bo2.next('session_init_ack');
    const replay = await bo2.next('room_result', 2);
    expect(replay.map((r) => r.utterance_index)).toEqual([2, 3]);
    for (const r of replay) {
      expect(r.tts_audio).toBe(speech(audios[r.utterance_index as number]!));
      expect(r.tts_format).toBe('pcm16');
    }
  });

  it('a listener that cannot get speech is told why in tts_skipped, never by silence', async () => {
    await simNode('tts-2', { asrLangs: ['zh', 'en'], ttsLangs: ['zh', 'en'] });
    // zh→fr only on a node without TTS.
    await simNode('text-only', { services: ['asr', 'nmt'], asrLangs: ['zh'], ttsLangs: ['fr'] });
    const ana = await member(0, 'skipped', 'zh', 'en', 'en', false);
    const fr = await member(1, 'skipped', 'en', 'zh', 'fr', true); // lane zh→fr: no TTS node
    const en = await member(1, 'skipped', 'en', 'zh', 'en', true); // Ana's own job: no speech asked
    const zh = await member(0, 'skipped', 'en', 'zh', 'zh', true); // Ana's language: transcript
    const frText = await member(0, 'skipped', 'en', 'zh', 'fr', false);
    const audio = Buffer.from('Ana without speech '.repeat(8));
    say(ana, 0, audio);
    const expectations: [Member, string, string | undefined][] = [
      [fr, 'fr', 'no_tts_node'],
      [en, 'en', 'speaker_without_tts'],
      [zh, 'zh', 'transcript'],
      [frText, 'fr', undefined],
    ];
    for (const [m, lang, skipped] of expectations) {
      const [r] = await m.peer.next('room_result');
      const out = simOutput(audio, 'zh', lang);
      expect(r).toMatchObject({
        tgt_lang: lang,
        text_translated: lang === 'zh' ? out.text_asr : out.text_translated,
      });
      expect(r!.tts_audio).toBeUndefined();
      expect(r!.tts_skipped).toBe(skipped);
    }
    expect(fr.peer.ofType('room_missing_result')).toHaveLength(0);

    // A speaker whose own session asked for speech: its tgt_lang listeners that want it get it.
    const eve = await member(1, 'skipped', 'zh', 'en', 'en', true);
    const eveAudio = Buffer.from('Eve with speech '.repeat(8));
    say(eve, 0, eveAudio);
    const [fromEve] = (await en.peer.next('room_result', 2)).slice(1);
    expect(fromEve).toMatchObject({
      speaker: { session_id: eve.sid },
      text_translated: simOutput(eveAudio, 'zh', 'en').text_translated,
      tts_audio: speech(eveAudio),
      tts_format: 'pcm16',
    });
    expect(fromEve!.tts_skipped).toBeUndefined();
    // The transcript listener wanting speech is still told why it has none.
    const [zhFromEve] = (await zh.peer.next('room_result', 2)).slice(1);
    expect(zhFromEve).toMatchObject({ speaker: { session_id: eve.sid }, tts_skipped: 'transcript' });
    expect(zhFromEve!.tts_audio).toBeUndefined();
  });
});
