/**
 * Session frames of docs/protocol.md v1 (`ws /ws/session`), field names exactly as on the wire.
 * Type-only re-exports of `@lingua/protocol`, so no validator code lands in an SDK bundle.
 */
export type {
  AudioChunk,
  ClientHeartbeat,
  ClientMessage,
  ErrorMessage,
  MissingResult,
  PartialResult,
  RoomJoin,
  RoomJoined,
  RoomLeave,
  RoomLeft,
  RoomMemberInfo,
  RoomMemberJoined,
  RoomMemberLeft,
  RoomMissingResult,
  RoomResult,
  ServerHeartbeat,
  ServerToClientMessage,
  SessionClose,
  SessionClosed,
  SessionInit,
  SessionInitAck,
  TranslationResult,
  UtteranceAccepted,
  UtteranceMsg,
} from '@lingua/protocol';
