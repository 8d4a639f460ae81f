/**
 * One gateway instance: the HTTP/WebSocket transport (native uWebSockets.js or `ws` +
 * `node:http`, see transport/) with the session and node endpoints, the inbox consumer,
 * presence, and (by default) the workers. Everything shared lives in Redis; the maps in the
 * context are this process's own sockets.
 */
import {
  connectRedis,
  INBOX_BATCH_META,
  InboxBus,
  JobStore,
  Keyspace,
  Presence,
  type RedisClient,
  RoomStore,
} from '@lingua/cluster';
import { DlqMonitor, FailoverQueue, JobLifecycle, Rerouter, Sweeps, TimeoutWorker } from '@lingua/workers';
import { clusterReader, instanceLoad, registerApiRoutes } from './api';
import { authenticatorFor } from './auth';
import { registerClusterMetrics } from './cluster-metrics';
import type { GatewayConfig } from './config';
import { type Authorize, registerSocketEndpoints } from './connections';
import type { GatewayContext } from './context';
import { registerDashboardRoutes } from './dashboard-routes';
import { HandlerErrors } from './handler-errors';
import { getRoute, json } from './http';
import { createLogger, type Logger } from './logger';
import { LossAudit } from './loss-audit';
import { createMetrics } from './metrics';
import { Quotas } from './quotas';
import { RoomLeases } from './room-leases';
import { registerRoomMetrics, registerRoomRoutes } from './rooms-api';
import { createInboxHandler } from './router';
import { createTransport, type HttpTransport, type TransportChoice } from './transport';
import { credentialsAuthorize } from './upgrade-auth';

export interface GatewayOptions {
  /** upgrade-time auth hook; default: the session/node token checks of auth.ts */
  authorize?: Authorize;
}

export class Gateway {
  readonly ctx: GatewayContext;
  port = 0;
  private readonly conns: { redis: RedisClient; worker: RedisClient; blocking: RedisClient };
  private readonly presence: Presence;
  private readonly failover: FailoverQueue;
  private readonly timeouts: TimeoutWorker;
  private readonly sweeps: Sweeps;
  private readonly dlqMonitor: DlqMonitor;
  private readonly lossAudit: LossAudit;
  private readonly roomLeases: RoomLeases;
  private readonly http: HttpTransport;
  /** what serves HTTP/WebSocket, for the start-up log */
  private readonly transportDetail: string;
  private redisOk = false;
  /** static presence facts; instanceLoad() adds connection counts and counters each second */
  private presenceMeta: Record<string, unknown> = {};
  private pingTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  readonly native: boolean;
  /** counts and logs (rate-limited) an error caught outside a connection's own handling */
  readonly reportError: (where: string, err: unknown) => void;

