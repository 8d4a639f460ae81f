/**
 * Credentials and TLS in Redis URLs (docs/security.md "Redis"):
 *   redis://user:pass@host:port[/db]              ACL user (ioredis reads the userinfo itself)
 *   rediss://user:pass@host:port                  the same over TLS
 *   redis+cluster://user:pass@h1:p1,h2:p2         Redis Cluster seeds; one ACL user for every node
 *   rediss+cluster://user:pass@h1:p1,h2:p2        the same over TLS
 * Percent-encode special characters in user and password. A private CA for TLS comes from
 * LINGUA_REDIS_CA_FILE (a PEM file; else the system CAs, plus NODE_EXTRA_CA_CERTS).
 * URLs travel in the environment (LINGUA_REDIS_URL), never argv; logs show redactRedisUrl().
 */
import { readFileSync } from 'node:fs';
import type { RedisOptions } from 'ioredis';

export interface ClusterUrl {
  seeds: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

const CLUSTER_RE = /^(rediss?)\+cluster:\/\//;

/** `redis+cluster://` or `rediss+cluster://` (TLS). */
export function isClusterUrlScheme(url: string): boolean {
  return CLUSTER_RE.test(url);
}

/** Seeds, credentials and TLS of a cluster URL. */
export function parseClusterUrl(url: string): ClusterUrl {
  const m = CLUSTER_RE.exec(url);
  if (!m) throw new Error('not a redis+cluster:// URL');
  const { rest, username, password } = splitUserinfo(url.slice(m[0].length));
  const out: ClusterUrl = { seeds: [], tls: m[1] === 'rediss' };
  if (username) out.username = username;
  if (password) out.password = password;
  out.seeds = rest
    .split(/[/?]/)[0]!
    .split(',')
    .filter(Boolean)
    .map((hp) => {
      const [host, port] = hp.split(':');
      return { host: host || '127.0.0.1', port: Number(port || 6379) };
    });
  return out;
}

/**
 * `[user:pass@]rest` after the scheme: percent-decoded credentials (empty ones left out) and what
 * follows the last `@`. A password may contain `@` when percent-encoded, or unencoded before the last.
 */
export function splitUserinfo(afterScheme: string): { rest: string; username?: string; password?: string } {
  const at = afterScheme.lastIndexOf('@');
  if (at < 0) return { rest: afterScheme };
  const info = afterScheme.slice(0, at);
  const colon = info.indexOf(':');
  const username = decodeComponent(colon >= 0 ? info.slice(0, colon) : '');
  const password = decodeComponent(colon >= 0 ? info.slice(colon + 1) : info);
  return {
    rest: afterScheme.slice(at + 1),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
  };
}

function decodeComponent(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * TLS options for a URL: none for redis://, else `{}` (system CAs) or the CA of
 * LINGUA_REDIS_CA_FILE. Throws with the file name (not its content) when it cannot be read.
 */
export function redisTlsOptions(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
): Pick<RedisOptions, 'tls'> {
  if (!/^rediss(\+cluster)?:\/\//.test(url)) return {};
  const file = env.LINGUA_REDIS_CA_FILE;
  if (!file) return { tls: {} };
  try {
    return { tls: { ca: readFileSync(file, 'utf8') } };
  } catch (err) {
    throw new Error(
      `LINGUA_REDIS_CA_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
}

/** The URL with any password replaced by `***`, for logs and banners. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)([^@/]*?):([^@/]*)@/i, (_m, scheme, user) => `${scheme}${user}:***@`);
}
