/**
 * Credentials of a local cluster (`lingua up`, `lingua token`, `lingua demo`, drills).
 *
 * `lingua up` takes LINGUA_SESSION_JWT_SECRET / _PUBLIC_KEY, LINGUA_NODE_JWT_SECRET /
 * _PUBLIC_KEY and LINGUA_ADMIN_TOKEN from its environment and generates what is missing. The
 * generated secrets (never ones it was given) go to `.lingua/credentials.json` (mode 0600, dir
 * 0700), so `lingua token` / `lingua demo` in another shell can mint tokens for the running
 * cluster. Children get secrets through their environment only, never argv; simulated nodes
 * get a node token, not the secrets.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  generateSecret,
  mintNodeToken,
  mintSessionToken,
  type SessionTokenClaims,
  secretKey,
} from '@lingua/gateway';
import { readIfOwnerAlive, stateFile } from './state';

/** Every environment variable that carries a credential (stripped from children that need none). */
export const CREDENTIAL_ENV = [
  'LINGUA_SESSION_JWT_SECRET',
  'LINGUA_SESSION_JWT_PUBLIC_KEY',
  'LINGUA_NODE_JWT_SECRET',
  'LINGUA_NODE_JWT_PUBLIC_KEY',
  'LINGUA_ADMIN_TOKEN',
  'LINGUA_SESSION_TOKEN',
  'LINGUA_NODE_TOKEN',
] as const;

export interface LocalCredentials {
  insecure: boolean;
  /** HS256 secrets this process can mint with (absent: the role uses a public key, or insecure) */
  sessionSecret?: string;
  nodeSecret?: string;
  sessionPublicKey?: string;
  nodePublicKey?: string;
  adminToken?: string;
  /** which of the above were generated here (only those are written to the credentials file) */
  generated: Array<'session' | 'node' | 'admin'>;
}

/**
 * The credentials for a local cluster: from the environment, generated where missing. With
 * `insecure` (or LINGUA_INSECURE=true) there are none and the gateways run open.
 */
export function resolveCredentials(env: NodeJS.ProcessEnv, insecure: boolean): LocalCredentials {
  if (insecure || /^(1|true|yes)$/i.test(env.LINGUA_INSECURE ?? '')) return { insecure: true, generated: [] };
  const c: LocalCredentials = { insecure: false, generated: [] };
  if (env.LINGUA_SESSION_JWT_PUBLIC_KEY) c.sessionPublicKey = env.LINGUA_SESSION_JWT_PUBLIC_KEY;
  else if (env.LINGUA_SESSION_JWT_SECRET) c.sessionSecret = env.LINGUA_SESSION_JWT_SECRET;
  else {
    c.sessionSecret = generateSecret();
    c.generated.push('session');
  }
  if (env.LINGUA_NODE_JWT_PUBLIC_KEY) c.nodePublicKey = env.LINGUA_NODE_JWT_PUBLIC_KEY;
  else if (env.LINGUA_NODE_JWT_SECRET) c.nodeSecret = env.LINGUA_NODE_JWT_SECRET;
  else {
    c.nodeSecret = generateSecret();
    c.generated.push('node');
  }
  if (env.LINGUA_ADMIN_TOKEN) c.adminToken = env.LINGUA_ADMIN_TOKEN;
  else {
    c.adminToken = generateSecret();
    c.generated.push('admin');
  }
  return c;
}

/** `base` without any credential variable: what a child that needs none inherits. */
export function withoutCredentials(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const k of CREDENTIAL_ENV) delete env[k];
  return env;
}

/** A gateway's environment: `base` minus stray credentials, plus exactly this cluster's. */
export function gatewayEnv(base: NodeJS.ProcessEnv, c: LocalCredentials): NodeJS.ProcessEnv {
  const env = withoutCredentials(base);
  if (c.insecure) {
    env.LINGUA_INSECURE = 'true';
    return env;
  }
  env.LINGUA_INSECURE = 'false';
  if (c.sessionSecret) env.LINGUA_SESSION_JWT_SECRET = c.sessionSecret;
  if (c.sessionPublicKey) env.LINGUA_SESSION_JWT_PUBLIC_KEY = c.sessionPublicKey;
  if (c.nodeSecret) env.LINGUA_NODE_JWT_SECRET = c.nodeSecret;
  if (c.nodePublicKey) env.LINGUA_NODE_JWT_PUBLIC_KEY = c.nodePublicKey;
  if (c.adminToken) env.LINGUA_ADMIN_TOKEN = c.adminToken;
  return env;
}

/** "90s", "15m", "1h", "7d" (or a bare number of seconds) → seconds. */
export function parseTtl(s: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(s.trim());
  if (!m || Number(m[1]) <= 0) throw new Error(`expected a lifetime like 90s, 15m, 1h or 7d, got "${s}"`);
  const mult = { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * mult;
}

/** A session token from an HS256 secret. */
export function sessionTokenFrom(
  secret: string,
  claims: SessionTokenClaims,
  ttlSeconds: number,
): Promise<string> {
  return mintSessionToken(secretKey(secret), claims, { ttlSeconds });
}

/** A node token (exact id or `prefix*`) from an HS256 secret. */
export function nodeTokenFrom(secret: string, nodeId: string, ttlSeconds: number): Promise<string> {
  return mintNodeToken(secretKey(secret), { nodeId }, { ttlSeconds });
}

// ---- the credentials file of a running `lingua up` ----

interface StoredCredentials {
  pid: number;
  sessionSecret?: string;
  nodeSecret?: string;
  adminToken?: string;
}

export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(dirname(stateFile(env)), 'credentials.json');
}

/** Writes the generated secrets (owner-only), or nothing when nothing was generated. */
export function writeCredentials(c: LocalCredentials, pid = process.pid, file = credentialsFile()): void {
  if (!c.generated.length) return;
  const out: StoredCredentials = { pid };
  if (c.generated.includes('session')) out.sessionSecret = c.sessionSecret;
  if (c.generated.includes('node')) out.nodeSecret = c.nodeSecret;
  if (c.generated.includes('admin')) out.adminToken = c.adminToken;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  rmSync(file, { force: true }); // a new file gets mode 0600 from the start
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
}

/** The generated secrets of the `lingua up` still running here, or null. */
export function readCredentials(file = credentialsFile()): StoredCredentials | null {
  return readIfOwnerAlive<StoredCredentials>(file);
}

export function clearCredentials(pid = process.pid, file = credentialsFile()): void {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as StoredCredentials;
    if (s.pid === pid) rmSync(file, { force: true });
  } catch {
    // absent or unreadable: nothing to clear
  }
}

/**
 * What `lingua token` / `lingua demo` mint with: the environment first, then the running
 * `lingua up`'s credentials file.
 */
export function mintingSecrets(env: NodeJS.ProcessEnv = process.env): {
  sessionSecret?: string;
  nodeSecret?: string;
  adminToken?: string;
} {
  const stored = readCredentials(credentialsFile(env));
  return {
    sessionSecret: env.LINGUA_SESSION_JWT_SECRET || stored?.sessionSecret,
    nodeSecret: env.LINGUA_NODE_JWT_SECRET || stored?.nodeSecret,
    adminToken: env.LINGUA_ADMIN_TOKEN || stored?.adminToken,
  };
}