  private constructor(
    readonly cfg: GatewayConfig,
    readonly log: Logger,
    private readonly opts: GatewayOptions,
  ) {
    // Errors caught by the transport guards; the metric exists once metrics are created.
    let reportError: (where: string, err: unknown) => void = () => {};
    const chosen = createTransport(cfg.transport as TransportChoice, {
      onError: (where, err) => reportError(where, err),
      // zero-fill message bytes after their callback under test: catches code that keeps them
      poisonMessages: process.env.NODE_ENV === 'test',
    });
    this.http = chosen.transport;
    this.transportDetail = chosen.detail;
    this.native = this.http.native;
    const conns = {
      redis: connectRedis({ url: cfg.redisUrl, role: 'request', name: `${cfg.instanceId}:req` }),
      worker: connectRedis({ url: cfg.redisUrl, role: 'worker', name: `${cfg.instanceId}:worker` }),
      blocking: connectRedis({ url: cfg.redisUrl, role: 'blocking', name: `${cfg.instanceId}:inbox` }),
    };
    this.conns = conns;
    for (const [role, c] of Object.entries(conns)) {
      c.on('error', (err) => log.debug({ err: String(err), role }, 'redis connection error'));
    }
    const ks = new Keyspace({ prefix: cfg.keyPrefix, cells: cfg.cells, shards: cfg.shards });
    const metrics = createMetrics(cfg.instanceId, this.native, this.http.impl);
    reportError = new HandlerErrors(log, metrics).report;
    this.reportError = reportError;
    const store = new JobStore(conns.redis, ks, {
      maxAttempts: cfg.maxAttempts,
      resultLogMaxLen: cfg.resultLogMaxLen,
      resultLogTtlMs: cfg.sessionTtlMs,
      jobTtlMs: cfg.jobTtlMs,
      sessionTtlMs: cfg.sessionTtlMs,
      assignCheckMs: cfg.assignCheckMs,
      waitingCheckMs: cfg.waitingCheckMs,
    });
    let handler: (env: Parameters<ReturnType<typeof createInboxHandler>>[0]) => Promise<void> =
      async () => {};
    const inbox = new InboxBus({
      redis: conns.redis,
      blocking: conns.blocking,
      ks,
      instanceId: cfg.instanceId,
      handle: (env) => handler(env),
      log,
      claimIdleMs: cfg.inboxClaimIdleMs,
      maxDeliveries: cfg.inboxMaxDeliveries,
      dlqCapacity: cfg.dlqMax,
      onDeadLetter: (reason) => metrics.dlqEntries.inc({ reason: reason.replace(/\d+/g, 'N') }),
      onDeadLetterRefused: (reason) => metrics.dlqRefused.inc({ reason: reason.replace(/\d+/g, 'N') }),
    });
    const jobs = new JobLifecycle(
      conns.redis,
      ks,
      store,
      inbox,
      {
        jobTimeoutMs: cfg.jobTimeoutMs,
        jobOverallTimeoutMs: cfg.jobOverallTimeoutMs,
        leaseMs: cfg.leaseMs,
        fusedScripts: cfg.fusedScripts,
      },
      log,
      {
        onTransition: (to) => metrics.jobTransitions.inc({ to }),
        onDropped: (reason) => metrics.lateResultsDropped.inc({ reason }),
        onSelect: (s) => metrics.selectSeconds.observe(s),
        onRace: (op, code) => metrics.races.inc({ op, code }),
        onResend: (why) => metrics.assignResends.inc({ why }),
        onFailover: (cause, detectedAt) => {
          if ((cause as string) === 'dispatched') {
            if (detectedAt) metrics.failoverSeconds.observe(Math.max(0, Date.now() - detectedAt) / 1000);
          } else metrics.failovers.inc({ cause });
        },
      },
    );
    this.ctx = {
      cfg,
      log,
      metrics,
      redis: conns.redis,
      ks,
      store,
      rooms: new RoomStore(conns.redis, ks, {
        maxMembers: cfg.roomMaxMembers,
        idleMs: cfg.roomIdleMs,
        maxRoomsPerTenant: cfg.tenantMaxRooms,
      }),
      inbox,
      jobs,
      quotas: new Quotas(conns.redis, ks, cfg, log, metrics),
      sessions: new Map(),
      nodes: new Map(),
      now: Date.now,
      auth: authenticatorFor(cfg),
      draining: false,
    };
    const reader = clusterReader(this.ctx);
    registerRoomMetrics(metrics.registry, this.ctx.rooms, metrics.redisErrors);
    registerClusterMetrics(
      metrics.registry,
      { nodes: () => reader.nodes(), knownPairs: () => conns.redis.smembers(ks.allPairs()) },
      metrics.redisErrors,
    );
    const rerouter = new Rerouter(conns.redis, ks, store, inbox, jobs);
    handler = createInboxHandler(this.ctx, rerouter);
    const bullPrefix = `{${ks.bullPrefix()}}`;
    this.failover = new FailoverQueue({ connection: conns.worker, prefix: bullPrefix });
    jobs.failover = this.failover;
    this.timeouts = new TimeoutWorker(ks, store, jobs, log, {
      pollMs: cfg.timeoutPollMs,
      claimLeaseMs: cfg.claimLeaseMs,
    });
    this.sweeps = new Sweeps(conns.worker, ks, jobs, rerouter, log, {
      connection: conns.worker,
      prefix: bullPrefix,
      intervalMs: cfg.sweepIntervalMs,
      nodeHeartbeatTimeoutMs: cfg.nodeHeartbeatTimeoutMs,
      nodeForgetMs: cfg.nodeForgetMs,
      lostNodeGraceMs: Math.max(cfg.sweepIntervalMs, 1000),
      instanceId: cfg.instanceId,
      dlqCapacity: cfg.dlqMax,
    });
    metrics.dlqCapacity.set(cfg.dlqMax);
    this.dlqMonitor = new DlqMonitor(conns.worker, ks, {
      intervalMs: 5000,
      retentionMs: cfg.dlqRetentionMs,
      onLength: (dlq, n) => metrics.dlqLength.set({ dlq }, n),
      onExpired: (dlq, n) => metrics.dlqExpired.inc({ dlq }, n),
      log,
    });
    this.lossAudit = new LossAudit(
      () => this.ctx.sessions.values(),
      log,
      { intervalMs: cfg.lossAuditMs },
      (n, why) => metrics.lostJobs.inc({ trigger: why }, n),
    );
    this.roomLeases = new RoomLeases(this.ctx);
    this.presence = new Presence(conns.redis, ks, cfg.instanceId, cfg.presenceTtlMs);
    this.routes();
  }

  static async start(
    cfg: GatewayConfig,
    log = createLogger(cfg.instanceId, cfg.logLevel),
    opts: GatewayOptions = {},
  ): Promise<Gateway> {
    const gw = new Gateway(cfg, log, opts);
    await gw.begin();
    return gw;
  }

