/**
 * Redis connection factory. One URL form for both deployments:
 *   redis://host:port[/db]                 a single Redis (or a Sentinel-fronted primary)
 *   redis+cluster://h1:p1,h2:p2,...        Redis Cluster seed nodes
 * Roles follow docs/architecture.md's Redis rules: request paths fail fast, workers and blocking
 * readers wait forever, blocking readers get their own connection.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { isClusterUrlScheme, parseClusterUrl, redisTlsOptions } from './redis-url';
import { registerScripts } from './scripts';

export type RedisClient = Redis | Cluster;

export type ConnectionRole =
  /** request path: fail fast so the client gets an error, not a hang */
  | 'request'
  /** bullmq workers and background sweeps */
  | 'worker'
  /** a dedicated XREADGROUP BLOCK connection */
  | 'blocking';

export interface ConnectOptions {
  url: string;
  role: ConnectionRole;
  name?: string;
  /** request role: ms before a command fails while Redis is unreachable */
  commandTimeoutMs?: number;
}

function baseOptions(opts: ConnectOptions): RedisOptions {
  const common: RedisOptions = {
    connectionName: opts.name,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    enableAutoPipelining: opts.role === 'request',
  };
  if (opts.role === 'request') {
    return {
      ...common,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      commandTimeout: opts.commandTimeoutMs ?? 2000,
    };
  }
  return { ...common, maxRetriesPerRequest: null, enableOfflineQueue: true };
}

export function isClusterUrl(url: string): boolean {
  return isClusterUrlScheme(url);
}

export function parseClusterSeeds(url: string): { host: string; port: number }[] {
  return parseClusterUrl(url).seeds;
}

/** Opens a connection for a role, with every Lua script registered on it. */
export function connectRedis(opts: ConnectOptions): RedisClient {
  // Credentials ride in the URL (redis-url.ts); TLS for rediss:// with an optional private CA.
  const options = { ...baseOptions(opts), ...redisTlsOptions(opts.url) };
  let client: RedisClient;
  if (isClusterUrl(opts.url)) {
    const c = parseClusterUrl(opts.url);
    client = new Cluster(c.seeds, {
      redisOptions: { ...options, username: c.username, password: c.password },
      enableAutoPipelining: options.enableAutoPipelining,
      enableOfflineQueue: options.enableOfflineQueue,
      scaleReads: 'master',
    });
  } else {
    client = new Redis(opts.url, options);
  }
  registerScripts(client);
  return client;
}
