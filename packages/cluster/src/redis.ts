/**
 * Redis connection factory. One URL form per deployment:
 *   redis://host:port[/db]                          a single Redis
 *   redis+cluster://h1:p1,h2:p2,...                 Redis Cluster seed nodes
 *   redis+sentinel://h1:p1,h2:p2,.../<master-name>  Sentinel-monitored primary (ioredis resolves
 *                                                   the primary and follows failovers)
 * Credentials come from the environment (redisAuthFromEnv), never from argv or logs; userinfo
 * in a redis:// or redis+sentinel:// URL is accepted as the data nodes' credentials too.
 * Roles follow docs/architecture.md's Redis rules: request paths fail fast, workers and blocking
 * readers wait forever, blocking readers get their own connection. Every connection role,
 * bullmq's duplicates included, inherits the same Sentinel/Cluster options and credentials.
 */
import { readFileSync } from 'node:fs';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import {
  isClusterUrlScheme,
  parseClusterUrl,
  redactRedisUrl,
  redisTlsOptions,
  splitUserinfo,
} from './redis-url';
import { registerScripts } from './scripts';

export type RedisClient = Redis | Cluster;

/**
 * Every key on one server (a standalone or Sentinel-managed Redis, not a Cluster): scripts
 * may then touch a node cell's and a session shard's keys together (select-create-10,
 * complete-release-10), which a Cluster refuses (different hash slots).
 */
export function sameServer(redis: RedisClient): boolean {
  return !(redis as { isCluster?: boolean }).isCluster;
}

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
  /** credentials; default: redisAuthFromEnv(process.env) */
  auth?: RedisAuth;
}

/** Credentials for the data nodes (primary/replicas/cluster nodes) and for the sentinels. */
export interface RedisAuth {
  username?: string;
  password?: string;
  sentinelUsername?: string;
  sentinelPassword?: string;
}

/** The environment variables redisAuthFromEnv reads (each also as `<NAME>_FILE`: a file holding it). */
export const REDIS_AUTH_ENV = {
  username: 'LINGUA_REDIS_USERNAME',
  password: 'LINGUA_REDIS_PASSWORD',
  sentinelUsername: 'LINGUA_REDIS_SENTINEL_USERNAME',
  sentinelPassword: 'LINGUA_REDIS_SENTINEL_PASSWORD',
} as const;

/**
 * Reads credentials from env: `LINGUA_REDIS_PASSWORD=…` or `LINGUA_REDIS_PASSWORD_FILE=/run/secrets/…`
 * (a mounted secret; one trailing newline is ignored). Unset values stay undefined.
 */
export function redisAuthFromEnv(env: NodeJS.ProcessEnv = process.env): RedisAuth {
  const out: RedisAuth = {};
  for (const [key, name] of Object.entries(REDIS_AUTH_ENV) as [keyof RedisAuth, string][]) {
    const file = env[`${name}_FILE`];
    const value = file ? readFileSync(file, 'utf8').replace(/\r?\n$/, '') : env[name];
    if (value) out[key] = value;
  }
  return out;
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

export function isSentinelUrl(url: string): boolean {
  return url.startsWith('redis+sentinel://');
}

export interface SentinelTarget {
  sentinels: { host: string; port: number }[];
  /** the monitored master's name (`sentinel monitor <name> …`) */
  name: string;
  /** data-node credentials from the URL's userinfo, if any */
  username?: string;
  password?: string;
  db?: number;
}

/**
 * Parses `redis+sentinel://[user:pass@]h1:p1[,h2:p2…]/<master-name>[/<db>]` (port default
 * 26379). Throws with a clear message (never echoing the password) on a malformed URL.
 */
export function parseSentinelUrl(url: string): SentinelTarget {
  if (!isSentinelUrl(url)) throw new Error('not a redis+sentinel:// URL');
  const { rest, username, password } = splitUserinfo(url.slice('redis+sentinel://'.length));
  const out: Partial<SentinelTarget> = {};
  if (username) out.username = username;
  if (password) out.password = password;
  const slash = rest.indexOf('/');
  const hosts = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = (slash >= 0 ? rest.slice(slash + 1) : '').split('?')[0]!.split('/').filter(Boolean);
  const shown = redactRedisUrl(url);
  if (!path[0])
    throw new Error(`${shown}: the master name is missing (redis+sentinel://h:p,…/<master-name>)`);
  out.name = decodeURIComponent(path[0]);
  if (path[1] !== undefined) {
    const db = Number(path[1]);
    if (!Number.isInteger(db) || db < 0) throw new Error(`${shown}: bad database number "${path[1]}"`);
    out.db = db;
  }
  out.sentinels = hosts
    .split(',')
    .filter(Boolean)
    .map((hp) => {
      const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hp);
      if (!m) throw new Error(`${shown}: bad sentinel address "${hp}"`);
      return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2] ?? 26379) };
    });
  if (!out.sentinels.length) throw new Error(`${shown}: no sentinel address`);
  return out as SentinelTarget;
}

