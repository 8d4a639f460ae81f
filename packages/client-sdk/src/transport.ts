/**
 * The SDK's transports. Everything but the default factory lives in `@lingua/protocol/sdk`,
 * which must stay free of `ws`; here the default gets `ws` as its fallback for Node < 22.
 * (Under a browser bundler `ws` resolves to a stub that is never called, because the global exists.)
 */
import { type TransportFactory, webSocketTransportFactory } from '@lingua/protocol/sdk';
import NodeWebSocket from 'ws';

export {
  abandonTransport,
  type Transport,
  type TransportFactory,
  type WebSocketLike,
  wrapWebSocket,
} from '@lingua/protocol/sdk';

/** The global WebSocket (browsers, Node >= 22), else `ws`. */
export const defaultTransportFactory: TransportFactory = webSocketTransportFactory(NodeWebSocket);
