/**
 * Node registry: typed wrappers over the node-cell Lua scripts (register, heartbeat,
 * offline, draining, stale-node reaping) and plain readers for the cluster API.
 *
 * A node lives in one cell (`ks.cellOf(nodeId)`); every script runs inside that cell's
 * hash tag. Pool membership rule (enforced in Lua, lua/includes/cell-caps.lua): a node
 * serves pairs only if its services include both 'asr' and 'nmt'; it then joins every
 * directed pool asrLang:ttsLang with asrLang !== ttsLang. 'tts' is optional (speech output);
 * with it the node is also in each pool's TTS index, the only one `features.tts` jobs use.
 */
import { LinguaScriptError, ScriptErrorCode } from './errors';
import type { Keyspace } from './keys';
import type { RedisClient } from './redis';
import { SCRIPTS } from './script-defs.gen';
import { runScript } from './scripts';

/**
 * Only 'online' nodes are selected. 'warmup' (registered with ready: false) and 'unavailable'
 * (node_unavailable) are live but take no new job (protocol v1.7); 'draining' finishes its jobs.
 */
export type NodeState = 'warmup' | 'online' | 'unavailable' | 'draining' | 'offline';

export interface NodeCapabilities {
  /** e.g. ['asr', 'nmt', 'tts']; 'asr' and 'nmt' are required to join any pool */
  services: string[];
  asrLangs: string[];
  /** target languages (named after the protocol's tts_langs) */
  ttsLangs: string[];
  maxConcurrentJobs: number;
  /** free-form: hardware, version, platform; stored as JSON */
  info?: Record<string, unknown>;
}

/** One slot reservation, "<jobId>|<attempt>" in Redis. */
export interface HeldReservation {
  jobId: string;
  attempt: number;
}

export interface NodeRecord {
  nodeId: string;
  cell: number;
  state: NodeState;
  instance: string;
  epoch: number;
  maxConcurrentJobs: number;
  /** slot reservations held (authoritative load) */
  running: number;
  services: string[];
  asrLangs: string[];
  ttsLangs: string[];
  pools: string[];
  info: Record<string, unknown>;
  lastHeartbeat: number;
  registeredAt: number;
  /** running jobs the node itself reported in its last heartbeat */
  reportedRunning: number;
  cpu: number | null;
  gpu: number | null;
  mem: number | null;
  /** why the node said it is unavailable ('' when it gave no reason or is not) */
  reason: string;
  /** pairs it left after MODEL_NOT_AVAILABLE, until it reports the model again (v1.7) */
  lostModels: string[];
  /** its last heartbeat's resource load was above the hot threshold: chosen after cool nodes (v1.9) */
  hot: boolean;
}

const TOKEN_RE = /^[A-Za-z0-9_-]{1,32}$/;
const ID_RE = /^[^,|\s]{1,128}$/;

function bad(script: string, detail: string): never {
  throw new LinguaScriptError(ScriptErrorCode.BAD_ARGUMENT, script, detail);
}

export function assertId(script: string, what: string, id: string): void {
  if (!ID_RE.test(id)) bad(script, `${what} must be 1-128 chars without ',', '|' or spaces`);
}

function tokens(script: string, what: string, list: string[]): string {
  if (list.length > 64) bad(script, `${what}: at most 64 entries`);
  for (const t of list) if (!TOKEN_RE.test(t)) bad(script, `${what}: invalid entry ${JSON.stringify(t)}`);
  return list.join(',');
}

function capsArgs(script: string, caps: NodeCapabilities): string[] {
  const max = caps.maxConcurrentJobs;
  if (!Number.isInteger(max) || max < 1 || max > 10_000) bad(script, 'maxConcurrentJobs must be 1..10000');
  return [
    String(max),
    tokens(script, 'services', caps.services),
    tokens(script, 'asrLangs', caps.asrLangs),
    tokens(script, 'ttsLangs', caps.ttsLangs),
    JSON.stringify(caps.info ?? {}),
  ];
}

export function splitCsv(s: string | null | undefined): string[] {
  return s ? s.split(',').filter(Boolean) : [];
}

/** "<jobId>|<attempt>" -> parts (job ids never contain '|'). */
export function parseReservationId(rid: string): HeldReservation {
  const i = rid.lastIndexOf('|');
  return { jobId: rid.slice(0, i), attempt: Number(rid.slice(i + 1)) };
}

/**
 * Records in the global `{g}` hints that `cell` serves these pairs; select-node verifies in
 * the cell. Hints of pairs nobody serves any more are removed by pruneEmptyPairHints
 * (node-forget.ts), in an order that cannot lose a concurrent registration's hint.
 */
