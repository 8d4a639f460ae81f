/**
 * Frame parsers for the four directions. They never throw: every outcome is a value.
 * Fast path: size check, JSON.parse, one Map lookup on `type`, one compiled check.
 */
import { binaryKindSender, decodeBinaryFrame } from './binary';
import { MAX_FRAME_DEPTH, withinDepth } from './depth';
import { jsonTypeOf } from './describe';
import { DEFAULT_MAX_FRAME_BYTES, decodeFrame, type FrameData, frameTooLarge } from './frame';
import {
  type ClientMessage,
  ClientMessageSchemas,
  type NodeMessage,
  NodeMessageSchemas,
  type ServerToClientMessage,
  ServerToClientMessageSchemas,
  type ServerToNodeMessage,
  ServerToNodeMessageSchemas,
} from './schemas/messages';
import { compileDirection, type MessageValidator } from './validate';

export interface ParseOptions {
  /** Largest accepted frame in bytes (UTF-8); default `DEFAULT_MAX_FRAME_BYTES`. */
  maxBytes?: number;
}

export type ParseErrorCode = 'BAD_MESSAGE' | 'PAYLOAD_TOO_LARGE';

export interface ParseFailure {
  ok: false;
  code: ParseErrorCode;
  /** Dotted path of the offending field, e.g. `seq`, `resume.session_id`, `services[1]`. */
  field?: string;
  message: string;
  /** The frame's `type` when it was a known message type. */
  messageType?: string;
}

export interface ParseSuccess<M> {
  ok: true;
  msg: M;
}

export type ParseResult<M> = ParseSuccess<M> | ParseFailure;

function badMessage(message: string, field?: string, messageType?: string): ParseFailure {
  const out: ParseFailure = { ok: false, code: 'BAD_MESSAGE', message };
  if (field !== undefined) out.field = field;
  if (messageType !== undefined) out.messageType = messageType;
  return out;
}

function validateWith<M>(validators: ReadonlyMap<string, MessageValidator>, value: unknown): ParseResult<M> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return badMessage('frame must be a JSON object');
  }
  const obj = value as Record<string, unknown>;
  const type = obj.type;
  if (type === undefined) return badMessage('type: missing', 'type');
  if (typeof type !== 'string') return badMessage(`type: expected string, got ${jsonTypeOf(type)}`, 'type');
  const validator = validators.get(type);
  if (validator === undefined) {
    const shown = type.length > 64 ? `${type.slice(0, 64)}…` : type;
    return badMessage(`type: unknown message type ${JSON.stringify(shown)}`, 'type');
  }
  if (validator.check(obj)) return { ok: true, msg: obj as M };
  const { field, message } = validator.explain(obj);
  return badMessage(message, field, type);
}

function makeParsers<M>(validators: ReadonlyMap<string, MessageValidator>) {
  const validate = (value: unknown): ParseResult<M> => {
    try {
      return validateWith<M>(validators, value);
    } catch {
      return badMessage('frame could not be validated');
    }
  };
  const parse = (data: FrameData, opts?: ParseOptions): ParseResult<M> => {
    try {
      const decoded = decodeFrame(data, opts?.maxBytes ?? DEFAULT_MAX_FRAME_BYTES);
      if (!decoded.ok) return { ok: false, code: decoded.code, message: decoded.message };
      let value: unknown;
      try {
        value = JSON.parse(decoded.text);
      } catch {
        return badMessage('frame is not valid JSON');
      }
      if (!withinDepth(value)) return badMessage(`frame nests deeper than ${MAX_FRAME_DEPTH} levels`);
      return validateWith<M>(validators, value);
    } catch {
      return badMessage('frame could not be validated');
    }
  };
  return { parse, validate, validators };
}

const client = makeParsers<ClientMessage>(compileDirection(ClientMessageSchemas));
const serverToClient = makeParsers<ServerToClientMessage>(compileDirection(ServerToClientMessageSchemas));
const node = makeParsers<NodeMessage>(compileDirection(NodeMessageSchemas));
const serverToNode = makeParsers<ServerToNodeMessage>(compileDirection(ServerToNodeMessageSchemas));

/** Gateway, `ws /ws/session`: a frame from a client. */
export const parseClientFrame = client.parse;
/** Gateway, `ws /ws/node`: a frame from a compute node. */
export const parseNodeFrame = node.parse;
/** Client SDK: a frame from the server. */
export const parseServerToClientFrame = serverToClient.parse;
/** Node SDK: a frame from the server. */
export const parseServerToNodeFrame = serverToNode.parse;

/** The same checks for values that are already decoded (e.g. read back from Redis). */
export const validateClientMessage = client.validate;
export const validateNodeMessage = node.validate;
export const validateServerToClientMessage = serverToClient.validate;
export const validateServerToNodeMessage = serverToNode.validate;

export interface BinaryParseSuccess<M> extends ParseSuccess<M> {
  /** The audio bytes: a view into the frame, valid as long as the frame's bytes are. */
  audio: Uint8Array;
}

/** Decodes a binary frame of one of `types` and validates its header like a text frame. */
function parseBinary<M>(
  bytes: Uint8Array,
  opts: ParseOptions | undefined,
  from: 'client' | 'node',
  validators: ReadonlyMap<string, MessageValidator>,
): BinaryParseSuccess<M> | ParseFailure {
  try {
    const max = opts?.maxBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (bytes.byteLength > max) return frameTooLarge(String(bytes.byteLength), max);
    const d = decodeBinaryFrame(bytes);
    if (!d.ok) return badMessage(d.message, d.field);
    if (binaryKindSender(d.kind) !== from) {
      return badMessage(`binary frame kind ${d.kind} (${d.frame.type}) is not sent by ${from}s`, 'type');
    }
    if (!withinDepth(d.frame)) return badMessage(`frame nests deeper than ${MAX_FRAME_DEPTH} levels`);
    const v = validateWith<M>(validators, d.frame);
    return v.ok ? { ok: true, msg: v.msg, audio: d.audio } : v;
  } catch {
    return badMessage('frame could not be validated');
  }
}

/**
 * Gateway, `ws /ws/session`, v1.13: a binary `audio_chunk` / `utterance` frame (binary.ts).
 * The whole frame is held to `maxBytes` like a text frame; the header gets the same checks as
 * a text frame of its type, and its `data` must be "" (the audio follows the header).
 */
export function parseClientBinaryFrame(
  bytes: Uint8Array,
  opts?: ParseOptions,
): BinaryParseSuccess<ClientMessage> | ParseFailure {
  return parseBinary(bytes, opts, 'client', client.validators);
}

/**
 * Gateway, `ws /ws/node`, v1.13: a binary `job_result` whose TTS follows the header (binary.ts).
 * Checked like parseClientBinaryFrame; its `tts_audio` must be "" and it must be a success (a
 * failure has no TTS to carry). `audio` is the TTS.
 */
export function parseNodeBinaryFrame(
  bytes: Uint8Array,
  opts?: ParseOptions,
): BinaryParseSuccess<NodeMessage> | ParseFailure {
  const p = parseBinary<NodeMessage>(bytes, opts, 'node', node.validators);
  if (p.ok && p.msg.type === 'job_result' && !p.msg.success) {
    return badMessage('a binary job_result must have success: true (its TTS follows the header)', 'success');
  }
  return p;
}
