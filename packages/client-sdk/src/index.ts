export {
  BACKOFF_DEFAULTS,
  type BackoffOptions,
  backoffDelay,
  Emitter,
  type EventMap,
  fromBase64,
  fromBase64Portable,
  toBase64,
  toBase64Portable,
  type WebSocketConstructor,
  webSocketTransportFactory,
} from '@lingua/protocol/sdk';
export {
  LinguaSession,
  LinguaSessionError,
  type LinguaSessionOptions,
  type SessionClosedInfo,
  type SessionEvents,
  type SessionState,
} from './session';
export {
  abandonTransport,
  defaultTransportFactory,
  type Transport,
  type TransportFactory,
  type WebSocketLike,
  wrapWebSocket,
} from './transport';
export { type AcceptedInfo, BufferFullError, UnackedAudio, type UnackedItem } from './unacked';
export type * from './wire';
