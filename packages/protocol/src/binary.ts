/**
 * Binary audio frames: the audio as raw bytes instead of base64 inside JSON (a third fewer
 * bytes on the wire, no base64 on either side, no audio in a JSON string). Layout
 * (docs/protocol.md, "Binary frames"):
 *
 *   byte 0      0x01  format 1 (never the first byte of a JSON text)
 *   byte 1      kind: 0x01 job_assign (v1.12, gateway → node),
 *                     0x02 audio_chunk, 0x03 utterance (v1.13, client → gateway),
 *                     0x04 job_result (v1.13, node → gateway, its TTS),
 *                     0x05 translation_result, 0x06 room_result (v1.13, gateway → client, TTS)
 *   bytes 2..3  0x00 0x00 (reserved)
 *   bytes 4..7  header length N, unsigned 32-bit big-endian
 *   bytes 8..   N bytes of UTF-8 JSON: the frame's object with its audio field ("audio" for
 *               job_assign, "data" for client audio, "tts_audio" for results) set to ""
 *   then        the audio bytes, to the end of the frame
 *
 * Pure, dependency-free (browsers too).
 */

export const BINARY_FORMAT = 0x01;
export const BINARY_KIND_JOB_ASSIGN = 0x01;
/** v1.13: client → gateway */
export const BINARY_KIND_AUDIO_CHUNK = 0x02;
export const BINARY_KIND_UTTERANCE = 0x03;
/** v1.13: node → gateway, a job_result's TTS */
export const BINARY_KIND_JOB_RESULT = 0x04;
/** v1.13: gateway → client (sessions that asked `session_init.binary_audio`), the TTS */
export const BINARY_KIND_TRANSLATION_RESULT = 0x05;
export const BINARY_KIND_ROOM_RESULT = 0x06;
const HEADER_BYTES = 8;

export type BinarySender = 'gateway' | 'client' | 'node';

/** Each kind's message type, the JSON field its audio replaces, and who may send it. */
const KINDS: Record<number, { type: string; field: string; from: BinarySender }> = {
  [BINARY_KIND_JOB_ASSIGN]: { type: 'job_assign', field: 'audio', from: 'gateway' },
  [BINARY_KIND_AUDIO_CHUNK]: { type: 'audio_chunk', field: 'data', from: 'client' },
  [BINARY_KIND_UTTERANCE]: { type: 'utterance', field: 'data', from: 'client' },
  [BINARY_KIND_JOB_RESULT]: { type: 'job_result', field: 'tts_audio', from: 'node' },
  [BINARY_KIND_TRANSLATION_RESULT]: { type: 'translation_result', field: 'tts_audio', from: 'gateway' },
  [BINARY_KIND_ROOM_RESULT]: { type: 'room_result', field: 'tts_audio', from: 'gateway' },
};

/** Who may send a binary kind (undefined for an unknown kind). */
export function binaryKindSender(kind: number): BinarySender | undefined {
  return KINDS[kind]?.from;
}

