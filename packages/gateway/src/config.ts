/**
 * The gateway's configuration: one typed table of every setting, its env variable, default
 * and bounds. `loadConfig` validates everything at start and reports every problem at once.
 */
import { hostname } from 'node:os';
import { isSentinelUrl, parseSentinelUrl, redactRedisUrl } from '@lingua/cluster';
import { MIN_ADMIN_TOKEN_LENGTH, roleKeyFromEnv } from './auth';

type Kind = 'int' | 'number' | 'string' | 'bool';

interface Spec<K extends Kind = Kind> {
  env: string;
  kind: K;
  def: K extends 'int' | 'number' ? number : K extends 'bool' ? boolean : string;
  min?: number;
  max?: number;
  doc: string;
}

const int = (env: string, def: number, min: number, max: number, doc: string): Spec<'int'> => ({
  env,
  kind: 'int',
  def,
  min,
  max,
  doc,
});
/** A finite decimal (e.g. a fraction), bounded like `int`. */
const num = (env: string, def: number, min: number, max: number, doc: string): Spec<'number'> => ({
  env,
  kind: 'number',
  def,
  min,
  max,
  doc,
});
const str = (env: string, def: string, doc: string): Spec<'string'> => ({ env, kind: 'string', def, doc });
const bool = (env: string, def: boolean, doc: string): Spec<'bool'> => ({ env, kind: 'bool', def, doc });

