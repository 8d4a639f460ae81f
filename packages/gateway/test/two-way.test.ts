import type { SessionInit } from '@lingua/protocol';
import { describe, expect, it } from 'vitest';
import { checkTwoWayInit, resultDirection } from '../src/two-way';

const base: SessionInit = {
  type: 'session_init',
  src_lang: 'zh',
  tgt_lang: 'en',
  audio_format: 'pcm16',
  sample_rate: 16000,
};

describe('two-way checks (v1.11)', () => {
  it('session_init: one-way untouched; two-way needs distinct lang_a/lang_b = src/tgt, no tts', () => {
    expect(checkTwoWayInit(base)).toBeNull();
    expect(checkTwoWayInit({ ...base, mode: 'one_way' })).toBeNull();
    expect(checkTwoWayInit({ ...base, mode: 'two_way', lang_a: 'zh', lang_b: 'en' })).toBeNull();
    expect(checkTwoWayInit({ ...base, lang_a: 'zh' })).toMatchObject({ field: 'mode' });
    expect(checkTwoWayInit({ ...base, mode: 'two_way', lang_a: 'zh' })).toMatchObject({ field: 'lang_a' });
    expect(
      checkTwoWayInit({ ...base, tgt_lang: 'zh', mode: 'two_way', lang_a: 'zh', lang_b: 'zh' }),
    ).toMatchObject({ field: 'lang_b' });
    expect(checkTwoWayInit({ ...base, mode: 'two_way', lang_a: 'en', lang_b: 'zh' })).toMatchObject({
      field: 'src_lang',
    });
    expect(
      checkTwoWayInit({ ...base, mode: 'two_way', lang_a: 'zh', lang_b: 'en', features: { tts: true } }),
    ).toMatchObject({ field: 'features' });
  });

  it('result direction: the pair or its reverse for two-way; the assignment for one-way', () => {
    expect(resultDirection({}, 'zh', 'en', false)).toEqual({ src: 'zh', tgt: 'en' });
    expect(resultDirection({ src_lang: 'fr', tgt_lang: 'de' }, 'zh', 'en', false)).toEqual({
      src: 'zh',
      tgt: 'en',
    });
    expect(resultDirection({ src_lang: 'zh', tgt_lang: 'en' }, 'zh', 'en', true)).toEqual({
      src: 'zh',
      tgt: 'en',
    });
    expect(resultDirection({ src_lang: 'en', tgt_lang: 'zh' }, 'zh', 'en', true)).toEqual({
      src: 'en',
      tgt: 'zh',
    });
    expect(resultDirection({}, 'zh', 'en', true)).toBeNull();
    expect(resultDirection({ src_lang: 'zh' }, 'zh', 'en', true)).toBeNull();
    expect(resultDirection({ src_lang: 'zh', tgt_lang: 'zh' }, 'zh', 'en', true)).toBeNull();
    expect(resultDirection({ src_lang: 'zh', tgt_lang: 'fr' }, 'zh', 'en', true)).toBeNull();
  });
});
