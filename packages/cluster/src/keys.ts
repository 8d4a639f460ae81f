/**
 * The one place that names Redis keys. Lua scripts receive every key known before they run in
 * KEYS (Redis Cluster routes and migrates by them); keys a script derives inside are built from
 * the declared keys' tag base with the same suffixes: the script loader generates a Lua table
 * `K` from LUA_KEY_SUFFIXES below, so the names live only here.
 *
 * Partitioning (docs/architecture.md): node cells `{c<N>}`, session shards `{s<N>}`, per-instance
 * `{i:<id>}`, and a few global keys under `{g}`.
 */
import { fnv1a } from './hash';
import { parseJobId } from './job-fsm';

/** The canonical name of a two-way pair: its languages in byte order (Lua: two_way_pair). */
export function twoWayPair(a: string, b: string): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

/** Suffixes appended to a tag base; shared with Lua as table `K`. */
export const LUA_KEY_SUFFIXES = {
  // cell {c<N>}
  node: 'node:', // hash per node
  nodeJobs: 'njobs:', // set per node: "<job>|<attempt>" reservations it holds
  pool: 'pool:', // zset per "src:tgt": available nodes (free slot) -> load
  poolAll: 'poolall:', // set per "src:tgt": every online node of the pool
  ttsPool: 'ttspool:', // zset per "src:tgt": available nodes with the 'tts' service -> load (v1.9)
  ttsAll: 'ttsall:', // set per "src:tgt": the members of poolall that have the 'tts' service
  twoWayPool: 'twpool:', // zset per canonical "a:b" (a < b): available nodes in both a:b and b:a (v1.11)
  twoWayAll: 'twall:', // set per canonical "a:b": the nodes in both poolall:a:b and poolall:b:a
  pairs: 'pairs', // hash "src:tgt" -> online node count in this cell
  hb: 'hb', // zset node -> last heartbeat ms (online nodes only)
  resv: 'resv', // zset "<job>|<attempt>" -> lease expiry ms
  resvNode: 'resvnode', // hash "<job>|<attempt>" -> node id
  nodes: 'nodes', // set of every node id ever registered in the cell (for listing)
  lost: 'lost', // zset node -> offline ms: offline nodes whose reservations still await failover
  // shard {s<N>}
  session: 'session:', // hash per session
  job: 'job:', // hash per job
  deadlines: 'deadlines', // zset job -> deadline ms (live jobs only)
  results: 'results:', // stream per session: ordered result log for resume
  events: 'events', // stream: job FSM transitions
  jobCounts: 'jobcounts', // hash state -> count of jobs currently in it
  // instance {i:<id>}
  inbox: 'inbox', // stream of envelopes for connections owned by the instance
  presence: 'presence', // string with PX TTL while the instance lives
  dlq: 'dlq', // stream: dead letters moved out of this inbox
  // meeting room {r:<tenant>/<room>} (rooms.ts)
  roomMembers: 'members', // hash session id -> member blob (JSON)
  roomFirst: 'first', // hash "<listener>|<speaker>" -> first utterance index the listener gets
  roomStats: 'stats', // hash b/c/p: utterances in the current and previous minute; speaker -> last counted index
} as const;

export interface KeyspaceOptions {
  prefix: string;
  cells: number;
  shards: number;
}

export class Keyspace {
  readonly prefix: string;
  readonly cells: number;
  readonly shards: number;

  constructor(opts: KeyspaceOptions) {
    if (!Number.isInteger(opts.cells) || opts.cells < 1) throw new Error('cells must be an integer >= 1');
    if (!Number.isInteger(opts.shards) || opts.shards < 1) throw new Error('shards must be an integer >= 1');
    // The first '}' of a key must close its hash tag (Lua's tagBase relies on it).
    if (/[{}]/.test(opts.prefix)) throw new Error('the key prefix must not contain { or }');
    this.prefix = opts.prefix;
    this.cells = opts.cells;
    this.shards = opts.shards;
  }

  cellOf(nodeId: string): number {
    return fnv1a(nodeId) % this.cells;
  }

  shardOf(sessionId: string): number {
    return fnv1a(sessionId) % this.shards;
  }

  /** Tag base of a node cell, e.g. `lingua:v1:{c3}:`; Lua builds cell keys from it. */
  cell(cell: number): string {
    return `${this.prefix}{c${cell}}:`;
  }

  cellOfNode(nodeId: string): string {
    return this.cell(this.cellOf(nodeId));
  }

  shard(shard: number): string {
    return `${this.prefix}{s${shard}}:`;
  }