export const CONFIG_SPEC = {
  instanceId: str('LINGUA_INSTANCE_ID', '', 'unique id of this gateway instance (default: gw-<host>-<pid>)'),
  host: str('LINGUA_HOST', '0.0.0.0', 'address to listen on'),
  port: int('LINGUA_PORT', 8080, 0, 65535, 'port for WebSocket and HTTP (0 = any free port)'),
  redisUrl: str(
    'LINGUA_REDIS_URL',
    'redis://127.0.0.1:6379',
    'redis://host:port, redis+cluster://h1:p1,h2:p2 or redis+sentinel://s1:p1,s2:p2/<master-name>; credentials via LINGUA_REDIS_PASSWORD etc.',
  ),
  keyPrefix: str('LINGUA_KEY_PREFIX', 'lingua:v1:', 'prefix of every Redis key'),
  cells: int('LINGUA_CELLS', 1, 1, 1024, 'number of node cells (fixed per deployment)'),
  shards: int('LINGUA_SHARDS', 1, 1, 1024, 'number of session shards (fixed per deployment)'),
  // credentials (docs/security.md): each role is enforced when configured; with none of them
  // the gateway refuses to start unless LINGUA_INSECURE=true
  sessionJwtSecret: str('LINGUA_SESSION_JWT_SECRET', '', 'HS256 secret of session tokens (>= 32 chars)'),
  sessionJwtPublicKey: str(
    'LINGUA_SESSION_JWT_PUBLIC_KEY',
    '',
    'PEM public key of session tokens (RS256/ES256/EdDSA)',
  ),
  nodeJwtSecret: str('LINGUA_NODE_JWT_SECRET', '', 'HS256 secret of node tokens (>= 32 chars)'),
  nodeJwtPublicKey: str(
    'LINGUA_NODE_JWT_PUBLIC_KEY',
    '',
    'PEM public key of node tokens (RS256/ES256/EdDSA)',
  ),
  adminToken: str(
    'LINGUA_ADMIN_TOKEN',
    '',
    '/api, /dashboard and /metrics need it (bearer or dashboard login)',
  ),
  metricsPublic: bool('LINGUA_METRICS_PUBLIC', false, '/metrics without the admin token'),
  insecure: bool('LINGUA_INSECURE', false, 'allow roles without credentials (development only)'),
  logLevel: str('LINGUA_LOG_LEVEL', 'info', 'pino log level'),
  transport: str(
    'LINGUA_TRANSPORT',
    'auto',
    'HTTP/WebSocket server: uws (native uWebSockets.js; start fails when no binary loads), node (ws + node:http), auto (uws when it loads, else node)',
  ),
  // finalize
  pauseMs: int('LINGUA_PAUSE_MS', 3000, 50, 600_000, 'finalize after this much silence'),
  maxDurationMs: int('LINGUA_MAX_DURATION_MS', 20_000, 100, 600_000, 'cut utterances longer than this'),
  maxUtteranceBytes: int(
    'LINGUA_MAX_UTTERANCE_BYTES',
    2_000_000,
    1024,
    64_000_000,
    'byte guard per utterance',
  ),
  maxReorder: int('LINGUA_MAX_REORDER', 32, 0, 4096, 'out-of-order audio chunks held per session'),
  maxReorderBytes: int(
    'LINGUA_MAX_REORDER_BYTES',
    1_048_576,
    0,
    256_000_000,
    'bytes of out-of-order audio held per session',
  ),
  // connections
  maxPayloadBytes: int('LINGUA_MAX_PAYLOAD_BYTES', 1_048_576, 1024, 64_000_000, 'largest accepted frame'),
  maxBackpressureBytes: int(
    'LINGUA_MAX_BACKPRESSURE_BYTES',
    4_194_304,
    65_536,
    256_000_000,
    'buffered bytes per socket',
  ),
  sessionQueueMax: int(
    'LINGUA_SESSION_QUEUE_MAX',
    256,
    1,
    100_000,
    'pending frames per session before BACKPRESSURE',
  ),
  sessionIdleTimeoutMs: int(
    'LINGUA_SESSION_IDLE_TIMEOUT_MS',
    120_000,
    1000,
    86_400_000,
    'close idle sessions',
  ),
  heartbeatIntervalMs: int('LINGUA_HEARTBEAT_INTERVAL_MS', 10_000, 100, 600_000, 'server_heartbeat period'),
  sessionTtlMs: int(
    'LINGUA_SESSION_TTL_MS',
    3_600_000,
    10_000,
    604_800_000,
    'session record / resume window',
  ),
  abuseLimit: int(
    'LINGUA_ABUSE_LIMIT',
    100,
    1,
    1_000_000,
    'rejected frames (unparsable or refused for a client fault) per LINGUA_ABUSE_WINDOW_MS before close 1008',
  ),
  abuseWindowMs: int('LINGUA_ABUSE_WINDOW_MS', 60_000, 1000, 86_400_000, 'window of LINGUA_ABUSE_LIMIT'),
  initTimeoutMs: int(
    'LINGUA_INIT_TIMEOUT_MS',
    5000,
    100,
    600_000,
    'session_init / node_register must complete this long after connecting, else close 1008',
  ),
  maxPendingConnections: int(
    'LINGUA_MAX_PENDING_CONNECTIONS',
    2000,
    1,
    1_000_000,
    'connections not yet initialised/registered per instance; beyond it upgrades get HTTP 503',
  ),
  wsIdleTimeoutSec: int(
    'LINGUA_WS_IDLE_TIMEOUT_S',
    120,
    8,
    960,
    'WebSocket closed after this long without a frame or pong (pings are sent before)',
  ),
  // nodes and jobs
  nodeHeartbeatMs: int('LINGUA_NODE_HEARTBEAT_MS', 5000, 50, 600_000, 'node heartbeat interval'),
  nodeHeartbeatTimeoutMs: int('LINGUA_NODE_HEARTBEAT_TIMEOUT_MS', 15_000, 150, 3_600_000, 'offline after'),
  jobTimeoutMs: int('LINGUA_JOB_TIMEOUT_MS', 30_000, 100, 3_600_000, 'deadline of one attempt'),
  maxAttempts: int('LINGUA_MAX_ATTEMPTS', 3, 1, 20, 'attempts per job'),
  jobOverallTimeoutMs: int(
    'LINGUA_JOB_OVERALL_TIMEOUT_MS',
    0,
    0,
    86_400_000,
    '0 = jobTimeout × maxAttempts + 5 s',
  ),
  leaseMs: int(
    'LINGUA_LEASE_MS',
    5000,
    100,
    600_000,
    'grace of a slot reservation beyond its attempt deadline',
  ),
  nodeReconnectGraceMs: int(
    'LINGUA_NODE_RECONNECT_GRACE_MS',
    1000,
    0,
    60_000,
    'a re-registered node that lists no jobs has this long to answer its earlier jobs; also the minimum age of an unlisted job in heartbeats',
  ),
  assignCheckMs: int(
    'LINGUA_ASSIGN_CHECK_MS',
    2000,
    50,
    600_000,
    're-send job_assign when the node has not confirmed it (job_accepted) after this',
  ),
  fusedScripts: bool(
    'LINGUA_FUSED_SCRIPTS',
    true,
    'on a single Redis (not Cluster): select+create and complete+release run as one script each (2 scripts per job instead of 4)',
  ),
  progressCoalesceMs: int(
    'LINGUA_PROGRESS_COALESCE_MS',
    25,
    0,
    1000,
    "write a node's job_accepted / job_progress after this, and not at all when its answer comes first (0 = at once; keep well under LINGUA_ASSIGN_CHECK_MS)",
  ),
  waitingCheckMs: int(
    'LINGUA_WAITING_CHECK_MS',
    1000,
    50,
    600_000,
    'a job waiting for a node (first dispatch or failover) is re-checked this often',
  ),
  claimLeaseMs: int(
    'LINGUA_CLAIM_LEASE_MS',
    1000,
    50,
    600_000,
    'a due job claimed by a timeout worker that died is claimed again after this',
  ),
  resultCheckMs: int(
    'LINGUA_RESULT_CHECK_MS',
    1000,
    50,
    600_000,
    'a session waiting this long for its next result checks the result log (lost deliveries)',
  ),
  gapTimeoutMs: int('LINGUA_GAP_TIMEOUT_MS', 0, 0, 86_400_000, '0 = overall job timeout + 2 s'),
  resultLogMaxLen: int('LINGUA_RESULT_LOG_MAX', 10_000, 10, 1_000_000, 'results kept per session for resume'),
  jobTtlMs: int('LINGUA_JOB_TTL_MS', 3_600_000, 1000, 604_800_000, 'finished jobs kept for'),
  // meeting rooms (docs/architecture.md "Rooms")
  roomMaxMembers: int('LINGUA_ROOM_MAX_MEMBERS', 32, 2, 1024, 'members per meeting room'),
  tenantMaxRooms: int(
    'LINGUA_TENANT_MAX_ROOMS',
    100,
    0,
    1_000_000,
    'live meeting rooms per tenant (0 = no limit)',
  ),
  roomIdleMs: int(
    'LINGUA_ROOM_IDLE_MS',
    1_800_000,
    1000,
    604_800_000,
    'a room without speech or joins this long expires',
  ),
  roomMemberLeaseMs: int(
    'LINGUA_ROOM_MEMBER_LEASE_MS',
    60_000,
    1000,
    86_400_000,
    'a room member whose socket no instance has held this long leaves the room (it re-joins on resume)',
  ),
  // quotas and bounds (docs/security.md, "Quotas and bounds")
  tenantMaxSessions: int(
    'LINGUA_TENANT_MAX_SESSIONS',
    500,
    0,
    10_000_000,
    'concurrent sessions per tenant, cluster-wide (a token max_sessions claim overrides; 0 = no limit)',
  ),
  sessionLeaseMs: int(
    'LINGUA_SESSION_LEASE_MS',
    30_000,
    1000,
    600_000,
    'a session counts toward its tenant quota this long after its gateway last refreshed it',
  ),
  sessionUtteranceRate: int(
    'LINGUA_SESSION_UTTERANCE_RATE',
    20,
    0,
    1_000_000,
    'utterances per second per session (token bucket; 0 = no limit)',
  ),
  sessionUtteranceBurst: int('LINGUA_SESSION_UTTERANCE_BURST', 40, 1, 1_000_000, 'session bucket size'),
  tenantUtteranceRate: int(
    'LINGUA_TENANT_UTTERANCE_RATE',
    1000,
    0,
    10_000_000,
    'utterances per second per tenant, cluster-wide (token bucket; 0 = no limit)',
  ),
  tenantUtteranceBurst: int('LINGUA_TENANT_UTTERANCE_BURST', 2000, 1, 10_000_000, 'tenant bucket size'),
  modelLossDebounceMs: int(
    'LINGUA_MODEL_LOSS_DEBOUNCE_MS',
    5000,
    0,
    3_600_000,
    'MODEL_NOT_AVAILABLE reports of one node for one pair within this window are one event',
  ),
  modelLossRatePerMin: int(
    'LINGUA_MODEL_LOSS_RATE_PER_MIN',
    60,
    0,
    1_000_000,
    'pool removals for MODEL_NOT_AVAILABLE per minute, cluster-wide (0 = no limit)',
  ),
  modelLossNodeRatePerMin: int(
    'LINGUA_MODEL_LOSS_NODE_RATE_PER_MIN',
    6,
    0,
    1_000_000,
    'pool removals for MODEL_NOT_AVAILABLE per minute and node (0 = no limit)',
  ),
  contextUtterances: int(
    'LINGUA_CONTEXT_UTTERANCES',
    3,
    0,
    16,
    "job_assign.context: at most this many of the session's previous final texts (protocol v1.8; 0 = none)",
  ),
  contextWindowMs: int(
    'LINGUA_CONTEXT_WINDOW_MS',
    10_000,
    0,
    3_600_000,
    'utterances begun within this long of the previous one ending share a group (and its context)',
  ),
  contextMaxBytes: int(
    'LINGUA_CONTEXT_MAX_BYTES',
    2048,
    0,
    16_384,
    'UTF-8 bytes of the texts in one job_assign.context (the newest that fit)',
  ),
  partialRatePerS: int(
    'LINGUA_PARTIAL_RATE',
    5,
    1,
    1000,
    'job_progress frames per second and job attempt (burst the same); beyond it they are dropped unread (protocol v1.8 partial results)',
  ),
  partialMaxChars: int(
    'LINGUA_PARTIAL_MAX_CHARS',
    4096,
    1,
    16_384,
    'a partial text longer than this is not forwarded to the session (protocol v1.8)',
  ),
  maxHardwareBytes: int(
    'LINGUA_MAX_HARDWARE_BYTES',
    4096,
    2,
    1_000_000,
    'node_register.hardware as JSON, at most this many bytes',
  ),
  maxNodePools: int(
    'LINGUA_MAX_NODE_POOLS',
    64,
    1,
    256,
    'directed pools (asr_langs x tts_langs) one node may join',
  ),
  nodeHotThreshold: num(
    'LINGUA_NODE_HOT_THRESHOLD',
    0.75,
    0,
    1,
    'a node whose heartbeat reports cpu, gpu or mem load above this fraction is chosen only when no cooler node has a free slot (1 = never hot)',
  ),
  maxTtsBytes: int('LINGUA_MAX_TTS_BYTES', 1_048_576, 0, 64_000_000, 'decoded tts_audio of one result'),
  nodeForgetMs: int(
    'LINGUA_NODE_FORGET_MS',
    3_600_000,
    1000,
    2_592_000_000,
    'an offline node is forgotten (its record deleted) after this long',
  ),
  // cross-instance
  presenceTtlMs: int('LINGUA_PRESENCE_TTL_MS', 3000, 300, 600_000, 'instance presence TTL'),
  inboxClaimIdleMs: int(
    'LINGUA_INBOX_CLAIM_IDLE_MS',
    3000,
    50,
    600_000,
    're-claim inbox entries idle this long',
  ),
  inboxMaxDeliveries: int('LINGUA_INBOX_MAX_DELIVERIES', 5, 1, 1000, 'dead-letter after this many'),
  lossAuditMs: int(
    'LINGUA_LOSS_AUDIT_MS',
    5000,
    0,
    3_600_000,
    'audit accepted jobs this old for loss by Redis (also after each reconnect); 0 = only after reconnects',
  ),
  dlqMax: int(
    'LINGUA_DLQ_MAX',
    100_000,
    1,
    10_000_000,
    'DLQ capacity per instance; when full, entries stay pending',
  ),
  dlqRetentionMs: int(
    'LINGUA_DLQ_RETENTION_MS',
    0,
    0,
    31_536_000_000,
    'remove dead letters older than this; 0 = never',
  ),
  // workers
  workers: bool('LINGUA_WORKERS', true, 'run timeout/failover/sweep workers in this process'),
  timeoutPollMs: int('LINGUA_TIMEOUT_POLL_MS', 200, 10, 60_000, 'deadline index poll period'),
  sweepIntervalMs: int('LINGUA_SWEEP_INTERVAL_MS', 1000, 50, 600_000, 'sweep period'),
  drainTimeoutMs: int('LINGUA_DRAIN_TIMEOUT_MS', 10_000, 0, 600_000, 'graceful shutdown bound'),
} as const;

