/**
 * `@lingua/protocol/sdk/ws`: the SDKs' default transport factory. Apart from
 * `@lingua/protocol/sdk` because it imports `ws`, the fallback for Node < 22 (and the way a
 * Node SDK sends its token as a header). Under a browser bundler `ws` resolves to a stub that is
 * never called, because the global WebSocket exists.
 */
import NodeWebSocket from 'ws';
import { type TransportFactory, webSocketTransportFactory } from '../sdk/transport';

/** The global WebSocket (browsers, Node >= 22), else `ws`. */
export const defaultTransportFactory: TransportFactory = webSocketTransportFactory(NodeWebSocket);
