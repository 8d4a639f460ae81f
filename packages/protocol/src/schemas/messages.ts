/** The four directions: type → schema maps, union schemas and union types. */
import { type Static, Type } from '@sinclair/typebox';
import {
  JobAcceptedSchema,
  JobAssignSchema,
  JobCancelSchema,
  JobProgressSchema,
  JobResultSchema,
  NodeDrainSchema,
  NodeHeartbeatSchema,
  NodeReadySchema,
  NodeRegisterAckSchema,
  NodeRegisterSchema,
  NodeUnavailableSchema,
} from './node';
import {
  RoomJoinedSchema,
  RoomJoinSchema,
  RoomLeaveSchema,
  RoomLeftSchema,
  RoomMemberJoinedSchema,
  RoomMemberLeftSchema,
  RoomMissingResultSchema,
  RoomResultSchema,
} from './room';
import {
  AudioChunkSchema,
  ClientHeartbeatSchema,
  MissingResultSchema,
  PartialResultSchema,
  SessionClosedSchema,
  SessionCloseSchema,
  SessionInitAckSchema,
  SessionInitSchema,
  TranslationResultSchema,
  UtteranceAcceptedSchema,
  UtteranceMsgSchema,
} from './session';
import { ErrorMessageSchema, ServerHeartbeatSchema } from './shared';

export const ClientMessageSchemas = {
  session_init: SessionInitSchema,
  audio_chunk: AudioChunkSchema,
  utterance: UtteranceMsgSchema,
  client_heartbeat: ClientHeartbeatSchema,
  session_close: SessionCloseSchema,
  room_join: RoomJoinSchema,
  room_leave: RoomLeaveSchema,
} as const;

export const ServerToClientMessageSchemas = {
  session_init_ack: SessionInitAckSchema,
  utterance_accepted: UtteranceAcceptedSchema,
  translation_result: TranslationResultSchema,
  missing_result: MissingResultSchema,
  partial_result: PartialResultSchema,
  session_closed: SessionClosedSchema,
  error: ErrorMessageSchema,
  server_heartbeat: ServerHeartbeatSchema,
  room_joined: RoomJoinedSchema,
  room_left: RoomLeftSchema,
  room_member_joined: RoomMemberJoinedSchema,
  room_member_left: RoomMemberLeftSchema,
  room_result: RoomResultSchema,
  room_missing_result: RoomMissingResultSchema,
} as const;

export const NodeMessageSchemas = {
  node_register: NodeRegisterSchema,
  node_heartbeat: NodeHeartbeatSchema,
  job_accepted: JobAcceptedSchema,
  job_progress: JobProgressSchema,
  job_result: JobResultSchema,
  node_drain: NodeDrainSchema,
  node_ready: NodeReadySchema,
  node_unavailable: NodeUnavailableSchema,
} as const;

export const ServerToNodeMessageSchemas = {
  node_register_ack: NodeRegisterAckSchema,
  job_assign: JobAssignSchema,
  job_cancel: JobCancelSchema,
  error: ErrorMessageSchema,
  server_heartbeat: ServerHeartbeatSchema,
} as const;

export const ClientMessageSchema = Type.Union([
  SessionInitSchema,
  AudioChunkSchema,
  UtteranceMsgSchema,
  ClientHeartbeatSchema,
  SessionCloseSchema,
  RoomJoinSchema,
  RoomLeaveSchema,
]);
export type ClientMessage = Static<typeof ClientMessageSchema>;

export const ServerToClientMessageSchema = Type.Union([
  SessionInitAckSchema,
  UtteranceAcceptedSchema,
  TranslationResultSchema,
  MissingResultSchema,
  PartialResultSchema,
  SessionClosedSchema,
  ErrorMessageSchema,
  ServerHeartbeatSchema,
  RoomJoinedSchema,
  RoomLeftSchema,
  RoomMemberJoinedSchema,
  RoomMemberLeftSchema,
  RoomResultSchema,
  RoomMissingResultSchema,
]);
export type ServerToClientMessage = Static<typeof ServerToClientMessageSchema>;

export const NodeMessageSchema = Type.Union([
  NodeRegisterSchema,
  NodeHeartbeatSchema,
  JobAcceptedSchema,
  JobProgressSchema,
  JobResultSchema,
  NodeDrainSchema,
  NodeReadySchema,
  NodeUnavailableSchema,
]);
export type NodeMessage = Static<typeof NodeMessageSchema>;

export const ServerToNodeMessageSchema = Type.Union([
  NodeRegisterAckSchema,
  JobAssignSchema,
  JobCancelSchema,
  ErrorMessageSchema,
  ServerHeartbeatSchema,
]);
export type ServerToNodeMessage = Static<typeof ServerToNodeMessageSchema>;

export type ClientMessageType = ClientMessage['type'];
export type ServerToClientMessageType = ServerToClientMessage['type'];
export type NodeMessageType = NodeMessage['type'];
export type ServerToNodeMessageType = ServerToNodeMessage['type'];

/** `MessageOf<ClientMessage, 'audio_chunk'>` → `AudioChunk`; handy for handler tables. */
export type MessageOf<U extends { type: string }, T extends U['type']> = Extract<U, { type: T }>;

/** Every message type of every direction, once each (error/server_heartbeat are shared). */
export const AllMessageSchemas = {
  ...ClientMessageSchemas,
  ...ServerToClientMessageSchemas,
  ...NodeMessageSchemas,
  ...ServerToNodeMessageSchemas,
} as const;
export type AnyMessageType = keyof typeof AllMessageSchemas;
