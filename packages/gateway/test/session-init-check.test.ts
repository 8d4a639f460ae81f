import { describe, expect, it } from 'vitest';
import { BYTE_RATE_MAX, checkSessionInit, FEATURES_MAX_BYTES } from '../src/session-init-check';

const init = {
  type: 'session_init',
  src_lang: 'zh',
  tgt_lang: 'en',
  audio_format: 'opus',
  sample_rate: 16000,
} as const;

describe('checkSessionInit', () => {
  it('accepts a plain init and a sensible byte_rate', () => {
    expect(checkSessionInit({ ...init })).toBeNull();
    expect(checkSessionInit({ ...init, byte_rate: 4000 } as never)).toBeNull();
    expect(checkSessionInit({ ...init, features: { tts: true } })).toBeNull();
  });

  it('names byte_rate when it is absurd, and features when too large', () => {
    for (const byte_rate of [1e308, -1, 0, 1, BYTE_RATE_MAX + 1, '4000', null]) {
      expect(checkSessionInit({ ...init, byte_rate } as never)?.field).toBe('byte_rate');
    }
    const features = { tts: true, blob: 'x'.repeat(FEATURES_MAX_BYTES) } as never;
    expect(checkSessionInit({ ...init, features })).toMatchObject({ field: 'features' });
  });
});