type SpecTable = typeof CONFIG_SPEC;
export type GatewayConfig = {
  -readonly [K in keyof SpecTable]: SpecTable[K]['kind'] extends 'int' | 'number'
    ? number
    : SpecTable[K]['kind'] extends 'bool'
      ? boolean
      : string;
} & { jobOverallTimeoutMs: number; gapTimeoutMs: number };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads env (then explicit overrides), validates, derives defaults; throws ConfigError. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<GatewayConfig> = {},
): GatewayConfig {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(CONFIG_SPEC) as [string, Spec][]) {
    const raw = env[spec.env];
    let value: unknown = spec.def;
    if (raw !== undefined && raw !== '') {
      if (spec.kind === 'int') {
        const n = Number(raw);
        if (!Number.isInteger(n)) problems.push(`${spec.env}: expected an integer, got "${raw}"`);
        else value = n;
      } else if (spec.kind === 'number') {
        const n = Number(raw);
        if (!Number.isFinite(n)) problems.push(`${spec.env}: expected a number, got "${raw}"`);
        else value = n;
      } else if (spec.kind === 'bool') {
        if (!/^(1|0|true|false|yes|no)$/i.test(raw))
          problems.push(`${spec.env}: expected true/false, got "${raw}"`);
        else value = /^(1|true|yes)$/i.test(raw);
      } else value = raw;
    }
    if (key in overrides) value = (overrides as Record<string, unknown>)[key];
    if ((spec.kind === 'int' || spec.kind === 'number') && typeof value === 'number') {
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
        problems.push(`${spec.env}: ${value} is outside ${spec.min}..${spec.max} (${spec.doc})`);
      }
    }
    out[key] = value;
  }
  const cfg = out as GatewayConfig;
  if (!cfg.instanceId) cfg.instanceId = `gw-${hostname()}-${process.pid}`;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(cfg.instanceId)) {
    problems.push(`LINGUA_INSTANCE_ID: "${cfg.instanceId}" must be 1-64 chars of [A-Za-z0-9._-]`);
  }
  if (!/^rediss?:\/\/|^rediss?\+cluster:\/\/|^redis\+sentinel:\/\//.test(cfg.redisUrl)) {
    problems.push(
      `LINGUA_REDIS_URL: "${redactRedisUrl(cfg.redisUrl)}" must start with redis://, rediss://, redis+cluster://, rediss+cluster:// or redis+sentinel://`,
    );
  } else if (isSentinelUrl(cfg.redisUrl)) {
    try {
      parseSentinelUrl(cfg.redisUrl);
    } catch (err) {
      problems.push(`LINGUA_REDIS_URL: ${(err as Error).message}`);
    }
  }
  if (!['auto', 'uws', 'node'].includes(cfg.transport)) {
    problems.push(`LINGUA_TRANSPORT: "${cfg.transport}" must be auto, uws or node`);
  }
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(cfg.logLevel)) {
    problems.push(`LINGUA_LOG_LEVEL: "${cfg.logLevel}" is not a pino level`);
  }
  if (cfg.nodeHeartbeatTimeoutMs < cfg.nodeHeartbeatMs * 2) {
    problems.push('LINGUA_NODE_HEARTBEAT_TIMEOUT_MS must be at least twice LINGUA_NODE_HEARTBEAT_MS');
  }
  if (cfg.progressCoalesceMs * 2 > cfg.assignCheckMs) {
    // A deferred job_accepted must land long before the check that re-sends unconfirmed jobs.
    problems.push('LINGUA_PROGRESS_COALESCE_MS must be at most half of LINGUA_ASSIGN_CHECK_MS');
  }
  problems.push(...credentialProblems(cfg, env));
  if (!cfg.jobOverallTimeoutMs) cfg.jobOverallTimeoutMs = cfg.jobTimeoutMs * cfg.maxAttempts + 5000;
  if (!cfg.gapTimeoutMs) cfg.gapTimeoutMs = cfg.jobOverallTimeoutMs + 2000;
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