/** The message type of a binary kind (undefined for an unknown kind). */
export function binaryKindType(kind: number): string | undefined {
  return KINDS[kind]?.type;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** True when `bytes` starts like a binary frame (a JSON text never starts with 0x01). */
export function isBinaryFrame(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === BINARY_FORMAT;
}

function encode(kind: number, frame: Record<string, unknown>, audio: Uint8Array): Uint8Array {
  const header = encoder.encode(JSON.stringify({ ...frame, [KINDS[kind]!.field]: '' }));
  const out = new Uint8Array(HEADER_BYTES + header.length + audio.length);
  out[0] = BINARY_FORMAT;
  out[1] = kind;
  new DataView(out.buffer).setUint32(4, header.length, false);
  out.set(header, HEADER_BYTES);
  out.set(audio, HEADER_BYTES + header.length);
  return out;
}

/** The binary frame of a `job_assign` whose `audio` field is replaced by `audio`'s bytes. */
export function encodeBinaryJobAssign(frame: Record<string, unknown>, audio: Uint8Array): Uint8Array {
  return encode(BINARY_KIND_JOB_ASSIGN, frame, audio);
}

/**
 * v1.13: the binary frame of a client's `audio_chunk` or `utterance` whose `data` field is
 * replaced by `audio`'s bytes. Send it only to a gateway whose `session_init_ack` said
 * `binary_audio: true`.
 */
export function encodeBinaryAudio(
  frame: { type: 'audio_chunk' | 'utterance' } & Record<string, unknown>,
  audio: Uint8Array,
): Uint8Array {
  return encode(frame.type === 'utterance' ? BINARY_KIND_UTTERANCE : BINARY_KIND_AUDIO_CHUNK, frame, audio);
}

const TTS_KINDS = {
  job_result: BINARY_KIND_JOB_RESULT,
  translation_result: BINARY_KIND_TRANSLATION_RESULT,
  room_result: BINARY_KIND_ROOM_RESULT,
} as const;

/**
 * v1.13: the binary frame of a result whose `tts_audio` is replaced by `tts`'s bytes: a node's
 * `job_result` (to a gateway whose `node_register_ack` said `binary_audio`), a gateway's
 * `translation_result` / `room_result` (to a session that asked `session_init.binary_audio`).
 */
export function encodeBinaryTts(
  frame: { type: keyof typeof TTS_KINDS } & Record<string, unknown>,
  tts: Uint8Array,
): Uint8Array {
  return encode(TTS_KINDS[frame.type], frame, tts);
}

export type BinaryFrame =
  | { ok: true; kind: number; frame: Record<string, unknown> & { type: string }; audio: Uint8Array }
  | { ok: false; message: string; field?: string };

/**
 * Splits a binary frame into its JSON header (parsed, the audio field still "") and the audio
 * bytes (a view into `bytes`, not a copy). Checks the layout, that the kind is known, that the
 * header's `type` is the kind's and that its audio field is "". Never throws.
 */
export function decodeBinaryFrame(bytes: Uint8Array): BinaryFrame {
  if (bytes.length < HEADER_BYTES)
    return { ok: false, message: 'binary frame shorter than its 8-byte header' };
  if (bytes[0] !== BINARY_FORMAT) return { ok: false, message: `unknown binary frame format ${bytes[0]}` };
  const kind = KINDS[bytes[1]!];
  if (kind === undefined) return { ok: false, message: `unknown binary frame kind ${bytes[1]}` };
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, false);
  if (n > bytes.length - HEADER_BYTES)
    return { ok: false, message: 'binary frame header length past the frame' };
  let frame: unknown;
  try {
    frame = JSON.parse(decoder.decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + n)));
  } catch {
    return { ok: false, message: 'binary frame header is not UTF-8 JSON' };
  }
  if (!frame || typeof frame !== 'object' || (frame as { type?: unknown }).type !== kind.type) {
    return {
      ok: false,
      message: `binary frame header is not a ${kind.type} (kind ${bytes[1]})`,
      field: 'type',
    };
  }
  if ((frame as Record<string, unknown>)[kind.field] !== '') {
    return {
      ok: false,
      message: `${kind.field}: must be "" in a binary frame (the audio follows the header)`,
      field: kind.field,
    };
  }
  return {
    ok: true,
    kind: bytes[1]!,
    frame: frame as Record<string, unknown> & { type: string },
    audio: bytes.subarray(HEADER_BYTES + n),
  };
}

export type BinaryJobAssign =
  | { ok: true; frame: Record<string, unknown> & { type: string }; audio: Uint8Array }
  | { ok: false; message: string };

/** A binary `job_assign` (v1.12): `decodeBinaryFrame` limited to that kind. Never throws. */
export function decodeBinaryJobAssign(bytes: Uint8Array): BinaryJobAssign {
  const d = decodeBinaryFrame(bytes);
  if (!d.ok) return { ok: false, message: d.message };
  if (d.kind !== BINARY_KIND_JOB_ASSIGN) return { ok: false, message: 'binary frame is not a job_assign' };
  return { ok: true, frame: d.frame, audio: d.audio };
}
