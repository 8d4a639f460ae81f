export { BACKOFF_DEFAULTS, type BackoffOptions, backoffDelay } from './backoff';
export { fromBase64, fromBase64Portable, toBase64, toBase64Portable } from './base64';
export { Emitter, type EventMap } from './emitter';
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
