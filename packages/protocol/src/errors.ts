/**
 * Error codes carried by `error` frames (and by `job_result.error` when the gateway
 * synthesizes one). docs/protocol.md lets the project add codes, so receivers must treat the
 * `code` field as an open string; this table is what *we* emit.
 */
export const ErrorCode = {
  // docs/protocol.md v1
  BAD_MESSAGE: 'BAD_MESSAGE',
  UNAUTHORIZED: 'UNAUTHORIZED',
  NOT_INITIALIZED: 'NOT_INITIALIZED',
  SESSION_NOT_FOUND: 'SESSION_NOT_FOUND',
  RESUME_REJECTED: 'RESUME_REJECTED',
  NO_POOL_FOR_LANG_PAIR: 'NO_POOL_FOR_LANG_PAIR',
  NO_AVAILABLE_NODE: 'NO_AVAILABLE_NODE',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  RATE_LIMITED: 'RATE_LIMITED',
  BACKPRESSURE: 'BACKPRESSURE',
  INTERNAL: 'INTERNAL',
  /** Used by the docs/protocol.md `error` example; means the pool exists but has no nodes (empty pool). */
  NO_NODE_FOR_LANG_PAIR: 'NO_NODE_FOR_LANG_PAIR',
  // project additions
  /** An `audio_chunk` arrived with a `seq` other than last_accepted_seq + 1. */
  SEQ_GAP: 'SEQ_GAP',
  /** A frame arrived for a session that is already closed. */
  SESSION_CLOSED: 'SESSION_CLOSED',
  /** A node sent a frame other than `node_register` before registering. */
  NODE_NOT_REGISTERED: 'NODE_NOT_REGISTERED',
  /** A node reported on a job (or attempt) it does not hold. */
  JOB_NOT_HELD: 'JOB_NOT_HELD',
  /** Redis is unreachable; the request may be retried later. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** This instance (or node) is draining and takes no new work. */
  DRAINING: 'DRAINING',
  // v1.6 (rooms)
  /** `room_join`: the room already has the maximum number of members. */
  ROOM_FULL: 'ROOM_FULL',
  /** `room_join` of a new room when the tenant already has its maximum number of live rooms. */
  TOO_MANY_ROOMS: 'TOO_MANY_ROOMS',
  /** `room_leave` without a room, or a room frame the session's state does not allow. */
  NOT_IN_ROOM: 'NOT_IN_ROOM',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_CODES: readonly ErrorCode[] = Object.freeze(Object.values(ErrorCode));

const known: ReadonlySet<string> = new Set(ERROR_CODES);

/** True for codes this package knows; unknown codes are still valid on the wire. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && known.has(code);
}
