/**
 * Redis time per select+release for `npm run bench`'s summary (issue 14's target row): the same
 * pool as bench:select's first row (100 nodes, zh,en × zh,en,ja, 4 slots each, default config),
 * closed loops of selectNode then releaseSlot for a few seconds, and the server's own µs per
 * EVALSHA (INFO commandstats) × 2. bench:select has the full 100 → 100,000-node table.
 */
import type { Redis } from 'ioredis';
import { Keyspace } from '../../packages/cluster/src/keys';
import { registerNode } from '../../packages/cluster/src/node-registry';
import { connectRedis } from '../../packages/cluster/src/redis';
import { releaseSlot, selectNode } from '../../packages/cluster/src/select-node';

export interface SelectCost {
  nodes: number;
  /** select+release pairs per second, 4 connections × 16 loops */
  pairsPerSec: number;
  /** Redis-side µs of one select plus one release */
  redisUsPerPair: number;
}

export async function selectCost(redisUrl: string, admin: Redis, seconds = 3): Promise<SelectCost> {
  const nodes = 100;
  const ks = new Keyspace({ prefix: 'benchsel:', cells: 1, shards: 1 });
  const conns = Array.from({ length: 4 }, (_, i) =>
    connectRedis({ url: redisUrl, role: 'request', name: `sel-${i}` }),
  );
  try {
    await Promise.all(
      Array.from({ length: nodes }, (_, j) =>
        registerNode(conns[j % conns.length]!, ks, {
          nodeId: `node-${j}`,
          instance: 'gw-bench',
          capabilities: {
            services: ['asr', 'nmt', 'tts'],
            asrLangs: ['zh', 'en'],
            ttsLangs: ['zh', 'en', 'ja'],
            maxConcurrentJobs: 4,
          },
          now: Date.now(),
        }),
      ),
    );
    let seq = 0;
    let pairs = 0;
    const loop = async (r: (typeof conns)[number], end: number) => {
      while (performance.now() < end) {
        const jobId = `job-${seq++}`;
        const s = await selectNode(r, ks, {
          src: 'zh',
          tgt: 'en',
          jobId,
          attempt: 1,
          now: Date.now(),
          leaseMs: 60_000,
        });
        await releaseSlot(r, ks, { nodeId: s.nodeId, jobId, attempt: 1 });
        pairs++;
      }
    };
    await Promise.all(
      conns.flatMap((r) => Array.from({ length: 16 }, () => loop(r, performance.now() + 500))),
    ); // warm-up
    pairs = 0;
    await admin.config('RESETSTAT');
    const t0 = performance.now();
    await Promise.all(conns.flatMap((r) => Array.from({ length: 16 }, () => loop(r, t0 + seconds * 1000))));
    const secs = (performance.now() - t0) / 1000;
    const m = (await admin.info('commandstats')).match(/cmdstat_evalsha:.*usec_per_call=([\d.]+)/);
    return { nodes, pairsPerSec: pairs / secs, redisUsPerPair: m ? Number(m[1]) * 2 : Number.NaN };
  } finally {
    for (const c of conns) c.disconnect();
  }
}