async function addPairHints(redis: RedisClient, ks: Keyspace, cell: number, pools: string[]): Promise<void> {
  if (pools.length === 0) return;
  // One MULTI (all keys share the {g} tag: one slot on a cluster): the pair list and the
  // paircells keys appear together, so pruneEmptyPairHints (which finds paircells keys through
  // the list, and removes both in one MULTI too) can never leave one without the other.
  const p = redis.multi();
  p.sadd(ks.allPairs(), ...pools);
  for (const pair of pools) {
    const [src, tgt] = pair.split(':') as [string, string];
    p.sadd(ks.pairCells(src, tgt), String(cell));
  }
  const res = await p.exec();
  const err = res?.find(([e]) => e)?.[0];
  if (err) throw err;
}

/** Most job ids a node may list (protocol v1.4 `job_ids`); the Lua scripts enforce the same. */
export const MAX_LISTED_JOBS = 4096;

function listArgs(script: string, jobIds: readonly string[] | undefined): [string, string] {
  if (jobIds === undefined) return ['', ''];
  if (jobIds.length > MAX_LISTED_JOBS) bad(script, `jobIds: at most ${MAX_LISTED_JOBS}`);
  for (const id of jobIds) assertId(script, 'jobIds', id);
  return ['1', jobIds.join(',')];
}

export interface RegisterNodeParams {
  nodeId: string;
  instance: string;
  capabilities: NodeCapabilities;
  now: number;
  /** unique per connection attempt: a re-sent registration then does not bump the epoch */
  registrationId?: string;
  /** the jobs the node says it is working on (v1.4); undefined when it sent no list */
  jobIds?: readonly string[];
  /** false: registers in state 'warmup', selected for nothing until setNodeReadiness (v1.7) */
  ready?: boolean;
}

export interface RegisterNodeResult {
  epoch: number;
  /** directed pools joined, "src:tgt", sorted */
  pools: string[];
  cell: number;
  /** the registration this one replaced while it was still live (half-open or unclosed socket) */
  previous: { instance: string; epoch: number } | null;
  /** reservations to fail over now (not listed, or the node had gone offline) */
  lost: HeldReservation[];
  /** reservations of a node that sent no list: fail over unless answered within a grace period */
  unconfirmed: HeldReservation[];
}

/** register-node-7.lua, then the global pair -> cell hints. */
export async function registerNode(
  redis: RedisClient,
  ks: Keyspace,
  params: RegisterNodeParams,
): Promise<RegisterNodeResult> {
  assertId('registerNode', 'nodeId', params.nodeId);
  if (!params.instance) bad('registerNode', 'instance is required');
  const cell = ks.cellOf(params.nodeId);
  const caps = capsArgs('registerNode', params.capabilities);
  const list = listArgs('registerNode', params.jobIds);
  const [epoch, poolsCsv, prevInstance, prevEpoch, lost, unconfirmed] = await runScript<
    [number, string, string, number, string[], string[]]
  >(
    redis,
    SCRIPTS.registerNode,
    [
      ks.node(params.nodeId),
      ks.nodeJobs(params.nodeId),
      ks.heartbeats(cell),
      ks.cellNodes(cell),
      ks.cellPairs(cell),
      ks.reservationNodes(cell),
      ks.lostNodes(cell),
    ],
    [
      params.nodeId,
      params.instance,
      params.registrationId ?? '',
      params.now,
      caps[0]!,
      caps[1]!,
      caps[2]!,
      caps[3]!,
      caps[4]!,
      ...list,
      params.ready === false ? 'warmup' : 'online',
    ],
  );
  const pools = splitCsv(poolsCsv);
  await addPairHints(redis, ks, cell, pools);
  return {
    epoch,
    pools,
    cell,
    previous: prevInstance ? { instance: prevInstance, epoch: Number(prevEpoch) } : null,
    lost: lost.map(parseReservationId),
    unconfirmed: unconfirmed.map(parseReservationId),
  };
}

export interface NodeHeartbeatParams {
  nodeId: string;
  /** epoch returned by registerNode for this connection */
  epoch: number;
  instance: string;
  now: number;
  runningJobs: number;
  cpu?: number;
  gpu?: number;
  mem?: number;
  /** new capabilities: pools are re-assigned atomically when they changed */
  capabilities?: NodeCapabilities;
  /**
   * v1.7 `node_heartbeat.ready`, a level: true as node_ready; false takes an online node out
   * of selection (a node still warming up stays in warmup); undefined = not reported
   */
  ready?: boolean;
  /** v1.7 `node_heartbeat.models`: lost pairs listed here rejoin their pools */
  models?: readonly string[];
  /**
   * v1.9: the heartbeat's load is above the hot threshold (`isHot`): the node is chosen only
   * after every cool node; undefined keeps the stored flag
   */
  hot?: boolean;
}

/** Default of LINGUA_NODE_HOT_THRESHOLD: the seeds' 25% headroom. */
export const DEFAULT_HOT_THRESHOLD = 0.75;

