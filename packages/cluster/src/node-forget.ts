/**
 * Forgetting what departed nodes leave behind (docs/security.md, "Quotas and bounds"): the
 * records of nodes offline for longer than the forget time (forget-nodes-1.lua), and the global
 * pair hints (`{g}:pairs`, `{g}:paircells:*`) of pairs no cell serves any more.
 */
import type { Keyspace } from './keys';
import type { RedisClient } from './redis';
import { SCRIPTS } from './script-defs.gen';
import { runScript } from './scripts';

/**
 * Scans one cell's node list (bounded: at most `maxSteps` script calls of `count` ids each)
 * and deletes nodes offline for longer than `forgetMs`. Returns the forgotten ids.
 */
export async function forgetOfflineNodes(
  redis: RedisClient,
  ks: Keyspace,
  p: { cell: number; now: number; forgetMs: number; count?: number; maxSteps?: number },
): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  for (let step = 0; step < (p.maxSteps ?? 50); step++) {
    const [next, ids] = await runScript<[string, string[]]>(
      redis,
      SCRIPTS.forgetNodes,
      [ks.cellNodes(p.cell)],
      [cursor, p.now, p.forgetMs, p.count ?? 200],
    );
    out.push(...ids);
    cursor = String(next);
    if (cursor === '0') break;
  }
  return out;
}

/** "src:tgt" -> cells whose `pairs` hash lists it (nodes online or draining there). */
async function servedPairs(redis: RedisClient, ks: Keyspace): Promise<Map<string, Set<number>>> {
  const cells = Array.from({ length: ks.cells }, (_, c) => c);
  const pairsPerCell = await Promise.all(cells.map((c) => redis.hkeys(ks.cellPairs(c))));
  const served = new Map<string, Set<number>>();
  pairsPerCell.forEach((pairs, cell) => {
    for (const pair of pairs) {
      const set = served.get(pair) ?? new Set<number>();
      served.set(pair, set);
      set.add(cell);
    }
  });
  return served;
}

function splitPair(pair: string): [string, string] | null {
  const i = pair.indexOf(':');
  return i > 0 ? [pair.slice(0, i), pair.slice(i + 1)] : null;
}

/**
 * Removes pair hints no cell backs any more. The hints live in `{g}` and the truth in each
 * cell, so no single script can decide this atomically. Safe order instead: remove what looked
 * unserved, then read the cells again and put back every pair served now. A registration
 * writes its hint after its cell script, so it either ran before the re-read (and is put back)
 * or writes its hint after the removal. Returns the pairs removed from `{g}:pairs`.
 */
export async function pruneEmptyPairHints(
  redis: RedisClient,
  ks: Keyspace,
  limit = 10_000,
): Promise<string[]> {
  const served = await servedPairs(redis, ks);
  const hinted = (await redis.sscan(ks.allPairs(), '0', 'COUNT', limit))[1];
  const removedPairs: string[] = [];
  // One MULTI for every removal (all keys share {g}: one slot), atomic against addPairHints'.
  const removal = redis.multi();
  let removals = 0;
  for (const pair of hinted) {
    const parts = splitPair(pair);
    const cells = served.get(pair);
    if (!cells) {
      removal.srem(ks.allPairs(), pair);
      if (parts) removal.del(ks.pairCells(parts[0], parts[1]));
      removedPairs.push(pair);
      removals++;
    } else if (parts && ks.cells > 1) {
      const stale = (await redis.smembers(ks.pairCells(parts[0], parts[1]))).filter(
        (c) => !cells.has(Number(c)),
      );
      if (stale.length) {
        removal.srem(ks.pairCells(parts[0], parts[1]), ...stale);
        removals++;
      }
    }
  }
  if (removals === 0) return removedPairs; // a MULTI never exec'd sends nothing
  await removal.exec();
  const readd = redis.multi();
  let readds = 0;
  for (const [pair, cells] of await servedPairs(redis, ks)) {
    const parts = splitPair(pair);
    if (!parts) continue;
    readd.sadd(ks.allPairs(), pair);
    readd.sadd(ks.pairCells(parts[0], parts[1]), ...[...cells].map(String));
    readds++;
  }
  if (readds) await readd.exec();
  return removedPairs;
}
