/**
 * This instance's side of the cluster-wide quotas (docs/security.md, "Quotas and bounds"):
 * admits sessions into their tenant's concurrency quota, keeps the leases of the sessions it
 * owns fresh (a gateway that dies stops refreshing, so its sessions age out of the count), and
 * takes utterance tokens. The decisions are Lua scripts (@lingua/cluster quotas.ts).
 */
import {
  acquireSessionSlot,
  type Keyspace,
  type RedisClient,
  refreshSessionSlots,
  releaseSessionSlot,
  type TakeResult,
  takeUtteranceTokens,
} from '@lingua/cluster';
import type { GatewayConfig } from './config';
import type { Logger } from './logger';
import type { Metrics } from './metrics';

export type AdmitOutcome = { ok: true } | { ok: false; live: number; max: number };

export class Quotas {
  /** sessions of this instance in a tenant quota: session id → tenant and owning connection */
  private readonly owned = new Map<string, { tenant: string; conn: string }>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly ks: Keyspace,
    private readonly cfg: GatewayConfig,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A session (new or resumed) enters its tenant's quota. `maxSessions` is the session token's
   * `max_sessions` claim when it has one, else LINGUA_TENANT_MAX_SESSIONS; 0 = no limit.
   */
  async admitSession(
    tenant: string,
    sessionId: string,
    conn: string,
    maxSessions?: number,
  ): Promise<AdmitOutcome> {
    const max = maxSessions ?? this.cfg.tenantMaxSessions;
    if (max <= 0) return { ok: true };
    const r = await acquireSessionSlot(this.redis, this.ks, {
      tenant,
      sessionId,
      conn,
      now: this.now(),
      leaseMs: this.cfg.sessionLeaseMs,
      maxSessions: max,
    });
    if (!r.admitted) {
      this.metrics.quotaRefusals.inc({ quota: 'tenant_sessions' });
      return { ok: false, live: r.live, max };
    }
    this.owned.set(sessionId, { tenant, conn });
    return { ok: true };
  }

  /** The session closed or detached on this connection: it leaves the quota (idempotent). */
  async releaseSession(sessionId: string, conn: string): Promise<void> {
    const o = this.owned.get(sessionId);
    if (!o || o.conn !== conn) return;
    this.owned.delete(sessionId);
    await releaseSessionSlot(this.redis, this.ks, { tenant: o.tenant, sessionId, conn });
  }

  /**
   * `n` utterance tokens of the session and its tenant. `force` debits without checking (the
   * server's own timer finalized audio that was accepted already). `requestId` makes a re-send
   * of the same take harmless.
   */
  async takeUtterances(
    tenant: string,
    sessionId: string,
    n: number,
    force: boolean,
    requestId: string,
  ): Promise<TakeResult> {
    const c = this.cfg;
    if (n <= 0 || (c.sessionUtteranceRate <= 0 && c.tenantUtteranceRate <= 0)) return { ok: true };
    const r = await takeUtteranceTokens(this.redis, this.ks, {
      tenant,
      sessionId,
      now: this.now(),
      n,
      force,
      requestId,
      tenantRate: c.tenantUtteranceRate,
      tenantBurst: c.tenantUtteranceBurst,
      sessionRate: c.sessionUtteranceRate,
      sessionBurst: c.sessionUtteranceBurst,
    });
    if (!r.ok) this.metrics.quotaRefusals.inc({ quota: `${r.scope}_utterance_rate` });
    return r;
  }

  start(): void {
    const every = Math.max(250, Math.floor(this.cfg.sessionLeaseMs / 3));
    this.timer = setInterval(() => void this.refresh(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Extends the leases of every session this instance owns, one script call per tenant (batched). */
  async refresh(): Promise<void> {
    if (this.refreshing || this.owned.size === 0) return;
    this.refreshing = true;
    try {
      const byTenant = new Map<string, { sessionId: string; conn: string }[]>();
      for (const [sessionId, o] of this.owned) {
        const list = byTenant.get(o.tenant) ?? [];
        byTenant.set(o.tenant, list);
        list.push({ sessionId, conn: o.conn });
      }
      const now = this.now();
      for (const [tenant, sessions] of byTenant) {
        const lost = await refreshSessionSlots(this.redis, this.ks, {
          tenant,
          now,
          leaseMs: this.cfg.sessionLeaseMs,
          sessions,
        });
        // Resumed on another connection: that one counts it now.
        for (const sid of lost) this.owned.delete(sid);
      }
    } catch (err) {
      this.log.warn({ err: String(err) }, 'session quota refresh failed; retrying on the next tick');
    } finally {
      this.refreshing = false;
    }
  }
}
