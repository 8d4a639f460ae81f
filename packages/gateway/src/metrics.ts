/** Prometheus metrics of one gateway instance (prom-client), named by Prometheus conventions. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(
  instanceId: string,
  native: boolean,
  transport: 'uws' | 'node' = native ? 'uws' : 'node',
) {
  const registry = new Registry();
  registry.setDefaultLabels({ instance_id: instanceId });
  collectDefaultMetrics({ register: registry });
  const m = {
    registry,
    connections: new Gauge({
      name: 'lingua_connections',
      help: 'Open WebSocket connections',
      labelNames: ['kind'],
      registers: [registry],
    }),
    framesRejected: new Counter({
      name: 'lingua_frames_rejected_total',
      help: 'Frames answered with an error',
      labelNames: ['kind', 'code'],
      registers: [registry],
    }),
    authRefused: new Counter({
      name: 'lingua_auth_refused_total',
      help: 'Credentials refused (session/node tokens, admin token), by role and reason',
      labelNames: ['kind', 'reason'],
      registers: [registry],
    }),
    utterances: new Counter({
      name: 'lingua_utterances_finalized_total',
      help: 'Finalized utterances by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    jobsDispatched: new Counter({
      name: 'lingua_jobs_dispatched_total',
      help: 'Jobs sent to a node (attempts)',
      labelNames: ['kind'],
      registers: [registry],
    }),
    jobTransitions: new Counter({
      name: 'lingua_job_transitions_total',
      help: 'Job FSM transitions done by this instance',
      labelNames: ['to'],
      registers: [registry],
    }),
    roomFanoutJobs: new Counter({
      name: 'lingua_room_fanout_jobs_total',
      help: 'Fan-out jobs created for meeting rooms (one per utterance and listener language beyond the speaker session own)',
      registers: [registry],
    }),
    roomMembersExpired: new Counter({
      name: 'lingua_room_members_expired_total',
      help: 'Room members removed because no instance held their socket for LINGUA_ROOM_MEMBER_LEASE_MS',
      registers: [registry],
    }),
    roomResults: new Counter({
      name: 'lingua_room_results_delivered_total',
      help: 'room_result / room_missing_result frames sent to listeners',
      labelNames: ['kind'],
      registers: [registry],
    }),
    resultsDelivered: new Counter({
      name: 'lingua_results_delivered_total',
      help: 'Results sent to sessions',
      labelNames: ['kind'],
      registers: [registry],
    }),
    lateResultsDropped: new Counter({
      name: 'lingua_late_results_dropped_total',
      help: 'Node results dropped (stale attempt, wrong node, duplicate, late)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    races: new Counter({
      name: 'lingua_races_total',
      help: 'Expected races lost: stale answers, repeated failure reports, re-sent scripts (not errors)',
      labelNames: ['op', 'code'],
      registers: [registry],
    }),
    assignResends: new Counter({
      name: 'lingua_assign_resends_total',
      help: 'job_assign sent again: a re-sent script, or the node had not confirmed the job in time',
      labelNames: ['why'],
      registers: [registry],
    }),
    partialResults: new Counter({
      name: 'lingua_partial_results_total',
      help: 'Partial results (protocol v1.8) by outcome: forwarded, rate_limited, too_long (node side); delivered, after_final, stale_attempt, unknown_index (session side)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    modelUnavailable: new Counter({
      name: 'lingua_model_unavailable_total',
      help: 'MODEL_NOT_AVAILABLE events (reports of one node for one pair within the debounce window count once)',
      labelNames: ['pair'],
      registers: [registry],
    }),
    nodeReconciled: new Counter({
      name: 'lingua_node_reconciled_total',
      help: 'Jobs failed over because the node no longer held them (reconciliation)',
      labelNames: ['how'],
      registers: [registry],
    }),
    resultChecks: new Counter({
      name: 'lingua_result_checks_total',
      help: 'Result-log checks by sessions waiting for their next result, by what they found',
      labelNames: ['found'],
      registers: [registry],
    }),
    failovers: new Counter({
      name: 'lingua_failovers_total',
      help: 'Jobs handed to failover',
      labelNames: ['cause'],
      registers: [registry],
    }),
    failoverSeconds: new Histogram({
      name: 'lingua_failover_seconds',
      help: 'Failure detection to re-dispatch',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    dlqEntries: new Counter({
      name: 'lingua_dlq_entries_total',
      help: 'Inbox entries dead-lettered',
      labelNames: ['reason'],
      registers: [registry],
    }),
    dispatchSeconds: new Histogram({
      name: 'lingua_dispatch_seconds',
      help: 'Finalize to job_assign sent to the node',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    e2eSeconds: new Histogram({
      name: 'lingua_e2e_seconds',
      help: 'Finalize to result sent to the session',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    roomResultSeconds: new Histogram({
      name: 'lingua_room_result_seconds',
      help: "Speaker's utterance finalized to room_result sent to a listener",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    selectSeconds: new Histogram({
      name: 'lingua_select_node_seconds',
      help: 'node selection duration (select_node; on a single Redis select_create, which also records the job)',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    quotaRefusals: new Counter({
      name: 'lingua_quota_refusals_total',
      help: 'Requests refused by a quota or bound (docs/security.md)',
      labelNames: ['quota'],
      registers: [registry],
    }),
    dlqRefused: new Counter({
      name: 'lingua_dlq_refused_total',
      help: 'Dead-letters refused because the DLQ is at capacity (the entry stays pending in the inbox)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    dlqLength: new Gauge({
      name: 'lingua_dlq_length',
      help: 'Entries in each instance DLQ (label dlq), as read by this instance',
      labelNames: ['dlq'],
      registers: [registry],
    }),
    dlqCapacity: new Gauge({
      name: 'lingua_dlq_capacity',
      help: 'Most entries one instance DLQ may hold (LINGUA_DLQ_MAX)',
      registers: [registry],
    }),
    dlqExpired: new Counter({
      name: 'lingua_dlq_expired_total',
      help: 'Dead letters removed by the explicit retention (LINGUA_DLQ_RETENTION_MS)',
      labelNames: ['dlq'],
      registers: [registry],
    }),
    lostJobs: new Counter({
      name: 'lingua_lost_jobs_total',
      help: 'Accepted utterances whose job Redis lost (failover/restart), answered with missing_result',
      labelNames: ['trigger'],
      registers: [registry],
    }),
    redisErrors: new Counter({
      name: 'lingua_redis_errors_total',
      help: 'Redis command failures',
      labelNames: ['op'],
      registers: [registry],
    }),
    inboxPending: new Gauge({
      name: 'lingua_inbox_pending',
      help: 'Entries pending in this instance inbox',
      registers: [registry],
    }),
    connectionsPending: new Gauge({
      name: 'lingua_connections_pending',
      help: 'Open WebSocket connections that have not completed session_init / node_register',
      registers: [registry],
    }),
    connectionsRefused: new Counter({
      name: 'lingua_connections_refused_total',
      help: 'Connections refused or closed by a bound (pending_cap, unauthorized, init_timeout, abuse, backpressure)',
      labelNames: ['kind', 'reason'],
      registers: [registry],
    }),
    handlerErrors: new Counter({
      name: 'lingua_handler_errors_total',
      help: 'Exceptions caught by the transport guards (that connection closed or answered 500)',
      labelNames: ['where'],
      registers: [registry],
    }),
    transportInfo: new Gauge({
      name: 'lingua_transport_info',
      help: 'HTTP/WebSocket implementation in use (value 1): uws (native uWebSockets.js) or node (ws + node:http)',
      labelNames: ['impl'],
      registers: [registry],
    }),
    uwsNative: new Gauge({
      name: 'lingua_uws_native',
      help: '1 when the native uWebSockets.js binary is in use',
      registers: [registry],
    }),
  };
  m.uwsNative.set(native ? 1 : 0);
  m.transportInfo.set({ impl: transport }, 1);
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
