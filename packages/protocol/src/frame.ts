/** Turns a WebSocket frame (text or binary) into a string, enforcing the byte limit. */

/** Used when the caller passes no `maxBytes`; the gateway should pass its configured limit. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

export type FrameData = string | ArrayBuffer | ArrayBufferView;

export type DecodeResult =
  | { ok: true; text: string }
  | { ok: false; code: 'BAD_MESSAGE' | 'PAYLOAD_TOO_LARGE'; message: string };

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Exact UTF-8 size of a JS string (lone surrogates count as the 3-byte U+FFFD). */
export function utf8ByteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** The refusal of a frame of `size` bytes over `max` (text and binary frames alike). */
export function frameTooLarge(
  size: string,
  max: number,
): { ok: false; code: 'PAYLOAD_TOO_LARGE'; message: string } {
  return { ok: false, code: 'PAYLOAD_TOO_LARGE', message: `frame is ${size} bytes, limit is ${max}` };
}

export function decodeFrame(data: unknown, maxBytes: number): DecodeResult {
  if (typeof data === 'string') {
    // Every UTF-16 unit is 1..3 UTF-8 bytes, so most frames skip the exact count.
    if (data.length > maxBytes) return frameTooLarge(`at least ${data.length}`, maxBytes);
    if (data.length * 3 > maxBytes) {
      const n = utf8ByteLength(data);
      if (n > maxBytes) return frameTooLarge(String(n), maxBytes);
    }
    return { ok: true, text: data };
  }
  let bytes: Uint8Array;
  if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  else return { ok: false, code: 'BAD_MESSAGE', message: 'frame must be text or binary' };
  if (bytes.byteLength > maxBytes) return frameTooLarge(String(bytes.byteLength), maxBytes);
  try {
    return { ok: true, text: decoder.decode(bytes) };
  } catch {
    return { ok: false, code: 'BAD_MESSAGE', message: 'frame is not valid UTF-8' };
  }
}
