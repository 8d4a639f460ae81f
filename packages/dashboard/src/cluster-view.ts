/**
 * What the cluster looks like, read from Redis only: instances (presence), nodes and pools
 * (node cells), job counts, the DLQ and recent job events. Every gateway (`/api/v1/*`, the
 * dashboard feed) and `lingua status --redis` use these readers, so they all answer the same.
 *
 * Job rates and latency come from the per-shard `events` streams (lua/includes/job.lua):
 * stream ids start with the ms timestamp, so an incremental XRANGE keeps a rolling window.
 * Commands are single-key (no cross-slot pipelines): this works on Redis Cluster too.
 */
import {
  JOB_STATES,
  type Keyspace,
  LIVE_STATES,
  listNodes,
  type NodeRecord,
  Presence,
  parseJobEvent,
  type RedisClient,
} from '@lingua/cluster';

export interface InstanceView {
  id: string;
  alive: boolean;
  last_seen: number;
  /** Whatever the instance publishes in its presence meta (port, native, sessions, ...). */
  [meta: string]: unknown;
}

export interface NodeView {
  node_id: string;
  state: string;
  instance: string;
  cell: number;
  services: string[];
  asr_langs: string[];
  tts_langs: string[];
  pools: string[];
  running: number;
  max_concurrent_jobs: number;
  /** running / max (slot reservations, authoritative) */
  load: number;
  reported_running: number;
  cpu: number | null;
  gpu: number | null;
  mem: number | null;
  last_heartbeat: number;
  registered_at: number;
  /** protocol v1.7 `node_unavailable.reason` while the state is `unavailable` */
  unavailable_reason?: string;
  /** pairs it left after MODEL_NOT_AVAILABLE, until it reports the model again (v1.7) */
  models_lost?: string[];
  /** v1.9: cpu, gpu or mem above LINGUA_NODE_HOT_THRESHOLD: chosen only after cooler nodes */
  hot: boolean;
}

export interface PoolCell {
  /** live nodes in the pool (online, warmup, unavailable, draining) */
  nodes: number;
  /** online nodes with at least one free slot */
  available: number;
  free_slots: number;
}

export interface PoolMatrix {
  sources: string[];
  targets: string[];
  /** cells[src][tgt]; absent where no node ever offered the pair */
  cells: Record<string, Record<string, PoolCell>>;
}

export interface FailoverView {
  ts: number;
  job_id: string;
  /** timed_out | node_lost | failed */
  cause: string;
  attempt: number;
  node: string;
}

export interface DlqView {
  instance: string;
  length: number;
}

export interface ClusterView {
  ts: number;
  instances: InstanceView[];
  nodes: NodeView[];
  /** "src:tgt" -> pool facts (the flat form of pool_matrix) */
  pools: Record<string, PoolCell>;
  pool_matrix: PoolMatrix;
  /** jobs currently in each FSM state */
  jobs: Record<string, number>;
  dlq_length: number;
  dlq: DlqView[];
  recent_failovers: FailoverView[];
}

export interface TimelineBucket {
  /** bucket start, ms */
  t: number;
  created: number;
  completed: number;
  failed: number;
  failovers: number;
  /** completed per second over the bucket (the current bucket: over its elapsed part) */
  jobs_per_s: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
}

export interface RateSummary {
  window_ms: number;
  created: number;
  completed: number;
  failed: number;
  failovers: number;
  completed_per_s: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  latency_max_ms: number | null;
}

export interface StatsView {
  ts: number;
  jobs: { by_state: Record<string, number>; total: number; live: number; waiting: number };
  last_minute: RateSummary;
  timeline: { window_ms: number; bucket_ms: number; buckets: TimelineBucket[]; truncated: boolean };
  totals: {
    instances: number;
    instances_alive: number;
    nodes: number;
    nodes_online: number;
    sessions: number | null;
  };
  /** per instance: presence meta the instance publishes (connection counts, counters) */
  instances: InstanceView[];
  dlq_length: number;
}

export interface ViewOptions {
  /** rolling window for the timeline, default 5 min */
  windowMs?: number;
  /** timeline bucket, default 5 s */
  bucketMs?: number;
  /** entries read per shard and refresh (the stream itself is capped near 10 000) */
  scanLimit?: number;
  /** recent failovers kept, default 20 */
  failovers?: number;
}

const LIVE = new Set(['dispatched', 'accepted', 'running']);
const WAITING = new Set(['created', 'retrying']);