  shardOfSession(sessionId: string): string {
    return this.shard(this.shardOf(sessionId));
  }

  instance(instanceId: string): string {
    return `${this.prefix}{i:${instanceId}}:`;
  }

  // --- concrete keys (TS side) ---
  node(nodeId: string): string {
    return this.cellOfNode(nodeId) + LUA_KEY_SUFFIXES.node + nodeId;
  }
  pool(cell: number, src: string, tgt: string): string {
    return this.cell(cell) + LUA_KEY_SUFFIXES.pool + `${src}:${tgt}`;
  }
  poolAll(cell: number, src: string, tgt: string): string {
    return this.cell(cell) + LUA_KEY_SUFFIXES.poolAll + `${src}:${tgt}`;
  }
  /** The TTS index of a pair (v1.9): available nodes with the 'tts' service. */
  ttsPool(cell: number, src: string, tgt: string): string {
    return this.cell(cell) + LUA_KEY_SUFFIXES.ttsPool + `${src}:${tgt}`;
  }
  /** The pair's members that have the 'tts' service (v1.9). */
  ttsAll(cell: number, src: string, tgt: string): string {
    return this.cell(cell) + LUA_KEY_SUFFIXES.ttsAll + `${src}:${tgt}`;
  }
  /** The two-way index of a language pair (v1.11), either order: nodes serving both directions. */
  twoWayPool(cell: number, a: string, b: string): string {
    return this.cell(cell) + LUA_KEY_SUFFIXES.twoWayPool + twoWayPair(a, b);
  }
  /** The nodes of the cell that serve both directions of the pair (v1.11). */
  twoWayAll(cell: number, a: string, b: string): string {
    return this.cell(cell) + LUA_KEY_SUFFIXES.twoWayAll + twoWayPair(a, b);
  }
  /**
   * Where a job of (src, tgt) selects in a cell: the available index and the set of its members.
   * The pair's pool; with TTS (v1.9) its TTS index; two-way (v1.11) its two-way index (the two
   * are not combined). `capability` says which index it is (null: the plain pool).
   */
  selectionIndex(
    cell: number,
    src: string,
    tgt: string,
    need: { tts?: boolean; twoWay?: boolean },
  ): { available: string; members: string; capability: 'tts' | 'two_way' | null } {
    if (need.twoWay) {
      return {
        available: this.twoWayPool(cell, src, tgt),
        members: this.twoWayAll(cell, src, tgt),
        capability: 'two_way',
      };
    }
    if (need.tts)
      return {
        available: this.ttsPool(cell, src, tgt),
        members: this.ttsAll(cell, src, tgt),
        capability: 'tts',
      };
    return { available: this.pool(cell, src, tgt), members: this.poolAll(cell, src, tgt), capability: null };
  }
  cellPairs(cell: number): string {
    return this.cell(cell) + LUA_KEY_SUFFIXES.pairs;
  }
  cellNodes(cell: number): string {
    return this.cell(cell) + LUA_KEY_SUFFIXES.nodes;
  }
  heartbeats(cell: number): string {
    return this.cell(cell) + LUA_KEY_SUFFIXES.hb;
  }
  reservations(cell: number): string {
    return this.cell(cell) + LUA_KEY_SUFFIXES.resv;
  }
  /** hash "<job>|<attempt>" -> node id holding that reservation. */
  reservationNodes(cell: number): string {
    return this.cell(cell) + LUA_KEY_SUFFIXES.resvNode;
  }
  /** zset node -> offline ms: offline nodes still holding reservations (failover pending). */
  lostNodes(cell: number): string {
    return this.cell(cell) + LUA_KEY_SUFFIXES.lost;
  }
  /** set of "<job>|<attempt>" reservations a node holds. */
  nodeJobs(nodeId: string): string {
    return this.cellOfNode(nodeId) + LUA_KEY_SUFFIXES.nodeJobs + nodeId;
  }
  /** `job:<jobId>` in the shard of the job's session (job ids are `<sessionId>.<index>`). */
  job(jobId: string): string {
    const parsed = parseJobId(jobId);
    if (!parsed) throw new Error(`malformed job id ${jobId}`);
    return this.shardOfSession(parsed.sessionId) + LUA_KEY_SUFFIXES.job + jobId;
  }
  session(sessionId: string): string {
    return this.shardOfSession(sessionId) + LUA_KEY_SUFFIXES.session + sessionId;
  }
  results(sessionId: string): string {
    return this.shardOfSession(sessionId) + LUA_KEY_SUFFIXES.results + sessionId;
  }
  deadlines(shard: number): string {
    return this.shard(shard) + LUA_KEY_SUFFIXES.deadlines;
  }
  events(shard: number): string {
    return this.shard(shard) + LUA_KEY_SUFFIXES.events;
  }
  jobCounts(shard: number): string {
    return this.shard(shard) + LUA_KEY_SUFFIXES.jobCounts;
  }
  inbox(instanceId: string): string {
    return this.instance(instanceId) + LUA_KEY_SUFFIXES.inbox;
  }
  presence(instanceId: string): string {
    return this.instance(instanceId) + LUA_KEY_SUFFIXES.presence;
  }
  dlq(instanceId: string): string {
    return this.instance(instanceId) + LUA_KEY_SUFFIXES.dlq;
  }

