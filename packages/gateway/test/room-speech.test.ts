import type { LoggedOutcome } from '@lingua/cluster';
import { describe, expect, it } from 'vitest';
import { roomSpeech, withoutSpeech } from '../src/room-seat';

const result = (tts?: Uint8Array): Extract<LoggedOutcome, { kind: 'result' }> => ({
  index: 3,
  kind: 'result',
  result: {
    job_id: 'j',
    utterance_index: 3,
    src_lang: 'zh',
    tgt_lang: 'ja',
    text_asr: 'a',
    text_translated: 't',
    ...(tts ? { tts_audio: tts, tts_format: 'opus' } : {}),
    node_id: 'n',
    timings: { queue_ms: 0, node_ms: 0, total_ms: 0 },
  },
});

describe('room speech (v1.10)', () => {
  it('gives the audio, or says why there is none', () => {
    const audio = new Uint8Array([1, 2, 3]);
    expect(roomSpeech(result(audio).result, false, false, false)).toEqual({
      tts_audio: 'AQID',
      tts_format: 'opus',
    });
    // A transcript listener reads the speaker's own lane: its audio speaks another language.
    expect(roomSpeech(result(audio).result, true, true, true)).toEqual({ tts_skipped: 'transcript' });
    expect(roomSpeech(result().result, false, false, false)).toEqual({ tts_skipped: 'no_tts_node' });
    expect(roomSpeech(result().result, false, true, false)).toEqual({ tts_skipped: 'speaker_without_tts' });
    expect(roomSpeech(result().result, false, true, true)).toEqual({ tts_skipped: 'no_tts_node' });
  });

  it('strips speech from what listeners without TTS are sent, and nothing else', () => {
    const o = result(new Uint8Array([1]));
    const s = withoutSpeech(o);
    expect(s.kind === 'result' && ('tts_audio' in s.result || 'tts_format' in s.result)).toBe(false);
    expect(s).toEqual({ ...o, result: { ...o.result, tts_audio: undefined, tts_format: undefined } });
    expect(o.result.tts_audio).toBeDefined(); // the original is untouched
    const plain = result();
    expect(withoutSpeech(plain)).toBe(plain);
    const missing: LoggedOutcome = { index: 1, kind: 'missing', reason: 'timeout', jobId: 'j' };
    expect(withoutSpeech(missing)).toBe(missing);
  });
});
