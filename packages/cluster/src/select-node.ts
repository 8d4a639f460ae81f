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
  /** v1.9: the job needs speech output: only nodes with the 'tts' service (the TTS index) */
  tts?: boolean;
  /**
   * v1.11: a two-way job between src and tgt: only nodes serving both directions (the pair's
   * two-way index); the node's language ID picks the direction. Not combined with `tts`.
   */
  twoWay?: boolean;
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

/**
 * select-node-5.lua in one cell. Throws NO_POOL_FOR_LANG_PAIR / NO_AVAILABLE_NODE, and with
 * `coolOnly` ONLY_HOT_NODES when only hot nodes are free there (nothing reserved).
 */
/** select-node-5.lua's KEYS and ARGV for one cell (also the first half of select-create-10). */
export function selectNodeCall(
  ks: Keyspace,
  cell: number,
  params: SelectNodeParams,
  coolOnly = false,
): {
  keys: [string, string, string, string, string];
  args: [string, string, string, number, string, string, number, number, string, string];
} {
  const index = ks.selectionIndex(cell, params.src, params.tgt, params);
  return {
    keys: [
      index.available,
      ks.cellPairs(cell),
      ks.reservations(cell),
      ks.reservationNodes(cell),
      index.members,
    ],
    args: [
      params.src,
      params.tgt,
      params.jobId,
      params.attempt,
      params.affinityNodeId ?? '',
      (params.exclude ?? []).join(','),
      params.now,
      params.leaseMs,
      index.capability === 'two_way' ? 'tw' : index.capability === 'tts' ? '1' : '',
      coolOnly ? '1' : '',
    ],
  };
}

export async function selectNodeInCell(
  redis: RedisClient,
  ks: Keyspace,
  cell: number,
  params: SelectNodeParams,
  coolOnly = false,
): Promise<SelectedNode> {
  const { keys, args } = selectNodeCall(ks, cell, params, coolOnly);
  const [nodeId, instance, reused] = await runScript<[string, string, number]>(
    redis,
    SCRIPTS.selectNode,
    keys,
    args,
  );
  return { nodeId, instance, cell, reused: reused === 1 };
}

/**
 * Selects and reserves a node for (src -> tgt): the affinity node's cell first, then every
 * cell hinted in `{g}:paircells:<src>:<tgt>`. Throws NO_POOL_FOR_LANG_PAIR only when no cell
 * serves the pair (with `tts`: no node with the 'tts' service does), else NO_AVAILABLE_NODE.
 *
 * Load (v1.9): within a cell, hot nodes (resource load above the threshold) come after every
 * cool one (select-node's score bands). Across cells, the first pass asks each cell for a
 * cool node only; cells that had only hot nodes free are tried again, in the same order,
 * only when no cell had a cool one. The last cell of the first pass may take a hot node when
 * no earlier cell had one, so a single cell (or a cluster without hot nodes) costs one script
 * per cell tried, as before.
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
  const affinityCell = params.affinityNodeId ? ks.cellOf(params.affinityNodeId) : undefined;
  // One cell: no hint lookup needed (saves a round trip on a single Redis).
  const hinted =
    ks.cells === 1 ? [0] : (await redis.smembers(ks.pairCells(params.src, params.tgt))).map(Number);
  const order = candidateCells(
    hinted.filter((c) => c < ks.cells),
    params.jobId,
    affinityCell,
  );
  let sawPool = false;
  const hotCells: number[] = [];
  for (let i = 0; i < order.length; i++) {
    const cell = order[i]!;
    const coolOnly = i < order.length - 1 || hotCells.length > 0;
    const r = await trySelect(redis, ks, cell, params, coolOnly);
    if ('node' in r) return r.node;
    sawPool ||= r.sawPool;
    if (r.onlyHot) hotCells.push(cell);
  }
  for (const cell of hotCells) {
    const r = await trySelect(redis, ks, cell, params, false);
    if ('node' in r) return r.node;
  }
  throw new LinguaScriptError(
    sawPool ? ScriptErrorCode.NO_AVAILABLE_NODE : ScriptErrorCode.NO_POOL_FOR_LANG_PAIR,
    'selectNode',
    `${params.src}:${params.tgt}${params.twoWay ? ' (two-way)' : params.tts ? ' (tts)' : ''}`,
  );
}

type CellAttempt = { node: SelectedNode } | { sawPool: boolean; onlyHot: boolean };

async function trySelect(
  redis: RedisClient,
  ks: Keyspace,
  cell: number,
  params: SelectNodeParams,
  coolOnly: boolean,
): Promise<CellAttempt> {
  // Only the affinity node's own cell can contain it; elsewhere it is not passed.
  const affinityNodeId =
    params.affinityNodeId && ks.cellOf(params.affinityNodeId) === cell ? params.affinityNodeId : '';
  try {
    return { node: await selectNodeInCell(redis, ks, cell, { ...params, affinityNodeId }, coolOnly) };
  } catch (err) {
    if (isScriptError(err, ScriptErrorCode.ONLY_HOT_NODES)) return { sawPool: true, onlyHot: true };
    if (isScriptError(err, ScriptErrorCode.NO_AVAILABLE_NODE)) return { sawPool: true, onlyHot: false };
    if (isScriptError(err, ScriptErrorCode.NO_POOL_FOR_LANG_PAIR)) return { sawPool: false, onlyHot: false };
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
  const r = await runScript<number>(redis, SCRIPTS.releaseSlot, releaseSlotKeys(ks, params.nodeId), [
    params.nodeId,
    params.jobId,
    params.attempt,
  ]);
  return r === 1;
}

/** release-slot-4.lua's KEYS for a node (also the second half of complete-release-10). */
export function releaseSlotKeys(ks: Keyspace, nodeId: string): [string, string, string, string] {
  const cell = ks.cellOf(nodeId);
  return [ks.reservationNodes(cell), ks.reservations(cell), ks.node(nodeId), ks.nodeJobs(nodeId)];
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
