/**
 * Does any node serve what a new session asks for? `session_init` asks before it admits a
 * session (protocol: NO_POOL_FOR_LANG_PAIR). Plain reads of the pool hints and the cells'
 * TTS member sets; selection itself re-checks in each cell, so a stale answer only means a
 * session that waits for a node (or one refused that could have waited).
 */
import type { Keyspace } from './keys';
import type { RedisClient } from './redis';

/**
 * 'ok', or why no node serves the session: the pair, or (with `tts`) a node with TTS for it,
 * or (with `twoWay`, v1.11) a node serving both directions.
 */
export type PoolCheck = 'ok' | 'no_pair' | 'no_tts' | 'no_two_way';

export async function checkPool(
  redis: RedisClient,
  ks: Keyspace,
  p: { src: string; tgt: string; tts?: boolean; twoWay?: boolean },
): Promise<PoolCheck> {
  const cells = (await redis.smembers(ks.pairCells(p.src, p.tgt))).map(Number).filter((c) => c < ks.cells);
  if (cells.length === 0) return p.twoWay ? 'no_two_way' : 'no_pair';
  if (!p.twoWay && !p.tts) return 'ok';
  // v1.9 / v1.11: a member of the cells' TTS or two-way index. One command per cell (different
  // slots on a Cluster), issued together.
  const sizes = await Promise.all(
    cells.map((c) => redis.scard(ks.selectionIndex(c, p.src, p.tgt, p).members)),
  );
  if (sizes.some((n) => n > 0)) return 'ok';
  return p.twoWay ? 'no_two_way' : 'no_tts';
}
