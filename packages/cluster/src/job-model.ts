/**
 * The job model, defined once: the field names of a job hash, the live/waiting state sets and
 * the record of a job FSM transition in the shard's `events` stream. The script loader
 * generates Lua from these (`F.<field>` inlined as literals, tables `LIVE`, `WAITING` and the
 * function `xaddJobEvent`), and
 * the TS readers below parse with the same names, so a field is renamed in one place.
 */
import { JOB_STATES, type JobState, LIVE_STATES, WAITING_STATES } from './job-fsm';

/** TS name → field of the `job:<id>` hash (Lua: `F.<name>`). */
export const JOB_FIELDS = {
  id: 'id',
  sessionId: 'sid',
  index: 'idx',
  tenant: 'tenant',
  src: 'src',
  tgt: 'tgt',
  audioFormat: 'fmt',
  sampleRate: 'rate',
  features: 'feat',
  /** protocol v1.8 `job_assign.context` as JSON, fixed at creation (absent: none) */
  context: 'ctx',
  /** the utterance audio; deleted once the job is done */
  audio: 'audio',
  lastChunkSeq: 'last_seq',
  finalizeReason: 'freason',
  state: 'state',
  /** current attempt, 0 before the first dispatch */
  attempt: 'attempt',
  /** node of the current attempt, and the gateway instance it was connected to at dispatch */
  node: 'node',
  nodeInstance: 'ninst',
  /** every node that had an attempt (comma list), excluded by failover */
  tried: 'tried',
  createdAt: 'created',
  updatedAt: 'updated',
  /** end of all attempts (ms) */
  overallDeadline: 'overall',
  /** end of the current attempt (ms) */
  deadline: 'deadline',
  dispatchedAt: 'dispatched_at',
  /** token of the re-dispatch call that made the current attempt (tells a re-send from a rival) */
  dispatchToken: 'dtok',
  /** assignment checks claimed for the current attempt (the node had not confirmed it) */
  assignChecks: 'achk',
  doneAt: 'done_at',
  /** '1' once terminal */
  final: 'final',
  missingReason: 'mreason',
  /** first writer wins per index: 'r' (result) or 'm' (missing), set once */
  outcome: 'outcome',
  /** entry id of the outcome in the session's result log (the result itself is stored there only) */
  outcomeId: 'oid',
} as const;

export type JobField = keyof typeof JOB_FIELDS;

/** A job hash read back (text fields; the audio is read apart as bytes). */
export interface JobRecord {
  id: string;
  sessionId: string;
  index: number;
  tenant: string;
  src: string;
  tgt: string;
  audioFormat: string;
  sampleRate: number;
  features: string;
  /** JSON of the job's context ('' when none) */
  context: string;
  lastChunkSeq: number;
  finalizeReason: string;
  state: JobState;
  attempt: number;
  node: string;
  nodeInstance: string;
  tried: string[];
  createdAt: number;
  updatedAt: number;
  overallDeadline: number;
  deadline: number;
  dispatchedAt: number;
  doneAt: number;
  final: boolean;
  missingReason: string;
  outcome: '' | 'r' | 'm';
  outcomeId: string;
}

const num = (v: string | undefined, def = 0) => {
  const n = Number(v);
  return v === undefined || v === '' || !Number.isFinite(n) ? def : n;
};

/** Parses a job hash (HGETALL, text) into a record; null for an empty hash. */
export function parseJobRecord(h: Record<string, string>): JobRecord | null {
  const f = JOB_FIELDS;
  if (h[f.state] === undefined) return null;
  const state = h[f.state] as JobState;
  return {
    id: h[f.id] ?? '',
    sessionId: h[f.sessionId] ?? '',
    index: num(h[f.index], -1),
    tenant: h[f.tenant] ?? '',
    src: h[f.src] ?? '',
    tgt: h[f.tgt] ?? '',
    audioFormat: h[f.audioFormat] || 'pcm16',
    sampleRate: num(h[f.sampleRate], 16000),
    features: h[f.features] ?? '',
    context: h[f.context] ?? '',
    lastChunkSeq: num(h[f.lastChunkSeq], -1),
    finalizeReason: h[f.finalizeReason] ?? '',
    state: (JOB_STATES as readonly string[]).includes(state) ? state : 'failed',
    attempt: num(h[f.attempt]),
    node: h[f.node] ?? '',
    nodeInstance: h[f.nodeInstance] ?? '',
    tried: (h[f.tried] ?? '').split(',').filter(Boolean),
    createdAt: num(h[f.createdAt]),
    updatedAt: num(h[f.updatedAt]),
    overallDeadline: num(h[f.overallDeadline]),
    deadline: num(h[f.deadline]),
    dispatchedAt: num(h[f.dispatchedAt]),
    doneAt: num(h[f.doneAt]),
    final: h[f.final] === '1',
    missingReason: h[f.missingReason] ?? '',
    outcome: (h[f.outcome] ?? '') as JobRecord['outcome'],
    outcomeId: h[f.outcomeId] ?? '',
  };
}

export function isLiveState(s: string): boolean {
  return (LIVE_STATES as readonly string[]).includes(s);
}

export function isWaitingState(s: string): boolean {
  return (WAITING_STATES as readonly string[]).includes(s);
}

/** One FSM transition as recorded in the shard's `events` stream (field names = keys). */
export interface JobEvent {
  job: string;
  from: string;
  to: string;
  attempt: number;
  node: string;
  /** the deciding gateway's clock, ms */
  ts: number;
  /** cause or reason (initial, failover, node_lost, …) */
  why: string;
  /**
   * When the span this event closes began (gateway clock, ms; 0 when none): the job's creation
   * for an outcome (`completed`, terminal `failed`), the attempt's dispatch for an attempt
   * failure (`timed_out`, `node_lost`, `failed`). The steps of a healthy job are not recorded.
   */
  since: number;
}

/** The event record's fields, in stream order. */
export const JOB_EVENT_FIELDS = [
  'job',
  'from',
  'to',
  'attempt',
  'node',
  'ts',
  'why',
  'since',
] as const satisfies readonly (keyof JobEvent)[];

/** Events kept per shard stream (approximate MAXLEN). */
export const JOB_EVENTS_MAXLEN = 10_000;

/** Parses one `events` stream entry's flat field list. */
export function parseJobEvent(fields: readonly string[]): JobEvent {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  return {
    job: f.job ?? '',
    from: f.from ?? '',
    to: f.to ?? '',
    attempt: Number(f.attempt ?? 0),
    node: f.node ?? '',
    ts: Number(f.ts ?? 0),
    why: f.why ?? '',
    since: Number(f.since || 0),
  };
}

const luaSet = (name: string, states: readonly string[]) =>
  `local ${name} = { ${states.map((s) => `${s} = true`).join(', ')} }\n`;

/**
 * Lua sources generated from this module, each prepended by the loader only to scripts that
 * use the name (a script pays for building its tables on every call).
 */
export const JOB_MODEL_LUA: Record<string, string> = {
  LIVE: luaSet('LIVE', LIVE_STATES),
  WAITING: luaSet('WAITING', WAITING_STATES),
  xaddJobEvent: `local function xaddJobEvent(key, ${JOB_EVENT_FIELDS.join(', ')})
  redis.call('XADD', key, 'MAXLEN', '~', ${JOB_EVENTS_MAXLEN}, '*', ${JOB_EVENT_FIELDS.map(
    (f) => `'${f}', tostring(${f})`,
  ).join(', ')})
end
`,
};
