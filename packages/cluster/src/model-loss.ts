/**
 * Model availability (protocol v1.7): a node that answers MODEL_NOT_AVAILABLE for a pair leaves
 * that pool (node-model-lost-2.lua) and rejoins when a heartbeat lists the pair in `models`
 * (node-heartbeat-3.lua) or it registers again. Removals are rate-limited cluster-wide and per
 * node with the token buckets of rate-take-2.lua under `{g}`, so a flapping node cannot churn
 * pools.
 */
import type { Keyspace } from './keys';
import type { RedisClient } from './redis';
import { SCRIPTS } from './script-defs.gen';
import { runScript } from './scripts';

export interface ModelLossLimits {
  /** pool removals per minute, cluster-wide (0 = no limit) */
  clusterPerMinute: number;
  /** pool removals per minute, per node (0 = no limit) */
  nodePerMinute: number;
}

/**
 * One token for a pool removal from the cluster-wide and the node's bucket at once; false when
 * either is empty (the report still fails its job over, the node just keeps its pools).
 * `requestId` (the job attempt) makes a re-send take one token only.
 */
export async function takeModelLossToken(
  redis: RedisClient,
  ks: Keyspace,
  p: { nodeId: string; now: number; requestId: string } & ModelLossLimits,
): Promise<boolean> {
  const perSecond = (perMinute: number) => perMinute / 60;
  const burst = (perMinute: number) => Math.max(1, Math.ceil(perMinute));
  const [ok] = await runScript<[number, number, string]>(
    redis,
    SCRIPTS.rateTake,
    [ks.modelLossRate(), ks.modelLossNodeRate(p.nodeId)],
    [
      p.now,
      1,
      '0',
      perSecond(p.clusterPerMinute),
      burst(p.clusterPerMinute),
      perSecond(p.nodePerMinute),
      burst(p.nodePerMinute),
      p.requestId,
    ],
  );
  return ok === 1;
}

/**
 * node-model-lost-2.lua: the node leaves the pool of `pair` ("src:tgt"). `removed` is false when
 * it was not in that pool (already lost, or never served). Throws NODE_OFFLINE when the
 * registration is not current.
 */
export async function nodeModelLost(
  redis: RedisClient,
  ks: Keyspace,
  p: { nodeId: string; epoch: number; instance: string; pair: string },
): Promise<{ removed: boolean; pools: string[] }> {
  const cell = ks.cellOf(p.nodeId);
  const [removed, pools] = await runScript<[number, string]>(
    redis,
    SCRIPTS.nodeModelLost,
    [ks.node(p.nodeId), ks.cellPairs(cell)],
    [p.nodeId, p.epoch, p.instance, p.pair],
  );
  return { removed: removed === 1, pools: pools ? pools.split(',') : [] };
}
