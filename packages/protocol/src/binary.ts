/**
 * Binary `job_assign` frames (protocol v1.12): a node that registers with `binary_audio: true`
 * gets its assignments as binary WebSocket frames, the audio as raw bytes instead of base64
 * inside JSON (a third fewer bytes on the wire, no base64 on either side, no audio in a JSON
 * string). Layout (docs/protocol.md, "Binary job_assign"):
 *
 *   byte 0      0x01  format 1 (never the first byte of a JSON text)
 *   byte 1      0x01  kind: job_assign
 *   bytes 2..3  0x00 0x00 (reserved)
 *   bytes 4..7  header length N, unsigned 32-bit big-endian
 *   bytes 8..   N bytes of UTF-8 JSON: the `job_assign` object with `"audio": ""`
 *   then        the audio bytes, to the end of the frame
 *
 * Pure, dependency-free (browsers too).
 */

export const BINARY_FORMAT = 0x01;
export const BINARY_KIND_JOB_ASSIGN = 0x01;
const HEADER_BYTES = 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The binary frame of a `job_assign` whose `audio` field is replaced by `audio`'s bytes. */
export function encodeBinaryJobAssign(frame: Record<string, unknown>, audio: Uint8Array): Uint8Array {
  const header = encoder.encode(JSON.stringify({ ...frame, audio: '' }));
  const out = new Uint8Array(HEADER_BYTES + header.length + audio.length);
  out[0] = BINARY_FORMAT;
  out[1] = BINARY_KIND_JOB_ASSIGN;
  new DataView(out.buffer).setUint32(4, header.length, false);
  out.set(header, HEADER_BYTES);
  out.set(audio, HEADER_BYTES + header.length);
  return out;
}

export type BinaryJobAssign =
  | { ok: true; frame: Record<string, unknown> & { type: string }; audio: Uint8Array }
  | { ok: false; message: string };

/**
 * Splits a binary `job_assign` frame into its JSON header (parsed, `audio` still "") and the
 * audio bytes (a view into `bytes`, not a copy). Never throws.
 */
export function decodeBinaryJobAssign(bytes: Uint8Array): BinaryJobAssign {
  if (bytes.length < HEADER_BYTES)
    return { ok: false, message: 'binary frame shorter than its 8-byte header' };
  if (bytes[0] !== BINARY_FORMAT) return { ok: false, message: `unknown binary frame format ${bytes[0]}` };
  if (bytes[1] !== BINARY_KIND_JOB_ASSIGN)
    return { ok: false, message: `unknown binary frame kind ${bytes[1]}` };
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, false);
  if (n > bytes.length - HEADER_BYTES)
    return { ok: false, message: 'binary frame header length past the frame' };
  let frame: unknown;
  try {
    frame = JSON.parse(decoder.decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + n)));
  } catch {
    return { ok: false, message: 'binary frame header is not UTF-8 JSON' };
  }
  if (!frame || typeof frame !== 'object' || (frame as { type?: unknown }).type !== 'job_assign') {
    return { ok: false, message: 'binary frame header is not a job_assign' };
  }
  return {
    ok: true,
    frame: frame as Record<string, unknown> & { type: string },
    audio: bytes.subarray(HEADER_BYTES + n),
  };
}
