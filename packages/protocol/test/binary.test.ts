/**
 * Binary `job_assign` frames (v1.12): the layout docs/protocol.md documents, round trips, and
 * every malformed frame refused with a reason and no exception.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBinaryJobAssign, encodeBinaryJobAssign } from '../src/binary';

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
