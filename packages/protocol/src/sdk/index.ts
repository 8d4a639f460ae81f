/**
 * `@lingua/protocol/sdk`: the runtime pieces both SDKs share. Browser-safe and dependency-free
 * (no `ws`, no Node built-ins, no TypeBox), so a browser bundle of the client SDK stays small.
 */

export {
  type BinaryJobAssign,
  decodeBinaryJobAssign,
  encodeBinaryAudio,
  encodeBinaryJobAssign,
} from '../binary';
export { BACKOFF_DEFAULTS, type BackoffOptions, backoffDelay } from './backoff';
export { fromBase64, fromBase64Portable, toBase64, toBase64Portable } from './base64';
export { Connection, type ConnectionHandlers, type ConnectionOptions } from './connection';
export { Emitter, type EventMap } from './emitter';
export { type BadServerFrame, decodeServerFrame } from './server-frame';
export {
  abandonTransport,
  type Transport,
  type TransportFactory,
  type TransportOptions,
  type WebSocketConstructor,
  type WebSocketLike,
  webSocketTransportFactory,
  withTokenQuery,
  wrapWebSocket,
} from './transport';
