/**
 * Cluster-wide quotas (docs/security.md, "Quotas and bounds"): typed wrappers over the Lua
 * scripts that admit sessions into their tenant's concurrency quota and take utterance tokens.
 * All keys of one tenant share the `{t:<tenant>}` hash tag; every one has a TTL.
 */
import type { Keyspace } from './keys';
import type { RedisClient } from './redis';
import { SCRIPTS } from './script-defs.gen';
import { runScript } from './scripts';

/** Expired entries one admission removes at most (the rest go on the next calls or by TTL). */
const PRUNE_LIMIT = 100;
/** Sessions per refresh call (the script's ARGV bound is 1000 pairs). */
const REFRESH_BATCH = 500;

export interface SessionSlot {
  tenant: string;
  sessionId: string;
  /** the connection that owns the session now (a resume moves it) */
  conn: string;
}

export interface AdmitResult {
  admitted: boolean;
  /** live sessions of the tenant (this one included when admitted) */
  live: number;
}

/** session-quota-acquire-2.lua. `maxSessions` 0 = no limit. A resumed session counts once. */
export async function acquireSessionSlot(
  redis: RedisClient,
  ks: Keyspace,
  p: SessionSlot & { now: number; leaseMs: number; maxSessions: number },
): Promise<AdmitResult> {
  const [ok, live] = await runScript<[number, number]>(
    redis,
    SCRIPTS.sessionQuotaAcquire,
    [ks.tenantSessions(p.tenant), ks.tenantSessionConns(p.tenant)],
    [p.sessionId, p.conn, p.now, p.leaseMs, p.maxSessions, PRUNE_LIMIT],
  );
  return { admitted: ok === 1, live };
}

/**
 * session-quota-refresh-2.lua for one tenant's sessions owned here. Returns the ids now owned
 * by another connection (resumed elsewhere), which the caller stops refreshing.
 */
export async function refreshSessionSlots(
  redis: RedisClient,
  ks: Keyspace,
  p: { tenant: string; now: number; leaseMs: number; sessions: { sessionId: string; conn: string }[] },
): Promise<string[]> {
  const lost: string[] = [];
  for (let i = 0; i < p.sessions.length; i += REFRESH_BATCH) {
    const args: (string | number)[] = [p.now, p.leaseMs];
    for (const s of p.sessions.slice(i, i + REFRESH_BATCH)) args.push(s.sessionId, s.conn);
    lost.push(
      ...(await runScript<string[]>(
        redis,
        SCRIPTS.sessionQuotaRefresh,
        [ks.tenantSessions(p.tenant), ks.tenantSessionConns(p.tenant)],
        args,
      )),
    );
  }
  return lost;
}

/** session-quota-release-2.lua: true when this connection held the slot. */
export async function releaseSessionSlot(redis: RedisClient, ks: Keyspace, p: SessionSlot): Promise<boolean> {
  const r = await runScript<number>(
    redis,
    SCRIPTS.sessionQuotaRelease,
    [ks.tenantSessions(p.tenant), ks.tenantSessionConns(p.tenant)],
    [p.sessionId, p.conn],
  );
  return r === 1;
}

/** Live sessions of a tenant (for the API and tests). */
export async function liveSessions(redis: RedisClient, ks: Keyspace, tenant: string, now: number) {
  return redis.zcount(ks.tenantSessions(tenant), `(${now}`, '+inf');
}

export interface RateLimits {
  /** utterances per second; 0 = no limit */
  tenantRate: number;
  tenantBurst: number;
  sessionRate: number;
  sessionBurst: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number; scope: 'session' | 'tenant' };

/** rate-take-2.lua: `n` utterance tokens from the session's and the tenant's buckets at once. */
export async function takeUtteranceTokens(
  redis: RedisClient,
  ks: Keyspace,
  p: {
    tenant: string;
    sessionId: string;
    now: number;
    n: number;
    force: boolean;
    requestId: string;
  } & RateLimits,
): Promise<TakeResult> {
  const [ok, retry, scope] = await runScript<[number, number, string]>(
    redis,
    SCRIPTS.rateTake,
    [ks.tenantRate(p.tenant), ks.sessionRate(p.tenant, p.sessionId)],
    [
      p.now,
      p.n,
      p.force ? '1' : '0',
      p.tenantRate,
      Math.max(1, p.tenantBurst),
      p.sessionRate,
      Math.max(1, p.sessionBurst),
      p.requestId,
    ],
  );
  if (ok === 1) return { ok: true };
  return { ok: false, retryAfterMs: retry, scope: scope === 'tenant' ? 'tenant' : 'session' };
}
