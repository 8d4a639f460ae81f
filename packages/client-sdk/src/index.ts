export {
  abandonTransport,
  BACKOFF_DEFAULTS,
  type BackoffOptions,
  backoffDelay,
  Emitter,
  type EventMap,
  fromBase64,
  fromBase64Portable,
  type Transport,
  type TransportFactory,
  toBase64,
  toBase64Portable,
  type WebSocketConstructor,
  type WebSocketLike,
  webSocketTransportFactory,
  wrapWebSocket,
} from '@lingua/protocol/sdk';
export { defaultTransportFactory } from '@lingua/protocol/sdk/ws';
export {
  LinguaSession,
  LinguaSessionError,
  type LinguaSessionOptions,
  type SessionClosedInfo,
  type SessionEvents,
  type SessionState,
  ttsAudio,
} from './session';
export { type AcceptedInfo, BufferFullError, UnackedAudio, type UnackedItem } from './unacked';
export type * from './wire';
