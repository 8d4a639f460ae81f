/**
 * Node frames of docs/protocol.md v1 (`ws /ws/node`), field names exactly as on the wire.
 * Type-only re-exports of `@lingua/protocol`, so no validator code lands in an SDK bundle.
 */
export type {
  ErrorMessage,
  JobAccepted,
  JobAssign,
  JobCancel,
  JobProgress,
  JobResult,
  NodeDrain,
  NodeHeartbeat,
  NodeMessage,
  NodeReady,
  NodeRegister,
  NodeRegisterAck,
  NodeUnavailable,
  ServerHeartbeat,
  ServerToNodeMessage,
} from '@lingua/protocol';
