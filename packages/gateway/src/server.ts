/**
 * One gateway instance: uWebSockets.js server for sessions and nodes, the inbox consumer,
 * presence, and (by default) the workers. Everything shared lives in Redis; the maps in the
 * context are this process's own sockets.
 */
import { connectRedis, InboxBus, JobStore, Keyspace, Presence, type RedisClient } from '@lingua/cluster';
import { parseClientFrame, parseNodeFrame } from '@lingua/protocol';
import { FailoverQueue, JobLifecycle, Rerouter, Sweeps, TimeoutWorker } from '@lingua/workers';
import { clusterReader, instanceLoad, registerApiRoutes } from './api';
import { registerClusterMetrics } from './cluster-metrics';
import type { GatewayConfig } from './config';
import type { GatewayContext, Transport } from './context';
import { registerDashboardRoutes } from './dashboard-routes';
import { getRoute, json } from './http';
import { createLogger, type Logger } from './logger';
import { createMetrics } from './metrics';
import { NodeConn } from './node-conn';
import { createInboxHandler } from './router';
import { SessionActor } from './session-actor';
import { type us_listen_socket, uWS, uwsIsNative, type WebSocket } from './uws';

interface ConnData {
  kind: 'session' | 'node';
  authorized: boolean;
  tenant?: string;
  transport?: SocketTransport;
  session?: SessionActor;
  node?: NodeConn;
  badFrames: number;
}

/** Wraps a uWS socket: never touched after close; over the backpressure limit it is closed
 * (the client resumes and replays from the result log, so nothing is lost). */
class SocketTransport implements Transport {
  closed = false;
  constructor(
    private readonly ws: WebSocket<ConnData>,
    private readonly maxBuffered: number,
  ) {}
  send(frame: object): boolean {
    if (this.closed) return false;
    this.ws.send(JSON.stringify(frame), false);
    if (this.ws.getBufferedAmount() > this.maxBuffered) {
      this.close(1013, 'backpressure: client too slow');
      return false;
    }
    return true;
  }
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.end(code, reason);
  }
}

export class Gateway {
  readonly ctx: GatewayContext;
  port = 0;
  private listenSocket: us_listen_socket | null = null;
  private readonly conns: { redis: RedisClient; worker: RedisClient; blocking: RedisClient };
  private readonly presence: Presence;
  private readonly failover: FailoverQueue;
  private readonly timeouts: TimeoutWorker;
  private readonly sweeps: Sweeps;
  private readonly app: ReturnType<typeof uWS.App>;
  private redisOk = false;
  /** static presence facts; instanceLoad() adds connection counts and counters each second */
  private presenceMeta: Record<string, unknown> = {};
  private pingTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  readonly native: boolean;