/**
 * A node is hot (v1.9) when any reported load fraction (cpu, gpu, mem) is above the
 * threshold. Unreported parts do not count; a heartbeat without `resource` is not hot. Pure.
 */
export function isHot(
  resource: { cpu?: number; gpu?: number; mem?: number } | undefined,
  threshold: number,
): boolean {
  if (!resource) return false;
  return [resource.cpu, resource.gpu, resource.mem].some((v) => typeof v === 'number' && v > threshold);
}

/** Most pairs a heartbeat's `models` may list (v1.7); the Lua enforces the same. */
export const MAX_HEARTBEAT_MODELS = 256;

export interface NodeHeartbeatResult {
  pools: string[];
  poolsChanged: boolean;
}

/** node-heartbeat-3.lua. Throws NODE_OFFLINE when the registration is not current. */
export async function nodeHeartbeat(
  redis: RedisClient,
  ks: Keyspace,
  params: NodeHeartbeatParams,
): Promise<NodeHeartbeatResult> {
  const cell = ks.cellOf(params.nodeId);
  const caps = params.capabilities ? capsArgs('nodeHeartbeat', params.capabilities) : ['', '', '', '', ''];
  const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '' : String(v));
  const [poolsCsv, changed] = await runScript<[string, number]>(
    redis,
    SCRIPTS.nodeHeartbeat,
    [ks.node(params.nodeId), ks.heartbeats(cell), ks.cellPairs(cell)],
    [
      params.nodeId,
      params.epoch,
      params.instance,
      params.now,
      params.runningJobs,
      num(params.cpu),
      num(params.gpu),
      num(params.mem),
      params.capabilities ? '1' : '0',
      caps[0]!,
      caps[1]!,
      caps[2]!,
      caps[3]!,
      caps[4]!,
      params.ready === undefined ? '' : params.ready ? 'ready' : 'not_ready',
      params.models ? '1' : '',
      params.models ? params.models.slice(0, MAX_HEARTBEAT_MODELS).join(',') : '',
      params.hot === undefined ? '' : params.hot ? '1' : '0',
    ],
  );
  const pools = splitCsv(poolsCsv);
  if (changed === 1) await addPairHints(redis, ks, cell, pools);
  return { pools, poolsChanged: changed === 1 };
}

export interface NodeOfflineParams {
  nodeId: string;
  /** epoch of the closing connection; omit to force (stale reaper, admin) */
  epoch?: number;
  now: number;
}

/**
 * node-offline-6.lua: leaves every pool and returns the node's reservations for failover
 * (each is released by the caller's job-fail + release-slot). Throws NODE_MISMATCH when
 * `epoch` is not the current registration.
 */
export async function nodeOffline(
  redis: RedisClient,
  ks: Keyspace,
  params: NodeOfflineParams,
): Promise<HeldReservation[]> {
  const cell = ks.cellOf(params.nodeId);
  const rids = await runScript<string[]>(
    redis,
    SCRIPTS.nodeOffline,
    [
      ks.node(params.nodeId),
      ks.nodeJobs(params.nodeId),
      ks.heartbeats(cell),
      ks.cellPairs(cell),
      ks.reservationNodes(cell),
      ks.lostNodes(cell),
    ],
    [params.nodeId, params.epoch ?? '', params.now],
  );
  return rids.map(parseReservationId);
}

export interface SetDrainingParams {
  nodeId: string;
  epoch?: number;
  /** true (default) drains, false resumes */
  draining?: boolean;
}

/** set-draining-1.lua: returns true when the state changed. */
export async function setDraining(
  redis: RedisClient,
  ks: Keyspace,
  params: SetDrainingParams,
): Promise<boolean> {
  const r = await runScript<number>(
    redis,
    SCRIPTS.setDraining,
    [ks.node(params.nodeId)],
    [params.nodeId, params.epoch ?? '', params.draining === false ? '0' : '1'],
  );
  return r === 1;
}

export interface NodeReadinessParams {
  nodeId: string;
  /** epoch returned by registerNode for this connection */
  epoch: number;
  instance: string;
  ready: boolean;
  /** node_unavailable.reason (at most 256 characters are kept) */
  reason?: string;
}

/**
 * node-readiness-1.lua (protocol v1.7 node_ready / node_unavailable): true when the state
 * changed. Throws NODE_OFFLINE when the registration is not current.
 */
export async function setNodeReadiness(
  redis: RedisClient,
  ks: Keyspace,
  params: NodeReadinessParams,
): Promise<boolean> {
  const r = await runScript<number>(
    redis,
    SCRIPTS.nodeReadiness,
    [ks.node(params.nodeId)],
    [
      params.nodeId,
      params.epoch,
      params.instance,
      params.ready ? 'ready' : 'unavailable',
      (params.reason ?? '').slice(0, 256),
    ],
  );
  return r === 1;
}