/**
 * Credentials: every key must parse, and a gateway with a role left open refuses to start
 * unless LINGUA_INSECURE=true (so a forgotten variable never means an open cluster).
 */
function credentialProblems(cfg: GatewayConfig, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  if (env.LINGUA_AUTH_TOKEN) {
    problems.push(
      'LINGUA_AUTH_TOKEN was removed in protocol v1.2: set LINGUA_SESSION_JWT_SECRET and LINGUA_NODE_JWT_SECRET and mint tokens (docs/security.md)',
    );
  }
  const missing: string[] = [];
  for (const role of ['SESSION', 'NODE'] as const) {
    const [secret, pem] =
      role === 'SESSION'
        ? [cfg.sessionJwtSecret, cfg.sessionJwtPublicKey]
        : [cfg.nodeJwtSecret, cfg.nodeJwtPublicKey];
    try {
      if (!roleKeyFromEnv(role, secret, pem)) missing.push(`LINGUA_${role}_JWT_SECRET (or _PUBLIC_KEY)`);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (!cfg.adminToken) missing.push('LINGUA_ADMIN_TOKEN');
  else if (cfg.adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    problems.push(`LINGUA_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  }
  if (missing.length && !cfg.insecure) {
    problems.push(
      `no credentials for ${missing.join(', ')}: set them, or LINGUA_INSECURE=true to run without (development only; see docs/security.md)`,
    );
  }
  return problems;
}
