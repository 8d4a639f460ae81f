/** Server → client and server → node messages that both directions share. */
import { type Static, Type } from '@sinclair/typebox';
import { ErrorCodeString, NonNegInt, NonNegNumber } from './common';

export const ErrorMessageSchema = Type.Object({
  type: Type.Literal('error'),
  /** An `ErrorCode`; an open string on the wire because the project may add codes. */
  code: ErrorCodeString(),
  message: Type.String({ maxLength: 4096 }),
  /** Project addition: the offending field of a BAD_MESSAGE, e.g. `seq` or `resume.session_id`. */
  field: Type.Optional(Type.String({ maxLength: 256 })),
  /** v1.2: with RATE_LIMITED, when the refused request may succeed again (ms from now). */
  retry_after_ms: Type.Optional(NonNegInt()),
});
export type ErrorMessage = Static<typeof ErrorMessageSchema>;

export const ServerHeartbeatSchema = Type.Object({
  type: Type.Literal('server_heartbeat'),
  ts: NonNegNumber(),
});
export type ServerHeartbeat = Static<typeof ServerHeartbeatSchema>;
