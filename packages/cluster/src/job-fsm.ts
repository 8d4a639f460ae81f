/**
 * The job state machine: the one table of allowed transitions. The script loader injects it
 * into every Lua script that checks a transition as `fsmAllows(from, to)`, so Lua and TS
 * enforce the same rules. docs/architecture.md documents it.
 *
 *   created ──▶ dispatched ──▶ accepted ──▶ running ──▶ completed
 *      │            │  │          │  │         │
 *      │            ▼  ▼          ▼  ▼         ▼
 *      │      timed_out | node_lost | failed ──▶ retrying ──▶ dispatched (attempt+1)
 *      ▼                 │                         │
 *    failed ◀────────────┴─────────────────────────┘   (no attempts / time left: terminal)
 */
export const JOB_STATES = [
  'created',
  'dispatched',
  'accepted',
  'running',
  'completed',
  'timed_out',
  'node_lost',
  'failed',
  'retrying',
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const LIVE_STATES: readonly JobState[] = ['dispatched', 'accepted', 'running'];
/** Waiting for a node (first dispatch or failover). */
export const WAITING_STATES: readonly JobState[] = ['created', 'retrying'];

export const JOB_TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  created: ['dispatched', 'failed'],
  dispatched: ['accepted', 'running', 'completed', 'timed_out', 'node_lost', 'failed'],
  accepted: ['running', 'completed', 'timed_out', 'node_lost', 'failed'],
  running: ['completed', 'timed_out', 'node_lost', 'failed'],
  timed_out: ['retrying', 'failed'],
  node_lost: ['retrying', 'failed'],
  // `failed` is terminal unless attempts remain, then it moves on to `retrying`.
  failed: ['retrying'],
  retrying: ['dispatched', 'failed'],
  completed: [],
};

export function canTransition(from: JobState, to: JobState): boolean {
  return JOB_TRANSITIONS[from]?.includes(to) ?? false;
}

/**
 * Lua source of `fsmAllows(from, to)`, prepended by the loader to scripts that use it. The table
 * is one constant string searched with a plain find: a script builds nothing per call (a table
 * of tables cost ~1.3 µs of Redis time on every job script call).
 */
export function fsmLuaSource(): string {
  const pairs = Object.entries(JOB_TRANSITIONS).flatMap(([from, tos]) => tos.map((t) => `${from}>${t}`));
  return `local function fsmAllows(from, to)
  return string.find('|${pairs.join('|')}|', '|' .. tostring(from) .. '>' .. tostring(to) .. '|', 1, true) ~= nil
end
`;
}

/** Job ids are `<sessionId>.<utteranceIndex>`: idempotent per (session, index) and routable to the shard. */
export function jobIdFor(sessionId: string, index: number): string {
  return `${sessionId}.${index}`;
}

export function parseJobId(jobId: string): { sessionId: string; index: number } | null {
  const dot = jobId.lastIndexOf('.');
  if (dot <= 0) return null;
  const index = Number(jobId.slice(dot + 1));
  if (!Number.isSafeInteger(index) || index < 0) return null;
  return { sessionId: jobId.slice(0, dot), index };
}
