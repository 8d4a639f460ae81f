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
export { type HealthServer, startHealthServer } from './health';
export {
  type Hardware,
  type JobContext,
  type JobError,
  type JobHandler,
  type JobOutcome,
  jobAudio,
  LinguaNode,
  LinguaNodeError,
  type LinguaNodeOptions,
  type NodeEvents,
  type NodeReadiness,
  type NodeState,
  type Resource,
  type Service,
} from './node';
export { mulberry32 } from './prng';
export {
  createSimHandler,
  createSimNode,
  LoadDial,
  ModelSwitch,
  parseLoad,
  type SimBehavior,
  type SimNodeOptions,
  type SimOutput,
  simulatedOutput,
} from './sim-node';
export {
  abandonTransport,
  defaultTransportFactory,
  type Transport,
  type TransportFactory,
  type WebSocketLike,
  wrapWebSocket,
} from './transport';
export type * from './wire';
