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
  type PartialTexts,
  type Resource,
  resultTts,
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
  simulatedDirection,
  simulatedOutput,
  simulatedPartial,
} from './sim-node';
export type * from './wire';
