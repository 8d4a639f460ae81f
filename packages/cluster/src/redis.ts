/**
 * Redis connection factory. One URL form for both deployments:
 *   redis://host:port[/db]                 a single Redis (or a Sentinel-fronted primary)
 *   redis+cluster://h1:p1,h2:p2,...        Redis Cluster seed nodes
 * Roles follow docs/architecture.md's Redis rules: request paths fail fast, workers and blocking
 * readers wait forever, blocking readers get their own connection.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
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
  return url.startsWith('redis+cluster://');
}

export function parseClusterSeeds(url: string): { host: string; port: number }[] {
  return url
    .slice('redis+cluster://'.length)
    .split(',')
    .filter(Boolean)
    .map((hp) => {
      const [host, port] = hp.split(':');
      return { host: host || '127.0.0.1', port: Number(port || 6379) };
    });
}

/** Opens a connection for a role, with every Lua script registered on it. */
export function connectRedis(opts: ConnectOptions): RedisClient {
  const options = baseOptions(opts);
  let client: RedisClient;
  if (isClusterUrl(opts.url)) {
    client = new Cluster(parseClusterSeeds(opts.url), {
      redisOptions: options,
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
