/** What every connection handler of one gateway instance shares. */
import type { InboxBus, JobStore, Keyspace, RedisClient, RoomStore } from '@lingua/cluster';
import type { JobLifecycle } from '@lingua/workers';
import type { Authenticator } from './auth';
import type { GatewayConfig } from './config';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { NodeConn } from './node-conn';
import type { Quotas } from './quotas';
import type { SessionActor } from './session-actor';

export interface GatewayContext {
  cfg: GatewayConfig;
  log: Logger;
  metrics: Metrics;
  redis: RedisClient;
  ks: Keyspace;
  store: JobStore;
  /** meeting-room membership (rooms.ts in @lingua/cluster) */
  rooms: RoomStore;
  inbox: InboxBus;
  jobs: JobLifecycle;
  /** cluster-wide session and utterance quotas (quotas.ts) */
  quotas: Quotas;
  /** This instance's own sockets only (the socket table, not shared state): session id → actor. */
  sessions: Map<string, SessionActor>;
  /** This instance's own node sockets: node id → connection. */
  nodes: Map<string, NodeConn>;
  now: () => number;
  /** credentials per role (auth.ts): verifies session/node tokens and the admin token */
  auth: Authenticator;
  /** set on SIGTERM: refuse new connections, hand sessions off */
  draining: boolean;
}

/** A send/close pair over one WebSocket that is safe to call after the socket closed. */
export interface Transport {
  /** false when the socket is gone or over its backpressure limit (then it is closed). */
  send(frame: object): boolean;
  /** one binary frame (v1.12 binary job_assign); same return as `send` */
  sendBinary(bytes: Uint8Array): boolean;
  close(code: number, reason: string): void;
  readonly closed: boolean;
}