export function toNodeView(n: NodeRecord): NodeView {
  return {
    node_id: n.nodeId,
    state: n.state,
    instance: n.instance,
    cell: n.cell,
    services: n.services,
    asr_langs: n.asrLangs,
    tts_langs: n.ttsLangs,
    pools: n.pools,
    running: n.running,
    max_concurrent_jobs: n.maxConcurrentJobs,
    load: n.maxConcurrentJobs ? Math.min(1, n.running / n.maxConcurrentJobs) : 0,
    reported_running: n.reportedRunning,
    cpu: n.cpu,
    gpu: n.gpu,
    mem: n.mem,
    last_heartbeat: n.lastHeartbeat,
    registered_at: n.registeredAt,
    ...(n.state === 'unavailable' && n.reason ? { unavailable_reason: n.reason } : {}),
    ...(n.lostModels.length ? { models_lost: n.lostModels } : {}),
    hot: n.hot,
  };
}

/** Pools from node records (pure): node counts and free slots per directed pair. */
export function poolsOf(
  nodes: NodeView[],
  knownPairs: string[],
): { pools: Record<string, PoolCell>; matrix: PoolMatrix } {
  const pools: Record<string, PoolCell> = {};
  for (const pair of knownPairs) pools[pair] = { nodes: 0, available: 0, free_slots: 0 };
  for (const n of nodes) {
    if (n.state === 'offline') continue;
    const free = n.state === 'online' ? Math.max(0, n.max_concurrent_jobs - n.running) : 0;
    for (const pair of n.pools) {
      pools[pair] ??= { nodes: 0, available: 0, free_slots: 0 };
      const p = pools[pair];
      p.nodes++;
      p.free_slots += free;
      if (free > 0) p.available++;
    }
  }
  const sources = new Set<string>();
  const targets = new Set<string>();
  const cells: PoolMatrix['cells'] = {};
  const sorted: Record<string, PoolCell> = {};
  for (const pair of Object.keys(pools).sort()) {
    const [src, tgt] = pair.split(':') as [string, string];
    sources.add(src);
    targets.add(tgt);
    sorted[pair] = pools[pair]!;
    cells[src] ??= {};
    cells[src][tgt] = pools[pair]!;
  }
  return { pools: sorted, matrix: { sources: [...sources].sort(), targets: [...targets].sort(), cells } };
}

/** One job event as read from a shard's `events` stream. */
export interface JobEvent {
  /** ms part of the stream id (Redis clock) */
  ms: number;
  id: string;
  job: string;
  from: string;
  to: string;
  attempt: number;
  node: string;
  /** gateway clock at the transition */
  ts: number;
  /** start of the span the event closes (job-model.ts JobEvent.since), 0 when none */
  since: number;
}

function parseEvent(id: string, fields: string[]): JobEvent {
  const e = parseJobEvent(fields); // the event record of the job model (job-model.ts)
  const ms = Number(id.slice(0, id.indexOf('-')));
  return {
    ms,
    id,
    job: e.job,
    from: e.from,
    to: e.to,
    attempt: e.attempt,
    node: e.node,
    ts: e.ts || ms,
    since: e.since,
  };
}

/** A `failed` event from one of these is an attempt's failure (its `since` is the dispatch). */
const LIVE_FROM = new Set<string>(LIVE_STATES);

/** Stream order: ms, then sequence (events of one job live in one shard stream). */
function compareEvents(a: JobEvent, b: JobEvent): number {
  if (a.ms !== b.ms) return a.ms - b.ms;
  return Number(a.id.slice(a.id.indexOf('-') + 1)) - Number(b.id.slice(b.id.indexOf('-') + 1));
}

function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p + 0.5))]!;
}

/**
 * Rates and latency from events (pure). Latency = created → completed of the same job, both
 * inside the window. A `failed` event followed by `retrying` is a failover, not a failure.
 */