export function parseClusterSeeds(url: string): { host: string; port: number }[] {
  return parseClusterUrl(url).seeds;
}

/** Opens a connection for a role, with every Lua script registered on it. */
export function connectRedis(opts: ConnectOptions): RedisClient {
  const auth = opts.auth ?? redisAuthFromEnv();
  const options: RedisOptions = {
    ...baseOptions(opts),
    // TLS for rediss:// and rediss+cluster:// (optional private CA: LINGUA_REDIS_CA_FILE)
    ...redisTlsOptions(opts.url),
    ...(auth.username ? { username: auth.username } : {}),
    ...(auth.password ? { password: auth.password } : {}),
  };
  let client: RedisClient;
  if (isSentinelUrl(opts.url)) {
    const t = parseSentinelUrl(opts.url);
    client = new Redis({
      ...options,
      sentinels: t.sentinels,
      name: t.name,
      role: 'master',
      ...(t.db !== undefined ? { db: t.db } : {}),
      ...(t.username && !auth.username ? { username: t.username } : {}),
      ...(t.password && !auth.password ? { password: t.password } : {}),
      ...(auth.sentinelUsername ? { sentinelUsername: auth.sentinelUsername } : {}),
      ...(auth.sentinelPassword ? { sentinelPassword: auth.sentinelPassword } : {}),
      // No failoverDetector: in ioredis 5.9 a +switch-master that arrives while the client is
      // still reconnecting (the usual case: the primary died) aborts the reconnect and leaves
      // the client closed for good ("Connection is closed."). A killed primary drops the
      // connection anyway; a demoted one that is still reachable (a partition) answers writes
      // with READONLY: reconnect (ioredis asks the sentinels again, checks ROLE) and re-send.
      reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
      sentinelRetryStrategy: (times) => Math.min(100 * times, 1000),
    });
  } else if (isClusterUrl(opts.url)) {
    // One ACL user for every node: from the environment, else the URL's userinfo.
    const c = parseClusterUrl(opts.url);
    client = new Cluster(c.seeds, {
      redisOptions: {
        ...options,
        ...(c.username && !auth.username ? { username: c.username } : {}),
        ...(c.password && !auth.password ? { password: c.password } : {}),
      },
      // No auto-pipelining on a Cluster: ioredis batches per node and handles MOVED per batch
      // (ioredis #2075), so a command whose slot moved (a reshard, or a slot map read while a
      // new cluster still converges) fails with MOVED instead of being redirected. Seen: a
      // gateway that could not start ("MOVED 11894") right after the drill's cluster formed.
      enableAutoPipelining: false,
      enableOfflineQueue: options.enableOfflineQueue,
      scaleReads: 'master',
    });
  } else {
    client = new Redis(opts.url, options);
  }
  registerScripts(client);
  return client;
}