  private async begin(): Promise<void> {
    const { cfg, log } = this;
    const onError = (err: unknown) => log.warn({ err: String(err) }, 'background task error');
    // The request connection fails a command after 2 s; at start-up Redis may be slow (a busy
    // machine, a failover in progress): keep asking for a bounded while instead of exiting.
    for (let tries = 1; ; tries++) {
      try {
        await this.conns.redis.ping();
        break;
      } catch (err) {
        // Wrong credentials do not heal by waiting: stop now, naming the error, never its command.
        const msg = err instanceof Error ? err.message : String(err);
        if (/^(WRONGPASS|NOAUTH|NOPERM)\b/.test(msg))
          throw new Error(`Redis refused the credentials: ${msg}`);
        if (tries >= 30) throw err;
        log.warn({ err: String(err), tries }, 'Redis not answering yet; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    this.redisOk = true;
    this.pingTimer = setInterval(() => {
      this.conns.redis.ping().then(
        () => {
          this.redisOk = true;
        },
        () => {
          this.redisOk = false;
        },
      );
      this.ctx.redis
        .xlen(this.ctx.ks.inbox(cfg.instanceId))
        .then((n) => this.ctx.metrics.inboxPending.set(n))
        .catch(() => {});
      instanceLoad(this.ctx).then(
        (load) => this.presence.setMeta({ ...this.presenceMeta, ...load }),
        () => {},
      );
    }, 1000);
    this.pingTimer.unref();
    // inbox_batch: our inbox reads batch entries, so peers may send them (inbox.ts).
    this.presenceMeta = { port: cfg.port, native: this.native, started: Date.now(), [INBOX_BATCH_META]: 1 };
    this.presence.setMeta(this.presenceMeta);
    this.presence.start(onError);
    await this.presence.beat();
    await this.ctx.inbox.start();
    this.ctx.quotas.start();
    this.roomLeases.start();
    this.lossAudit.start(this.conns.redis);
    if (cfg.workers) {
      this.failover.startWorker(this.ctx.jobs, onError);
      this.timeouts.start();
      await this.sweeps.start(onError);
      this.dlqMonitor.start();
    }
    this.port = await this.http.listen(cfg.host, cfg.port);
    this.presenceMeta = { ...this.presenceMeta, port: this.port, transport: this.http.impl };
    this.presence.setMeta(this.presenceMeta);
    log.info(
      { port: this.port, transport: this.http.impl, native: this.native, workers: cfg.workers },
      `gateway ${cfg.instanceId} listening on ${cfg.host}:${this.port} (transport: ${this.transportDetail})`,
    );
  }

  /** Readiness: Redis answers, our inbox consumer completes probe round trips, not draining. */
  ready(): boolean {
    return !this.ctx.draining && this.redisOk && this.ctx.inbox.isConsuming();
  }

  private routes(): void {
    const { cfg } = this;
    const app = this.http;
    registerSocketEndpoints(app, this.ctx, {
      authorize: this.opts.authorize ?? credentialsAuthorize(this.ctx.auth, this.ctx.metrics),
      maxPendingConnections: cfg.maxPendingConnections,
      wsIdleTimeoutSec: cfg.wsIdleTimeoutSec,
    });
    getRoute(app, '/health', () => json({ status: 'ok', instance_id: cfg.instanceId }));
    getRoute(app, '/ready', () =>
      this.ready()
        ? json({ status: 'ready', instance_id: cfg.instanceId })
        : json(
            {
              status: 'not_ready',
              instance_id: cfg.instanceId,
              redis: this.redisOk,
              inbox: this.ctx.inbox.isConsuming(),
              draining: this.ctx.draining,
            },
            503,
          ),
    );
    const admin = this.ctx.auth.admin ?? undefined;
    getRoute(
      app,
      '/metrics',
      async () => ({
        body: await this.ctx.metrics.registry.metrics(),
        type: this.ctx.metrics.registry.contentType,
      }),
      cfg.metricsPublic ? undefined : admin,
    );
    registerApiRoutes(app, this.ctx, admin);
    registerRoomRoutes(app, this.ctx, admin);
    registerDashboardRoutes(app, this.ctx, admin);
    app.fallback(() => json({ error: 'not found' }, 404));
  }

  /**
   * Stops the instance. Graceful: not ready, no new connections, sessions told to resume
   * elsewhere, nodes leave their pools (their jobs fail over), inbox finished, presence removed.
   */
  stop(graceful = true): Promise<void> {
    this.stopping ??= this.doStop(graceful);
    return this.stopping;
  }

  private async doStop(graceful: boolean): Promise<void> {
    this.ctx.draining = true;
    this.http.stopListening();
    if (graceful) {
      for (const actor of [...this.ctx.sessions.values()]) actor.handOff();
      // Nodes: no new jobs, results of running ones still accepted for a bounded grace.
      const graceMs = Math.min(this.cfg.drainTimeoutMs / 2, this.cfg.jobTimeoutMs);
      await Promise.all([...this.ctx.nodes.values()].map((node) => node.drainAndClose(graceMs)));
    }
    this.timeouts.stop();
    this.ctx.quotas.stop();
    this.roomLeases.stop();
    this.dlqMonitor.stop();
    this.lossAudit.stop();
    await Promise.allSettled([this.sweeps.close(), this.failover.close()]);
    await this.ctx.inbox.stop();
    await this.presence.stop(graceful).catch(() => {});
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const c of Object.values(this.conns)) c.disconnect();
    this.http.closeAll(); // whatever is still open would talk to a stopped instance
    this.log.info('gateway stopped');
  }
}