  // --- per-tenant keys {t:<tenant>}: quotas; every one has a TTL (docs/security.md) ---
  /** Tag base of a tenant. The tenant is encoded so no character of it can change the slot. */
  tenant(tenant: string): string {
    return `${this.prefix}{t:${encodeURIComponent(tenant)}}:`;
  }
  /** zset session id -> lease expiry ms: the tenant's live sessions (concurrency quota). */
  tenantSessions(tenant: string): string {
    return `${this.tenant(tenant)}sessions`;
  }
  /** hash session id -> owning connection id, beside tenantSessions. */
  tenantSessionConns(tenant: string): string {
    return `${this.tenant(tenant)}sessconn`;
  }
  /** zset room id -> expiry ms: the tenant's live meeting rooms (room limit). */
  tenantRooms(tenant: string): string {
    return `${this.tenant(tenant)}rooms`;
  }
  /** hash (tokens, ts): the tenant's utterance token bucket. */
  tenantRate(tenant: string): string {
    return `${this.tenant(tenant)}rate`;
  }
  /** hash (tokens, ts, rid): one session's utterance token bucket, in its tenant's slot. */
  sessionRate(tenant: string, sessionId: string): string {
    return `${this.tenant(tenant)}rate:${sessionId}`;
  }

  // --- meeting rooms {r:<tenant>/<room>}: membership only (docs/architecture.md "Rooms") ---
  /** Tag base of one room of one tenant; the tenant is encoded as in tenant(). */
  room(tenant: string, roomId: string): string {
    return `${this.prefix}{r:${encodeURIComponent(tenant)}/${roomId}}:`;
  }
  roomMembers(tenant: string, roomId: string): string {
    return this.room(tenant, roomId) + LUA_KEY_SUFFIXES.roomMembers;
  }
  roomFirst(tenant: string, roomId: string): string {
    return this.room(tenant, roomId) + LUA_KEY_SUFFIXES.roomFirst;
  }
  /** hash: the room's utterance counts per minute (room-fanout-3), for operators */
  roomStats(tenant: string, roomId: string): string {
    return this.room(tenant, roomId) + LUA_KEY_SUFFIXES.roomStats;
  }

  // --- global keys {g} ---
  /** zset instance -> last seen ms. */
  instances(): string {
    return `${this.prefix}{g}:instances`;
  }
  /** set of cell numbers that have (or had) nodes serving src:tgt; a hint, verified in-cell. */
  pairCells(src: string, tgt: string): string {
    return `${this.prefix}{g}:paircells:${src}:${tgt}`;
  }
  /** set of every "src:tgt" pair any node ever offered (for the cluster API). */
  allPairs(): string {
    return `${this.prefix}{g}:pairs`;
  }
  /** set of instance ids whose DLQ has entries. */
  dlqIndex(): string {
    return `${this.prefix}{g}:dlqs`;
  }
  /** lock key for draining a dead instance's inbox. */
  /** zset: instances whose inbox was drained and retired → when (late writes are drained again for a grace) */
  retiredInstances(): string {
    return `${this.prefix}{g}:retired`;
  }

  /** hash (tokens, ts): cluster-wide bucket of pool removals for MODEL_NOT_AVAILABLE (TTL). */
  modelLossRate(): string {
    return `${this.prefix}{g}:mlrate`;
  }
  /** hash (tokens, ts, rid): one node's bucket of pool removals, beside modelLossRate (TTL). */
  modelLossNodeRate(nodeId: string): string {
    return `${this.prefix}{g}:mlrate:${nodeId}`;
  }

  drainLock(deadInstanceId: string): string {
    return `${this.prefix}{g}:drainlock:${deadInstanceId}`;
  }
  /** bullmq prefix (bullmq adds its own `{queue}` hash tag). */
  bullPrefix(): string {
    return `${this.prefix}bull`;
  }
}
