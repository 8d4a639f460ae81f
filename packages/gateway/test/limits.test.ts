import { describe, expect, it } from 'vitest';
import {
  base64Bytes,
  checkJobResult,
  checkNodeRegister,
  poolCount,
  storedFeatures,
  storedHardware,
} from '../src/limits';

const lim = { maxHardwareBytes: 100, maxNodePools: 4, maxTtsBytes: 10 };
const reg = (over: Record<string, unknown> = {}) =>
  ({
    type: 'node_register',
    node_id: 'n',
    services: ['asr', 'nmt'],
    asr_langs: ['zh', 'en'],
    tts_langs: ['zh', 'en', 'ja'],
    max_concurrent_jobs: 1,
    ...over,
  }) as never;

describe('node and result limits (pure)', () => {
  it('counts pools like the registry: asr × tts, src ≠ tgt, duplicates once, only with asr + nmt', () => {
    expect(poolCount(reg())).toBe(4);
    expect(poolCount(reg({ asr_langs: ['zh', 'zh'], tts_langs: ['zh', 'en', 'en'] }))).toBe(1);
    expect(poolCount(reg({ services: ['asr', 'tts'] }))).toBe(0);
    const langs = Array.from({ length: 16 }, (_, i) => `l${i}`);
    expect(poolCount(reg({ asr_langs: langs, tts_langs: langs }))).toBe(240);
  });

  it('refuses too many pools and oversized hardware, naming the field', () => {
    expect(checkNodeRegister(reg(), lim)).toBeNull();
    expect(checkNodeRegister(reg({ tts_langs: ['zh', 'en', 'ja', 'ko'] }), lim)).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      field: 'tts_langs',
    });
    const p = checkNodeRegister(reg({ hardware: { cpu_cores: 1, junk: 'x'.repeat(200) } }), lim);
    expect(p).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'hardware' });
    expect(p!.message).toMatch(/hardware is 2\d\d bytes as JSON, the limit is 100/);
  });

  it('stores only the defined hardware fields and feature switches', () => {
    expect(storedHardware(undefined)).toBeNull();
    expect(
      storedHardware({ gpus: [{ name: 'A', memory_mb: 1, x: 2 } as never], cpu_cores: 2, junk: 1 } as never),
    ).toEqual({ gpus: [{ name: 'A', memory_mb: 1 }], cpu_cores: 2 });
    expect(storedFeatures(undefined)).toEqual({});
    expect(storedFeatures({ tts: true, deep: { a: 1 } } as never)).toEqual({ tts: true });
    expect(storedFeatures({ partial: true, junk: 1 } as never)).toEqual({ partial: true });
  });

  it('bounds decoded TTS audio', () => {
    const b64 = (n: number) => Buffer.alloc(n).toString('base64');
    for (const n of [0, 1, 2, 3, 10, 11]) expect(base64Bytes(b64(n))).toBe(n);
    const ok = {
      type: 'job_result',
      job_id: 'j.1',
      attempt: 1,
      success: true,
      text_asr: '',
      text_translated: '',
    };
    expect(checkJobResult({ ...ok, tts_audio: b64(10) } as never, lim)).toBeNull();
    expect(checkJobResult({ ...ok, tts_audio: b64(11) } as never, lim)).toMatchObject({ field: 'tts_audio' });
    // v1.13: a binary job_result's bytes (its tts_audio is "") are held to the same limit.
    const bin = { ...ok, tts_audio: '' } as never;
    expect(checkJobResult(bin, lim, new Uint8Array(10))).toBeNull();
    expect(checkJobResult(bin, lim, new Uint8Array(11))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      field: 'tts_audio',
      message: expect.stringMatching(/11 bytes, the limit is 10/),
    });
    expect(
      checkJobResult({ ...ok, success: false, error: { code: 'X', message: '' } } as never, lim),
    ).toBeNull();
  });
});
