/** Options of `lingua drill` and their defaults (pure). */

export const SCENARIOS = [
  'gateway-kill',
  'node-kill',
  'node-silent',
  'redis-restart',
  'rolling-restart',
  'sentinel-failover',
  'cluster-failover',
  'node-restart',
  'reshard',
  'model-loss',
  'room',
] as const;
/** Scenarios that run on the drill's own replicated Redis (never with --redis). */
export const REPLICATED_REDIS: Partial<Record<ScenarioName, 'sentinel' | 'cluster'>> = {
  'sentinel-failover': 'sentinel',
  'cluster-failover': 'cluster',
  reshard: 'cluster',
};
export type ScenarioName = (typeof SCENARIOS)[number];
export type DrillTarget = ScenarioName | 'all';

export interface DrillOptions {
  /** client sessions */
  sessions: number;
  /** utterances per second, per session (total = sessions × rate) */
  rate: number;
  /** minimum load duration; the load also runs until the fault sequence finished + 1 s */
  durationMs: number;
  /** when the fault is injected, after the load started */
  atMs: number;
  gateways: number;
  nodes: number;
  /** simulated node latency: "MS" or "MIN-MAX" */
  nodeLatency: string;
  maxJobs: number;
  /** external Redis (gateways and nodes are still the drill's own processes) */
  redis?: string;
  /** key prefix; default a fresh `lingua:drill:<run>:` */
  prefix?: string;
  cells: number;
  shards: number;
  /** bound on waiting for every utterance to get its outcome after the load stopped */
  settleTimeoutMs: number;
  /** redis-restart: how long Redis stays down */
  redisDownMs: number;
  /** sentinel-failover: the replica is stopped this long before the primary is killed (0 = not) */
  replicaLagMs: number;
  /** node-silent: `all` (hung process, heartbeat timeout path) or `jobs` (job timeout path) */
  silentScope: 'all' | 'jobs';
  /**
   * node processes: `sim` (SDK simulated node), `proto` (protocol-only, drops in-flight
   * answers on a reconnect, lists its jobs), `proto-v11` (the same without job lists);
   * default: what the scenario asks for (protocol-only for gateway-kill and node-restart)
   */
  nodeKind?: 'sim' | 'proto' | 'proto-v11';
  /** room: members of the meeting room (3 languages), on top of `sessions` background sessions */
  roomMembers: number;
  /** gateway or node id to hit; default: gw-1, or the node holding the most jobs */
  target?: string;
  /** extra/overriding gateway environment (LINGUA_*) */
  env: Record<string, string>;
  /** private redis-server --appendfsync */
  appendfsync: 'always' | 'everysec';
  /** JSON report path */
  report?: string;
  /** also fail (exit 1) when a latency target is missed */
  strict: boolean;
  /** no progress lines */
  quiet: boolean;
  /**
   * When the process logs (and the private Redis's AOF) are kept: `always`, `on-warning`
   * (a failure or a warning; the default) or `on-failure`.
   */
  keepLogs: 'always' | 'on-warning' | 'on-failure';
  /** echo every child log line */
  verbose: boolean;
  readyTimeoutMs: number;
  /** where progress and phase lines go (default process.stderr) */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
}

export const DRILL_DEFAULTS: DrillOptions = {
  sessions: 20,
  rate: 5,
  durationMs: 15_000,
  atMs: 5_000,
  gateways: 3,
  nodes: 4,
  nodeLatency: '20-80',
  maxJobs: 8,
  cells: 1,
  shards: 1,
  settleTimeoutMs: 60_000,
  redisDownMs: 1_000,
  replicaLagMs: 1_000,
  silentScope: 'all',
  roomMembers: 6,
  env: {},
  appendfsync: 'always',
  strict: false,
  quiet: false,
  keepLogs: 'on-warning',
  verbose: false,
  readyTimeoutMs: 60_000,
};

/** "15s", "500ms", "2m", "1.5s" or a bare number of seconds → ms. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(s.trim());
  if (!m) throw new Error(`expected a duration like 15s, 500ms or 2m, got "${s}"`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000);
}

/** "KEY=VALUE" → [key, value]. */
export function parseEnvPair(s: string): [string, string] {
  const i = s.indexOf('=');
  if (i <= 0) throw new Error(`expected KEY=VALUE, got "${s}"`);
  return [s.slice(0, i), s.slice(i + 1)];
}

export function isDrillTarget(s: string): s is DrillTarget {
  return s === 'all' || (SCENARIOS as readonly string[]).includes(s);
}

/** Problems with a set of options, or [] (checked before anything starts). */
export function validateOptions(target: DrillTarget, o: DrillOptions): string[] {
  const p: string[] = [];
  if (o.sessions < 1) p.push('--sessions must be at least 1');
  if (!(o.rate > 0)) p.push('--rate must be above 0');
  if (o.atMs >= o.durationMs) p.push('--at must be before the end of --duration');
  if (
    o.gateways < 2 &&
    (target === 'gateway-kill' || target === 'rolling-restart' || target === 'room' || target === 'all')
  ) {
    p.push('gateway drills need at least 2 gateways (sessions must have somewhere to go)');
  }
  if (
    o.nodes < 2 &&
    (target === 'node-kill' ||
      target === 'node-silent' ||
      target === 'node-restart' ||
      target === 'model-loss' ||
      target === 'all')
  ) {
    p.push('node drills need at least 2 nodes (jobs must have somewhere to go)');
  }
  const maxMembers = Number(o.env.LINGUA_ROOM_MAX_MEMBERS ?? 32);
  if ((target === 'room' || target === 'all') && !(o.roomMembers >= 3 && o.roomMembers <= maxMembers)) {
    p.push(`--room-members must be 3..${maxMembers} (3 languages; LINGUA_ROOM_MAX_MEMBERS)`);
  }
  if (o.redis && target === 'redis-restart') {
    p.push('redis-restart needs the drill’s own redis-server: drop --redis');
  }
  if (o.redis && target !== 'all' && REPLICATED_REDIS[target]) {
    p.push(`${target} needs the drill’s own replicated Redis: drop --redis`);
  }
  return p;
}