export interface StaleNode {
  nodeId: string;
  reservations: HeldReservation[];
  /** 'stale': missed heartbeats, taken offline now; 'lost': offline earlier, failover unfinished */
  kind: 'stale' | 'lost';
}

/**
 * reap-stale-nodes-4.lua: at most `limit` nodes of one cell with last heartbeat < now -
 * timeout (taken offline), and at most `limit` offline nodes whose reservations were not
 * failed over `graceMs` after they went offline.
 */
export async function reapStaleNodes(
  redis: RedisClient,
  ks: Keyspace,
  params: { cell: number; now: number; timeoutMs: number; limit: number; graceMs?: number },
): Promise<StaleNode[]> {
  const rows = await runScript<[string, string[], 'stale' | 'lost'][]>(
    redis,
    SCRIPTS.reapStaleNodes,
    [
      ks.heartbeats(params.cell),
      ks.cellPairs(params.cell),
      ks.reservationNodes(params.cell),
      ks.lostNodes(params.cell),
    ],
    [params.now, params.timeoutMs, params.limit, params.graceMs ?? 1000],
  );
  return rows.map(([nodeId, rids, kind]) => ({ nodeId, reservations: rids.map(parseReservationId), kind }));
}

// --- plain readers (no Lua): for the cluster API and dashboard ---

function numOrNull(v: string | undefined): number | null {
  if (v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function parseInfo(s: string | undefined): Record<string, unknown> {
  try {
    const v = s ? JSON.parse(s) : {};
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

export function toNodeRecord(ks: Keyspace, h: Record<string, string>): NodeRecord | null {
  if (!h.node_id) return null;
  return {
    nodeId: h.node_id,
    cell: ks.cellOf(h.node_id),
    state: (h.state ?? 'offline') as NodeState,
    instance: h.instance ?? '',
    epoch: Number(h.epoch ?? 0),
    maxConcurrentJobs: Number(h.max ?? 0),
    running: Number(h.running ?? 0),
    services: splitCsv(h.services),
    asrLangs: splitCsv(h.asr),
    ttsLangs: splitCsv(h.tts),
    pools: splitCsv(h.pools),
    info: parseInfo(h.caps),
    lastHeartbeat: Number(h.last_hb ?? 0),
    registeredAt: Number(h.registered_at ?? 0),
    reportedRunning: Number(h.reported_running ?? 0),
    cpu: numOrNull(h.cpu),
    gpu: numOrNull(h.gpu),
    mem: numOrNull(h.mem),
    reason: h.reason ?? '',
    lostModels: splitCsv(h.mlost),
    hot: h.hot === '1',
  };
}

export async function getNode(redis: RedisClient, ks: Keyspace, nodeId: string): Promise<NodeRecord | null> {
  return toNodeRecord(ks, await redis.hgetall(ks.node(nodeId)));
}

/** Every node ever registered in a cell (offline ones included), sorted by id. */
export async function listNodes(redis: RedisClient, ks: Keyspace, cell: number): Promise<NodeRecord[]> {
  const ids = (await redis.smembers(ks.cellNodes(cell))).sort();
  if (ids.length === 0) return [];
  const p = redis.pipeline(); // same cell tag: one slot
  for (const id of ids) p.hgetall(ks.node(id));
  const res = (await p.exec()) ?? [];
  const out: NodeRecord[] = [];
  for (const [err, h] of res) {
    if (err) throw err;
    const rec = toNodeRecord(ks, h as Record<string, string>);
    if (rec) out.push(rec);
  }
  return out;
}

export interface PoolMembers {
  /** nodes with a free slot, least loaded first (load = running / max) */
  available: { nodeId: string; load: number }[];
  /** every online or draining node of the pool, sorted */
  all: string[];
}

export async function poolMembers(
  redis: RedisClient,
  ks: Keyspace,
  params: { cell: number; src: string; tgt: string },
): Promise<PoolMembers> {
  const { cell, src, tgt } = params;
  const [avail, all] = await Promise.all([
    redis.zrange(ks.pool(cell, src, tgt), 0, -1, 'WITHSCORES'),
    redis.smembers(ks.poolAll(cell, src, tgt)),
  ]);
  const available: { nodeId: string; load: number }[] = [];
  for (let i = 0; i + 1 < avail.length; i += 2)
    available.push({ nodeId: avail[i]!, load: Number(avail[i + 1]) });
  return { available, all: all.sort() };
}

/** "src:tgt" -> number of online/draining nodes of that pool in the cell. */
export async function cellPairs(
  redis: RedisClient,
  ks: Keyspace,
  cell: number,
): Promise<Record<string, number>> {
  const h = await redis.hgetall(ks.cellPairs(cell));
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number(v)]));
}
