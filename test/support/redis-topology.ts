/**
 * Replicated Redis deployments for tests, from real redis-server processes on free ports:
 * a Sentinel set (primary + replica + 3 sentinels) or a Redis Cluster with replicas. Built on
 * packages/cli/src/redis-local.ts (the same code `lingua up --redis sentinel|cluster` and the
 * drills run), so the harness and the product start Redis the same way. Every process is
 * tethered to the test process and killed by `stop()`, which also deletes the temp dir.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClusterOptions, LocalRedis, type SentinelOptions } from '../../packages/cli/src/redis-local';
import { Supervisor } from '../../packages/cli/src/supervisor';

export interface RedisTopology {
  url: string;
  redis: LocalRedis;
  /** where each process logs (kept on failure by the caller if wanted) */
  logDir: string;
  stop(): Promise<void>;
}

async function start(fn: (r: LocalRedis) => Promise<string>): Promise<RedisTopology> {
  const dir = mkdtempSync(join(tmpdir(), 'lingua-rtopo-'));
  const logDir = join(dir, 'logs');
  mkdirSync(logDir);
  const sup = new Supervisor(logDir, false);
  const redis = new LocalRedis(sup, dir);
  const stop = async () => {
    await sup.stopPhases([], 2000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const url = await fn(redis);
    return { url, redis, logDir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Primary + 1 replica + 3 sentinels (quorum 2, down-after 1 s by default). */
export function startRedisSentinel(opts: SentinelOptions = {}): Promise<RedisTopology> {
  return start((r) => r.startSentinel({ aof: false, ...opts }));
}

/** 3 masters with 1 replica each by default (cluster-node-timeout 1 s). */
export function startRedisClusterWithReplicas(opts: ClusterOptions = {}): Promise<RedisTopology> {
  return start((r) => r.startCluster({ aof: false, ...opts }));
}
