/**
 * Node selection and the slot-reservation lifecycle: select (reserve, with a lease covering
 * the attempt) -> release (job done or failed over) or reap (lease expired: the dispatcher
 * died before recording the job). Each step is one Lua script inside one node cell;
 * selection across cells is this module's loop.
 */
import { isScriptError, LinguaScriptError, ScriptErrorCode } from './errors';
import { fnv1a } from './hash';
import type { Keyspace } from './keys';
import { assertId, type HeldReservation, parseReservationId } from './node-registry';
import type { RedisClient } from './redis';
import { SCRIPTS } from './script-defs.gen';
import { runScript } from './scripts';

export interface SelectNodeParams {
  src: string;
  tgt: string;
  jobId: string;
  attempt: number;
  /** the session's previous node: preferred while it has a free slot */
  affinityNodeId?: string;
  /** nodes that must not be chosen (failover) */
  exclude?: string[];
  now: number;
  /** the reservation expires after this many ms (the attempt's time plus a grace) */
  leaseMs: number;
}

export interface SelectedNode {
  nodeId: string;
  /** gateway instance owning the node's connection */
  instance: string;
  cell: number;
  /** true when this (jobId, attempt) had already been reserved (a re-send) */
  reused: boolean;
}

/**
 * Order in which cells are tried: the affinity node's cell first, then the hinted cells
 * rotated by hash(jobId) so concurrent selections spread over cells. Pure.
 */
export function candidateCells(hinted: readonly number[], jobId: string, affinityCell?: number): number[] {
  const cells = [...new Set(hinted)].filter((c) => c !== affinityCell).sort((a, b) => a - b);
  const start = cells.length ? fnv1a(jobId) % cells.length : 0;
  const rotated = [...cells.slice(start), ...cells.slice(0, start)];
  return affinityCell === undefined ? rotated : [affinityCell, ...rotated];
}

/** select-node-4.lua in one cell. Throws NO_POOL_FOR_LANG_PAIR / NO_AVAILABLE_NODE. */
export async function selectNodeInCell(
  redis: RedisClient,
  ks: Keyspace,
  cell: number,
  params: SelectNodeParams,
): Promise<SelectedNode> {
  const [nodeId, instance, reused] = await runScript<[string, string, number]>(
    redis,
    SCRIPTS.selectNode,
    [
      ks.pool(cell, params.src, params.tgt),
      ks.cellPairs(cell),
      ks.reservations(cell),
      ks.reservationNodes(cell),
    ],
    [
      params.src,
      params.tgt,
      params.jobId,
      params.attempt,
      params.affinityNodeId ?? '',
      (params.exclude ?? []).join(','),
      params.now,
      params.leaseMs,
    ],
  );
  return { nodeId, instance, cell, reused: reused === 1 };
}

/**
 * Selects and reserves a node for (src -> tgt): the affinity node's cell first, then every
 * cell hinted in `{g}:paircells:<src>:<tgt>`. Throws NO_POOL_FOR_LANG_PAIR only when no cell
 * serves the pair, else NO_AVAILABLE_NODE.
 *
 * Re-sending the same (jobId, attempt) returns the existing reservation when the retry
 * reaches the same cell first (the order is deterministic per jobId); a reservation left
 * behind elsewhere is reclaimed by its lease.
 */
export async function selectNode(
  redis: RedisClient,
  ks: Keyspace,
  params: SelectNodeParams,
): Promise<SelectedNode> {
  assertId('selectNode', 'jobId', params.jobId);
  for (const id of params.exclude ?? []) assertId('selectNode', 'exclude', id);
  const tried = new Set<number>();
  let sawPool = false;
  if (params.affinityNodeId) {
    const cell = ks.cellOf(params.affinityNodeId);
    tried.add(cell);
    const r = await trySelect(redis, ks, cell, params);
    if ('node' in r) return r.node;
    sawPool ||= r.sawPool;
  }
  // One cell: no hint lookup needed (saves a round trip on a single Redis).
  const hinted =
    ks.cells === 1 ? [0] : (await redis.smembers(ks.pairCells(params.src, params.tgt))).map(Number);
  for (const cell of candidateCells(hinted, params.jobId)) {
    if (tried.has(cell) || cell >= ks.cells) continue;
    tried.add(cell);
    const r = await trySelect(redis, ks, cell, params);
    if ('node' in r) return r.node;
    sawPool ||= r.sawPool;
  }
  throw new LinguaScriptError(
    sawPool ? ScriptErrorCode.NO_AVAILABLE_NODE : ScriptErrorCode.NO_POOL_FOR_LANG_PAIR,
    'selectNode',
    `${params.src}:${params.tgt}`,
  );
}

type CellAttempt = { node: SelectedNode } | { sawPool: boolean };

async function trySelect(
  redis: RedisClient,
  ks: Keyspace,
  cell: number,
  params: SelectNodeParams,
): Promise<CellAttempt> {
  // Only the affinity node's own cell can contain it; elsewhere it is not passed.
  const affinityNodeId =
    params.affinityNodeId && ks.cellOf(params.affinityNodeId) === cell ? params.affinityNodeId : '';
  try {
    return { node: await selectNodeInCell(redis, ks, cell, { ...params, affinityNodeId }) };
  } catch (err) {
    if (isScriptError(err, ScriptErrorCode.NO_AVAILABLE_NODE)) return { sawPool: true };
    if (isScriptError(err, ScriptErrorCode.NO_POOL_FOR_LANG_PAIR)) return { sawPool: false };
    throw err;
  }
}

export interface ReservationRef {
  nodeId: string;
  jobId: string;
  attempt: number;
}

/** release-slot-4.lua: true when released now, false when already released. Throws NODE_MISMATCH. */
export async function releaseSlot(
  redis: RedisClient,
  ks: Keyspace,
  params: ReservationRef,
): Promise<boolean> {
  const cell = ks.cellOf(params.nodeId);
  const r = await runScript<number>(
    redis,
    SCRIPTS.releaseSlot,
    [ks.reservationNodes(cell), ks.reservations(cell), ks.node(params.nodeId), ks.nodeJobs(params.nodeId)],
    [params.nodeId, params.jobId, params.attempt],
  );
  return r === 1;
}

export interface ReapedLease extends HeldReservation {
  nodeId: string;
}

/** reap-leases-2.lua: releases at most `limit` expired reservations of one cell. */
export async function reapLeases(
  redis: RedisClient,
  ks: Keyspace,
  params: { cell: number; now: number; limit: number },
): Promise<ReapedLease[]> {
  const items = await runScript<string[]>(
    redis,
    SCRIPTS.reapLeases,
    [ks.reservations(params.cell), ks.reservationNodes(params.cell)],
    [params.now, params.limit],
  );
  return items.map((item) => {
    const i = item.lastIndexOf('|');
    return { ...parseReservationId(item.slice(0, i)), nodeId: item.slice(i + 1) };
  });
}