  private constructor(
    readonly cfg: GatewayConfig,
    readonly log: Logger,
  ) {
    this.native = uwsIsNative();
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
    const metrics = createMetrics(cfg.instanceId, this.native);
    const store = new JobStore(conns.redis, ks, {
      maxAttempts: cfg.maxAttempts,
      resultLogMaxLen: cfg.resultLogMaxLen,
      resultLogTtlMs: cfg.sessionTtlMs,
      jobTtlMs: cfg.jobTtlMs,
      sessionTtlMs: cfg.sessionTtlMs,
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
      onDeadLetter: (reason) => metrics.dlqEntries.inc({ reason: reason.replace(/\d+/g, 'N') }),
    });
    const jobs = new JobLifecycle(
      conns.redis,
      ks,
      store,
      inbox,
      { jobTimeoutMs: cfg.jobTimeoutMs, jobOverallTimeoutMs: cfg.jobOverallTimeoutMs, leaseMs: cfg.leaseMs },
      log,
      {
        onTransition: (to) => metrics.jobTransitions.inc({ to }),
        onDropped: (reason) => metrics.lateResultsDropped.inc({ reason }),
        onSelect: (s) => metrics.selectSeconds.observe(s),
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
      inbox,
      jobs,
      sessions: new Map(),
      nodes: new Map(),
      now: Date.now,
      draining: false,
    };
    const reader = clusterReader(this.ctx);
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
    this.timeouts = new TimeoutWorker(ks, store, jobs, log, { pollMs: cfg.timeoutPollMs });
    this.sweeps = new Sweeps(conns.worker, ks, jobs, rerouter, log, {
      connection: conns.worker,
      prefix: bullPrefix,
      intervalMs: cfg.sweepIntervalMs,
      nodeHeartbeatTimeoutMs: cfg.nodeHeartbeatTimeoutMs,
      instanceId: cfg.instanceId,
    });
    this.presence = new Presence(conns.redis, ks, cfg.instanceId, cfg.presenceTtlMs);
    this.app = uWS.App();
    this.routes();
  }

  static async start(cfg: GatewayConfig, log = createLogger(cfg.instanceId, cfg.logLevel)): Promise<Gateway> {
    const gw = new Gateway(cfg, log);
    await gw.begin();
    return gw;
  }

  private async begin(): Promise<void> {
    const { cfg, log } = this;
    const onError = (err: unknown) => log.warn({ err: String(err) }, 'background task error');
    await this.conns.redis.ping();
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
    this.presenceMeta = { port: cfg.port, native: this.native, started: Date.now() };
    this.presence.setMeta(this.presenceMeta);
    this.presence.start(onError);
    await this.presence.beat();
    await this.ctx.inbox.start();
    if (cfg.workers) {
      this.failover.startWorker(this.ctx.jobs, onError);
      this.timeouts.start();
      await this.sweeps.start(onError);
    }
    await new Promise<void>((resolve, reject) => {
      this.app.listen(cfg.host, cfg.port, (sock) => {
        if (!sock) return reject(new Error(`cannot listen on ${cfg.host}:${cfg.port}`));
        this.listenSocket = sock;
        this.port = uWS.us_socket_local_port(sock);
        resolve();
      });
    });
    this.presenceMeta = { ...this.presenceMeta, port: this.port };
    this.presence.setMeta(this.presenceMeta);
    log.info(
      { port: this.port, uws: this.native ? 'native' : 'fallback', workers: cfg.workers },
      `gateway ${cfg.instanceId} listening on ${cfg.host}:${this.port} (uWebSockets.js ${this.native ? 'native binary' : 'ws fallback'})`,
    );
  }

  /** Readiness: Redis answers, our inbox consumer completes probe round trips, not draining. */
  ready(): boolean {
    return !this.ctx.draining && this.redisOk && this.ctx.inbox.isConsuming();
  }

  private routes(): void {
    const { cfg } = this;
    const hardCap = cfg.maxPayloadBytes * 2;
    const wsOptions = (kind: 'session' | 'node') => ({
      maxPayloadLength: hardCap,
      maxBackpressure: cfg.maxBackpressureBytes * 4,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      upgrade: (res: import('./uws').HttpResponse, req: import('./uws').HttpRequest, context: unknown) => {
        const token = tokenFrom(req.getQuery() ?? '', req.getHeader('authorization'));
        const data: ConnData = {
          kind,
          // Nodes authenticate in node_register; sessions with ?token= or a bearer header.
          authorized: kind === 'node' || !cfg.authToken || token === cfg.authToken,
          badFrames: 0,
        };
        res.upgrade(
          data,
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context as import('uWebSockets.js').us_socket_context_t,
        );
      },
      open: (ws: WebSocket<ConnData>) => this.onOpen(ws),
      message: (ws: WebSocket<ConnData>, message: ArrayBuffer) => this.onMessage(ws, message),
      close: (ws: WebSocket<ConnData>) => this.onClose(ws),
    });
    this.app.ws<ConnData>('/ws/session', wsOptions('session'));
    this.app.ws<ConnData>('/ws/node', wsOptions('node'));
    getRoute(this.app, '/health', () => json({ status: 'ok', instance_id: cfg.instanceId }));
    getRoute(this.app, '/ready', () =>
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
    getRoute(this.app, '/metrics', async () => ({
      body: await this.ctx.metrics.registry.metrics(),
      type: this.ctx.metrics.registry.contentType,
    }));
    registerApiRoutes(this.app, this.ctx, cfg.adminToken || undefined);
    registerDashboardRoutes(this.app, this.ctx, cfg.adminToken || undefined);
    this.app.any('/*', (res) => {
      res
        .writeStatus('404 Not Found')
        .writeHeader('content-type', 'application/json')
        .end('{"error":"not found"}');
    });
  }

  private onOpen(ws: WebSocket<ConnData>): void {
    const data = ws.getUserData();
    const transport = new SocketTransport(ws, this.cfg.maxBackpressureBytes);
    data.transport = transport;
    this.ctx.metrics.connections.inc({ kind: data.kind });
    if (!data.authorized) {
      transport.send({ type: 'error', code: 'UNAUTHORIZED', message: 'missing or invalid token' });
      transport.close(1008, 'unauthorized');
      return;
    }
    if (this.ctx.draining) {
      transport.send({
        type: 'error',
        code: 'DRAINING',
        message: 'this instance is shutting down; reconnect',
      });
      transport.close(1012, 'draining');
      return;
    }
    if (data.kind === 'session')
      data.session = new SessionActor(this.ctx, transport, { tenant: data.tenant });
    else data.node = new NodeConn(this.ctx, transport);
  }

  private onMessage(ws: WebSocket<ConnData>, message: ArrayBuffer): void {
    const data = ws.getUserData();
    const transport = data.transport!;
    if (transport.closed) return;
    // The ArrayBuffer is only valid during this callback: parse decodes it synchronously.
    const parsed =
      data.kind === 'session'
        ? parseClientFrame(message, { maxBytes: this.cfg.maxPayloadBytes })
        : parseNodeFrame(message, { maxBytes: this.cfg.maxPayloadBytes });
    if (!parsed.ok) {
      data.badFrames++;
      this.ctx.metrics.framesRejected.inc({ kind: data.kind, code: parsed.code });
      transport.send({ type: 'error', code: parsed.code, message: parsed.message, field: parsed.field });
      if (data.badFrames > this.cfg.abuseLimit) transport.close(1008, 'too many bad frames');
      return;
    }
    data.badFrames = 0;
    if (data.session) data.session.receive(parsed.msg as never);
    else data.node?.receive(parsed.msg as never);
  }

  private onClose(ws: WebSocket<ConnData>): void {
    const data = ws.getUserData();
    if (data.transport) data.transport.closed = true;
    this.ctx.metrics.connections.dec({ kind: data.kind });
    data.session?.onSocketClosed();
    void data.node?.onSocketClosed();
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
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
    if (graceful) {
      for (const actor of [...this.ctx.sessions.values()]) actor.handOff();
      // Nodes: no new jobs, results of running ones still accepted for a bounded grace.
      const graceMs = Math.min(this.cfg.drainTimeoutMs / 2, this.cfg.jobTimeoutMs);
      await Promise.all([...this.ctx.nodes.values()].map((node) => node.drainAndClose(graceMs)));
    }
    this.timeouts.stop();
    await Promise.allSettled([this.sweeps.close(), this.failover.close()]);
    await this.ctx.inbox.stop();
    await this.presence.stop(graceful).catch(() => {});
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const c of Object.values(this.conns)) c.disconnect();
    this.log.info('gateway stopped');
  }
}

function tokenFrom(query: string, authorization: string): string | undefined {
  const m = /(?:^|&)token=([^&]*)/.exec(query);
  if (m) return decodeURIComponent(m[1]!);
  if (authorization.startsWith('Bearer ')) return authorization.slice(7);
  return undefined;
}
