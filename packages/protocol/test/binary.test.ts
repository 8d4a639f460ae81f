/**
 * Binary `job_assign` frames (v1.12): the layout docs/protocol.md documents, round trips, and
 * every malformed frame refused with a reason and no exception.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeBinaryJobAssign,
  encodeBinaryAudio,
  encodeBinaryJobAssign,
  isBinaryFrame,
} from '../src/binary';
import { parseClientBinaryFrame } from '../src/parse';

const frame = {
  type: 'job_assign',
  job_id: 's.1',
  attempt: 1,
  src_lang: 'zh',
  tgt_lang: 'en',
  audio: 'ignored',
};

describe('binary job_assign', () => {
  it('lays out format, kind, reserved, big-endian header length, JSON with "audio": "", then the audio', () => {
    const audio = new Uint8Array([9, 8, 7]);
    const b = encodeBinaryJobAssign(frame, audio);
    const header = new TextEncoder().encode(JSON.stringify({ ...frame, audio: '' }));
    expect([...b.subarray(0, 4)]).toEqual([1, 1, 0, 0]);
    expect(new DataView(b.buffer).getUint32(4, false)).toBe(header.length);
    expect([...b.subarray(8, 8 + header.length)]).toEqual([...header]);
    expect([...b.subarray(8 + header.length)]).toEqual([9, 8, 7]);
  });

  it('round-trips any header and audio', () => {
    fc.assert(
      fc.property(fc.string(), fc.uint8Array({ maxLength: 4096 }), (text, audio) => {
        const d = decodeBinaryJobAssign(encodeBinaryJobAssign({ ...frame, context: text }, audio));
        expect(d.ok).toBe(true);
        if (!d.ok) return;
        expect(d.frame).toEqual({ ...frame, context: text, audio: '' });
        expect([...d.audio]).toEqual([...audio]);
      }),
    );
  });

  it('refuses malformed frames with a reason, never throwing', () => {
    const good = encodeBinaryJobAssign(frame, new Uint8Array([1]));
    const bad = (b: Uint8Array) => decodeBinaryJobAssign(b);
    expect(bad(good.subarray(0, 7))).toMatchObject({ ok: false, message: /shorter than its 8-byte header/ });
    expect(bad(Uint8Array.from([2, ...good.subarray(1)]))).toMatchObject({ ok: false, message: /format 2/ });
    expect(bad(Uint8Array.from([1, 9, ...good.subarray(2)]))).toMatchObject({ ok: false, message: /kind 9/ });
    const long = Uint8Array.from(good);
    new DataView(long.buffer).setUint32(4, 0xffffffff, false);
    expect(bad(long)).toMatchObject({ ok: false, message: /past the frame/ });
    const notJson = Uint8Array.from([1, 1, 0, 0, 0, 0, 0, 2, 0x7b, 0xff]);
    expect(bad(notJson)).toMatchObject({ ok: false, message: /not UTF-8 JSON/ });
    const other = encodeBinaryJobAssign({ type: 'job_cancel' }, new Uint8Array());
    expect(bad(other)).toMatchObject({ ok: false, message: /not a job_assign/ });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (junk) => {
        expect(() => decodeBinaryJobAssign(junk)).not.toThrow();
      }),
    );
  });
});

describe('binary client audio (v1.13)', () => {
  const chunk = { type: 'audio_chunk' as const, seq: 4, is_final: true };

  it('audio_chunk is kind 2, utterance kind 3, with "data": "" in the header', () => {
    const audio = new Uint8Array([1, 2, 3, 4]);
    const b = encodeBinaryAudio({ ...chunk, data: 'ignored' }, audio);
    expect([...b.subarray(0, 4)]).toEqual([1, 2, 0, 0]);
    const n = new DataView(b.buffer).getUint32(4, false);
    expect(JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n)))).toEqual({ ...chunk, data: '' });
    expect([...b.subarray(8 + n)]).toEqual([1, 2, 3, 4]);
    expect(encodeBinaryAudio({ type: 'utterance', seq: 1 }, audio)[1]).toBe(3);
    expect(isBinaryFrame(b)).toBe(true);
    expect(isBinaryFrame(new TextEncoder().encode('{"type":"audio_chunk"}'))).toBe(false);
  });

  it('parses into the same message a text frame gives, plus the audio bytes', () => {
    fc.assert(
      fc.property(fc.nat(), fc.boolean(), fc.uint8Array({ maxLength: 2048 }), (seq, isFinal, audio) => {
        const p = parseClientBinaryFrame(
          encodeBinaryAudio({ type: 'audio_chunk', seq, is_final: isFinal }, audio),
        );
        expect(p.ok).toBe(true);
        if (!p.ok) return;
        expect(p.msg).toEqual({ type: 'audio_chunk', seq, is_final: isFinal, data: '' });
        expect([...p.audio]).toEqual([...audio]);
      }),
    );
    const u = parseClientBinaryFrame(encodeBinaryAudio({ type: 'utterance' }, new Uint8Array([7])));
    expect(u).toMatchObject({ ok: true, msg: { type: 'utterance', data: '' } });
  });

  it('refuses what a client must not send, naming the field; never throws', () => {
    const audio = new Uint8Array([1]);
    const p = (b: Uint8Array, max?: number) => parseClientBinaryFrame(b, max ? { maxBytes: max } : undefined);
    expect(p(encodeBinaryJobAssign(frame, audio))).toMatchObject({
      ok: false,
      code: 'BAD_MESSAGE',
      message: /kind 1 is not sent by clients/,
      field: 'type',
    });
    expect(p(encodeBinaryAudio({ type: 'audio_chunk', seq: 1.5 }, audio))).toMatchObject({
      ok: false,
      code: 'BAD_MESSAGE',
      field: 'seq',
    });
    expect(p(encodeBinaryAudio({ type: 'audio_chunk' } as never, audio))).toMatchObject({
      ok: false,
      field: 'seq',
    });
    const big = encodeBinaryAudio(chunk, new Uint8Array(100));
    expect(p(big, 64)).toMatchObject({ ok: false, code: 'PAYLOAD_TOO_LARGE', message: /limit is 64/ });
    // A header whose data is not "": the audio belongs after the header, not in it.
    const header = new TextEncoder().encode(JSON.stringify({ ...chunk, data: 'AQ==' }));
    const withData = new Uint8Array(8 + header.length);
    withData.set([1, 2, 0, 0]);
    new DataView(withData.buffer).setUint32(4, header.length, false);
    withData.set(header, 8);
    expect(p(withData)).toMatchObject({ ok: false, field: 'data', message: /must be ""/ });
    // Deeply nested headers are refused like deep text frames.
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { x: deep };
    expect(p(encodeBinaryAudio({ ...chunk, extra: deep }, audio))).toMatchObject({
      ok: false,
      message: /nests deeper/,
    });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 255 }), (junk, kind) => {
        const b = Uint8Array.from([1, kind, 0, 0, ...junk]);
        expect(() => parseClientBinaryFrame(b)).not.toThrow();
        expect(() => parseClientBinaryFrame(junk)).not.toThrow();
      }),
    );
  });
});
