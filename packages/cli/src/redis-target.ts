/** A Redis deployment as the CLI addresses it: URL, key prefix, cells and shards. */
import { connectRedis, Keyspace, type RedisClient, redactRedisUrl } from '@lingua/cluster';

export interface RedisTarget {
  redisUrl: string;
  prefix: string;
  cells: number;
  shards: number;
}

/** Opens a connection, checks it answers (clear error otherwise), runs `fn`, disconnects. */
export async function withRedis<T>(
  t: RedisTarget,
  fn: (redis: RedisClient, ks: Keyspace) => Promise<T>,
): Promise<T> {
  const redis = connectRedis({
    url: t.redisUrl,
    role: 'request',
    name: 'lingua-cli',
    commandTimeoutMs: 5000,
  });
  redis.on('error', () => {}); // surfaced by the ping below
  try {
    try {
      await redis.ping();
    } catch (err) {
      throw new Error(`cannot reach Redis at ${redactRedisUrl(t.redisUrl)}: ${(err as Error).message}`);
    }
    return await fn(redis, new Keyspace({ prefix: t.prefix, cells: t.cells, shards: t.shards }));
  } finally {
    redis.disconnect();
  }
}