export function summarize(
  events: JobEvent[],
  now: number,
  windowMs: number,
  bucketMs: number,
): { buckets: TimelineBucket[]; lastMinute: RateSummary } {
  const ordered = [...events].sort(compareEvents);
  const created = new Map<string, number>();
  const terminalFail = new Map<string, JobEvent>();
  const completions: { ms: number; latency: number | null }[] = [];
  const failovers: JobEvent[] = [];
  const creates: JobEvent[] = [];
  for (const e of ordered) {
    if (e.to === 'created') {
      created.set(e.job, e.ts);
      creates.push(e);
    } else if (e.to === 'completed') {
      // A job dispatched at once has no 'created' event: its outcome says when it was created.
      const c = created.get(e.job) ?? (e.since || undefined);
      if (!created.has(e.job) && e.since) creates.push({ ...e, ms: e.since });
      completions.push({ ms: e.ms, latency: c === undefined ? null : Math.max(0, e.ts - c) });
    } else if (e.to === 'failed') {
      if (!created.has(e.job) && e.since && !LIVE_FROM.has(e.from)) creates.push({ ...e, ms: e.since });
      terminalFail.set(e.job, e);
    } else if (e.to === 'retrying') {
      terminalFail.delete(e.job);
      failovers.push(e);
    }
  }
  const fails = [...terminalFail.values()];
  const first = Math.floor(now / bucketMs) * bucketMs - (Math.ceil(windowMs / bucketMs) - 1) * bucketMs;
  const n = Math.ceil(windowMs / bucketMs);
  const buckets: TimelineBucket[] = [];
  const lat: number[][] = [];
  for (let i = 0; i < n; i++) {
    buckets.push({
      t: first + i * bucketMs,
      created: 0,
      completed: 0,
      failed: 0,
      failovers: 0,
      jobs_per_s: 0,
      latency_p50_ms: null,
      latency_p95_ms: null,
    });
    lat.push([]);
  }
  const slot = (ms: number) => {
    const i = Math.floor((ms - first) / bucketMs);
    return i >= 0 && i < n ? i : -1;
  };
  for (const e of creates) {
    const i = slot(e.ms);
    if (i >= 0) buckets[i]!.created++;
  }
  for (const c of completions) {
    const i = slot(c.ms);
    if (i < 0) continue;
    buckets[i]!.completed++;
    if (c.latency !== null) lat[i]!.push(c.latency);
  }
  for (const e of fails) {
    const i = slot(e.ms);
    if (i >= 0) buckets[i]!.failed++;
  }
  for (const e of failovers) {
    const i = slot(e.ms);
    if (i >= 0) buckets[i]!.failovers++;
  }
  buckets.forEach((b, i) => {
    const span = Math.max(1000, Math.min(bucketMs, now - b.t));
    b.jobs_per_s = Math.round((b.completed / (span / 1000)) * 100) / 100;
    const l = lat[i]!.sort((x, y) => x - y);
    b.latency_p50_ms = percentile(l, 0.5);
    b.latency_p95_ms = percentile(l, 0.95);
  });
  const since = now - 60_000;
  const recentLat = completions
    .filter((c) => c.ms > since && c.latency !== null)
    .map((c) => c.latency!)
    .sort((x, y) => x - y);
  const completedLastMinute = completions.filter((c) => c.ms > since).length;
  return {
    buckets,
    lastMinute: {
      window_ms: 60_000,
      created: creates.filter((e) => e.ms > since).length,
      completed: completedLastMinute,
      failed: fails.filter((e) => e.ms > since).length,
      failovers: failovers.filter((e) => e.ms > since).length,
      completed_per_s: Math.round((completedLastMinute / 60) * 100) / 100,
      latency_p50_ms: percentile(recentLat, 0.5),
      latency_p95_ms: percentile(recentLat, 0.95),
      latency_max_ms: recentLat.length ? recentLat[recentLat.length - 1]! : null,
    },
  };
}

/**
 * Reads the cluster. Keeps a rolling window of job events per shard in memory (refreshed
 * incrementally by stream id), so a dashboard refresh every second costs only new entries.
 */
export class ClusterReader {
  private readonly windowMs: number;
  private readonly bucketMs: number;
  private readonly scanLimit: number;
  private readonly failoverLimit: number;
  private readonly events: JobEvent[][];
  private readonly cursor: (string | null)[];
  private truncated = false;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisClient,
    readonly ks: Keyspace,
    opts: ViewOptions = {},
  ) {
    this.windowMs = opts.windowMs ?? 300_000;
    this.bucketMs = opts.bucketMs ?? 5_000;
    this.scanLimit = opts.scanLimit ?? 10_000;
    this.failoverLimit = opts.failovers ?? 20;
    this.events = Array.from({ length: ks.shards }, () => []);
    this.cursor = Array.from({ length: ks.shards }, () => null);
  }

  async instances(): Promise<InstanceView[]> {
    const list = await Presence.list(this.redis, this.ks);
    return list
      .map((i) => ({ ...i.meta, id: i.id, alive: i.alive, last_seen: i.lastSeen }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async nodes(): Promise<NodeView[]> {
    const { redis, ks } = this;
    const cells = await Promise.all(Array.from({ length: ks.cells }, (_, c) => listNodes(redis, ks, c)));
    return cells
      .flat()
      .map(toNodeView)
      .sort((a, b) => (a.node_id < b.node_id ? -1 : 1));
  }

  async jobCounts(): Promise<Record<string, number>> {
    const perShard = await Promise.all(
      Array.from({ length: this.ks.shards }, (_, s) => this.redis.hgetall(this.ks.jobCounts(s))),
    );
    const out: Record<string, number> = {};
    for (const state of JOB_STATES) out[state] = 0;
    for (const h of perShard) {
      for (const [state, n] of Object.entries(h)) out[state] = (out[state] ?? 0) + Math.max(0, Number(n));
    }
    return out;
  }

  async dlq(): Promise<DlqView[]> {
    const ids = (await this.redis.smembers(this.ks.dlqIndex())).sort();
    const lens = await Promise.all(ids.map((id) => this.redis.xlen(this.ks.dlq(id))));
    return ids.map((instance, i) => ({ instance, length: lens[i]! }));
  }

  /** Pulls new job events from every shard (one refresh at a time). */
  refresh(now = Date.now()): Promise<void> {
    this.refreshing ??= this.doRefresh(now).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(now: number): Promise<void> {
    const floor = now - this.windowMs;
    let truncated = false;
    await Promise.all(
      this.events.map(async (list, s) => {
        const key = this.ks.events(s);
        const cur = this.cursor[s];
        // First read: the newest entries of the window; later: everything after the cursor.
        const raw = cur
          ? await this.redis.xrange(key, `(${cur}`, '+', 'COUNT', this.scanLimit)
          : (await this.redis.xrevrange(key, '+', String(floor), 'COUNT', this.scanLimit)).reverse();
        if (raw.length >= this.scanLimit) truncated = true;
        for (const [id, fields] of raw) list.push(parseEvent(id, fields));
        if (raw.length) this.cursor[s] = raw[raw.length - 1]![0];
        else if (!cur) this.cursor[s] = `${floor}-0`;
        let drop = 0;
        while (drop < list.length && list[drop]!.ms < floor) drop++;
        if (drop) list.splice(0, drop);
        // A burst larger than the window holds: keep the newest entries only.
        if (list.length > this.scanLimit * 2) list.splice(0, list.length - this.scanLimit * 2);
      }),
    );
    this.truncated = truncated;
  }

  private allEvents(): JobEvent[] {
    return this.events.flat();
  }

  recentFailovers(): FailoverView[] {
    return this.allEvents()
      .filter((e) => e.to === 'retrying')
      .sort((a, b) => b.ms - a.ms)
      .slice(0, this.failoverLimit)
      .map((e) => ({ ts: e.ts, job_id: e.job, cause: e.from, attempt: e.attempt, node: e.node }));
  }

  async cluster(now = Date.now()): Promise<ClusterView> {
    const [instances, nodes, pairs, jobs, dlq] = await Promise.all([
      this.instances(),
      this.nodes(),
      this.redis.smembers(this.ks.allPairs()),
      this.jobCounts(),
      this.dlq(),
      this.refresh(now),
    ]);
    const { pools, matrix } = poolsOf(nodes, pairs);
    return {
      ts: now,
      instances,
      nodes,
      pools,
      pool_matrix: matrix,
      jobs,
      dlq_length: dlq.reduce((n, d) => n + d.length, 0),
      dlq,
      recent_failovers: this.recentFailovers(),
    };
  }

  /** Stats from an already read cluster view (no second round of reads). */
  statsFrom(view: ClusterView, now = view.ts): StatsView {
    const { buckets, lastMinute } = summarize(this.allEvents(), now, this.windowMs, this.bucketMs);
    const byState = view.jobs;
    const sum = (pred: (s: string) => boolean) =>
      Object.entries(byState).reduce((n, [s, c]) => (pred(s) ? n + c : n), 0);
    const sessionCounts = view.instances.filter((i) => i.alive && typeof i.sessions === 'number');
    return {
      ts: now,
      jobs: {
        by_state: byState,
        total: sum(() => true),
        live: sum((s) => LIVE.has(s)),
        waiting: sum((s) => WAITING.has(s)),
      },
      last_minute: lastMinute,
      timeline: { window_ms: this.windowMs, bucket_ms: this.bucketMs, buckets, truncated: this.truncated },
      totals: {
        instances: view.instances.length,
        instances_alive: view.instances.filter((i) => i.alive).length,
        nodes: view.nodes.length,
        nodes_online: view.nodes.filter((n) => n.state === 'online').length,
        sessions: sessionCounts.length ? sessionCounts.reduce((n, i) => n + (i.sessions as number), 0) : null,
      },
      instances: view.instances,
      dlq_length: view.dlq_length,
    };
  }

  async stats(now = Date.now()): Promise<StatsView> {
    return this.statsFrom(await this.cluster(now), now);
  }
}
