/**
 * The drill's own local cluster: a private redis-server with AOF (unless a Redis URL is given),
 * G gateway processes on separate ports, M simulated node processes (sim-main), all of them
 * real processes so a drill can SIGKILL, SIGTERM, silence and restart any one. Logs go to one
 * file per process name (restarts append).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis, Keyspace, type RedisClient } from '@lingua/cluster';
import {
  gatewayEnv,
  type LocalCredentials,
  nodeTokenFrom,
  resolveCredentials,
  sessionTokenFrom,
  withoutCredentials,
} from '../credentials';
import { entryCommand } from '../entries';
import { freePort, redisPing, sleep } from '../net';
import { LocalRedis } from '../redis-local';
import { REPO_ROOT } from '../state';
import { type ManagedChild, Supervisor } from '../supervisor';

const PROTO_NODE_MAIN = join(REPO_ROOT, 'packages/cli/src/drill/proto-node-main.mjs');

/**
 * Which node processes a drill runs: the SDK's simulated node (`sim`: keeps unsent results
 * across reconnects), or the protocol-only node that drops in-flight answers when its
 * connection drops, listing its jobs (`proto`, v1.4) or not (`proto-v11`).
 */
export type NodeKind = 'sim' | 'proto' | 'proto-v11';

/**
 * Fast failure detection, so a drill sees failover in seconds instead of the production
 * defaults (heartbeat timeout 15 s, presence 3 s, job timeout 30 s). Overridable per key.
 */
export const DRILL_GATEWAY_ENV: Record<string, string> = {
  LINGUA_PRESENCE_TTL_MS: '1000',
  LINGUA_NODE_HEARTBEAT_MS: '200',
  LINGUA_NODE_HEARTBEAT_TIMEOUT_MS: '1000',
  LINGUA_SWEEP_INTERVAL_MS: '200',
  LINGUA_TIMEOUT_POLL_MS: '100',
  LINGUA_JOB_TIMEOUT_MS: '3000',
  LINGUA_INBOX_CLAIM_IDLE_MS: '500',
  LINGUA_DRAIN_TIMEOUT_MS: '5000',
  LINGUA_LOG_LEVEL: 'info',
};

export interface ClusterOptions {
  gateways: number;
  nodes: number;
  /** external Redis; a private redis-server with AOF is started when absent */
  redisUrl?: string;
  prefix: string;
  cells: number;
  shards: number;
  /** extra/overriding gateway environment */
  env: Record<string, string>;
  nodeLatency: string;
  maxJobs: number;
  /** what a node silenced with SIGUSR2 stops doing (sim-main --silent-scope) */
  silentScope: 'all' | 'jobs';
  /** node processes to run (default sim) */
  nodeKind?: NodeKind;
  /** redis-server --appendfsync for the private Redis */
  appendfsync: 'always' | 'everysec';
  readyTimeoutMs: number;
  verbose: boolean;
  /** private Redis as a Sentinel set or a Cluster with replicas (redis-local.ts); default standalone */
  redisTopology?: 'standalone' | 'sentinel' | 'cluster';
}

export interface GatewaySlot {
  id: string;
  port: number;
  child: ManagedChild;
  /** children that held this slot before (restarts) */
  generation: number;
}

export interface NodeSlot {
  id: string;
  child: ManagedChild;
  registered: boolean;
  silent: boolean;
  /** sim-main logged that it lost / restored its --lose-model pair (SIGHUP) */
  modelLost?: boolean;
  /** the gateways it connects to, in order (kept for a restart) */
  urls?: string[];
}

export class DrillCluster {
  readonly runDir: string;
  readonly logDir: string;
  readonly sup: Supervisor;
  readonly ks: Keyspace;
  readonly env: Record<string, string>;
  redisUrl = '';
  redisPort = 0;
  redisChild: ManagedChild | undefined;
  /** the private Sentinel set / Cluster, when redisTopology asked for one */
  localRedis: LocalRedis | undefined;
  gateways: GatewaySlot[] = [];
  nodes: NodeSlot[] = [];
  /** a connection for the drill's own reads (events, DLQ, node state) */
  redis: RedisClient | undefined;
  private redisDir = '';
  /** fresh secrets per drill: gateways get them in their environment, nodes a token each */
  readonly creds: LocalCredentials = resolveCredentials({}, false);
  private readonly nodeTokens = new Map<string, string>();

  constructor(readonly opts: ClusterOptions) {
    this.runDir = mkdtempSync(join(tmpdir(), 'lingua-drill-'));
    this.logDir = join(this.runDir, 'logs');
    mkdirSync(this.logDir);
    this.sup = new Supervisor(this.logDir, opts.verbose, 14);
    this.ks = new Keyspace({ prefix: opts.prefix, cells: opts.cells, shards: opts.shards });
    this.env = { ...DRILL_GATEWAY_ENV, ...opts.env };
  }

  get ownsRedis(): boolean {
    return !this.opts.redisUrl;
  }

  wsUrls(kind: 'session' | 'node'): string[] {
    return this.gateways.map((g) => `ws://127.0.0.1:${g.port}/ws/${kind}`);
  }

  async start(): Promise<void> {
    const topology = this.opts.redisTopology ?? 'standalone';
    if (this.opts.redisUrl) this.redisUrl = this.opts.redisUrl;
    else if (topology !== 'standalone') {
      this.redisDir = join(this.runDir, 'redis');
      this.localRedis = new LocalRedis(this.sup, this.redisDir, this.opts.readyTimeoutMs);
      const persist = { appendfsync: this.opts.appendfsync };
      this.redisUrl =
        topology === 'sentinel'
          ? await this.localRedis.startSentinel(persist)
          : await this.localRedis.startCluster(persist);
    } else {
      this.redisPort = await freePort();
      this.redisDir = join(this.runDir, 'redis');
      mkdirSync(this.redisDir);
      await this.startRedis();
      this.redisUrl = `redis://127.0.0.1:${this.redisPort}`;
    }
    this.redis = connectRedis({ url: this.redisUrl, role: 'worker', name: 'lingua-drill' });
    this.redis.on('error', () => {}); // outages are part of some drills
    const ports: number[] = [];
    while (ports.length < this.opts.gateways) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    this.gateways = ports.map((port, i) => ({
      id: `gw-${i + 1}`,
      port,
      child: this.spawnGateway(`gw-${i + 1}`, port),
      generation: 0,
    }));
    await Promise.all(this.gateways.map((g) => this.waitGatewayReady(g)));
    const urls = this.wsUrls('node');
    for (let i = 1; i <= this.opts.nodes; i++) {
      this.nodeTokens.set(`sim-${i}`, await nodeTokenFrom(this.creds.nodeSecret!, `sim-${i}`, 86_400));
    }
    this.nodes = Array.from({ length: this.opts.nodes }, (_, i) => {
      // Spread the nodes over the gateways; reconnects go round-robin from there.
      const rotated = [...urls.slice(i % urls.length), ...urls.slice(0, i % urls.length)];
      const slot: NodeSlot = {
        id: `sim-${i + 1}`,
        child: undefined as never,
        registered: false,
        silent: false,
      };
      slot.urls = rotated;
      slot.child = this.spawnNode(slot, rotated);
      return slot;
    });
    await this.until(
      `${this.nodes.length} simulated nodes to register`,
      () => this.nodes.every((n) => n.registered),
      this.nodes.map((n) => n.child),
    );
  }

  // ---- Redis ----

  private async startRedis(): Promise<void> {
    this.redisChild = this.sup.spawn({
      name: 'redis-server',
      command: 'redis-server',
      env: withoutCredentials(process.env),
      args: [
        '--port',
        String(this.redisPort),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.redisDir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        this.opts.appendfsync,
        '--maxmemory-policy',
        'noeviction',
      ],
    });
    await this.until('redis-server to answer PING', () => redisPing(this.redisPort), [this.redisChild]).catch(
      (err) => {
        if (this.redisChild?.tail().some((l) => l.includes('ENOENT'))) {
          throw new Error('redis-server not found on PATH: run `npm run setup` (or pass --redis URL)');
        }
        throw err;
      },
    );
  }

  /** SIGKILL the private redis-server (its AOF stays in its dir). */
  async killRedis(): Promise<number | undefined> {
    const c = this.redisChild;
    if (!c) throw new Error('the drill does not own Redis (--redis was given)');
    const pid = c.pid;
    c.signal('SIGKILL');
    await c.exited;
    return pid;
  }

  /** Starts redis-server again on the same port and dir (it replays the AOF). */
  async restartRedis(): Promise<void> {
    if (!this.redisDir) throw new Error('the drill does not own Redis (--redis was given)');
    await this.startRedis();
  }

  // ---- gateways ----

  private spawnGateway(id: string, port: number): ManagedChild {
    const env: NodeJS.ProcessEnv = {
      ...gatewayEnv(process.env, this.creds),
      ...this.env,
      LINGUA_INSTANCE_ID: id,
      LINGUA_REDIS_URL: this.redisUrl,
      LINGUA_PORT: String(port),
      LINGUA_HOST: '127.0.0.1',
      LINGUA_KEY_PREFIX: this.opts.prefix,
      LINGUA_CELLS: String(this.opts.cells),
      LINGUA_SHARDS: String(this.opts.shards),
    };
    return this.sup.spawn({
      name: id,
      ...entryCommand('gateway', []),
      env,
      cwd: REPO_ROOT,
    });
  }

  async readyStatus(port: number): Promise<number> {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(1000) });
      return r.status;
    } catch {
      return 0;
    }
  }

  async waitGatewayReady(g: GatewaySlot): Promise<void> {
    await this.until(`${g.id} /ready`, async () => (await this.readyStatus(g.port)) === 200, [g.child]);
  }

  /** Signals a gateway; resolves with its exit once it is gone. */
  async stopGateway(
    g: GatewaySlot,
    signal: NodeJS.Signals,
  ): Promise<{ code: number | null; signal: string | null }> {
    g.child.signal(signal);
    const info = await g.child.exited;
    return { code: info.code, signal: info.signal };
  }

  /** A new process for the slot (same id and port); resolves once /ready. */
  async restartGateway(g: GatewaySlot): Promise<void> {
    g.child = this.spawnGateway(g.id, g.port);
    g.generation++;
    await this.waitGatewayReady(g);
  }

  async metricsText(port: number): Promise<string | null> {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/metrics`, {
        headers: { authorization: `Bearer ${this.creds.adminToken}` },
        signal: AbortSignal.timeout(2000),
      });
      return r.ok ? await r.text() : null;
    } catch {
      return null;
    }
  }

  /** A session token for the drill's load (one tenant). */
  sessionToken(): Promise<string> {
    return sessionTokenFrom(this.creds.sessionSecret!, { tenant: 'drill' }, 86_400);
  }

  // ---- nodes ----

  /** A new process for the node slot, same id and URLs (the node restarts). */
  restartNode(slot: NodeSlot): void {
    slot.registered = false;
    slot.silent = false;
    slot.child = this.spawnNode(slot, slot.urls ?? this.wsUrls('node'));
  }

  private spawnNode(slot: NodeSlot, urls: string[]): ManagedChild {
    // What both node kinds take; the token only through the environment (never argv).
    const common = [
      '--url',
      urls.join(','),
      '--node-id',
      slot.id,
      '--asr',
      'zh,en',
      '--tts',
      'zh,en,ja',
      '--max-jobs',
      String(this.opts.maxJobs),
      '--latency',
      this.opts.nodeLatency,
    ];
    const proto = this.opts.nodeKind === 'proto' || this.opts.nodeKind === 'proto-v11';
    const command = proto
      ? {
          command: process.execPath,
          args: [PROTO_NODE_MAIN, ...common, '--job-ids', this.opts.nodeKind === 'proto' ? 'list' : 'none'],
        }
      : entryCommand('sim-node', [
          ...common,
          '--grace-ms',
          '500',
          '--silent-scope',
          this.opts.silentScope,
          // Inert until SIGHUP (the model-loss drill): the load's pair.
          '--lose-model',
          'zh:en',
        ]);
    const child = this.sup.spawn({
      name: slot.id,
      ...command,
      env: { ...withoutCredentials(process.env), LINGUA_NODE_TOKEN: this.nodeTokens.get(slot.id) },
      cwd: REPO_ROOT,
    });
    child.watch((line) => {
      if (line.includes('"msg":"registered"')) slot.registered = true;
      if (line.includes('"msg":"silent"')) slot.silent = true;
      if (line.includes('"msg":"model lost"')) slot.modelLost = true;
      if (line.includes('"msg":"model restored"')) slot.modelLost = false;
    });
    return child;
  }

  /** Jobs each node holds right now (its reservations in Redis). */
  async heldJobs(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const n of this.nodes) {
      if (!n.child.running) continue;
      out.set(n.id, await this.redis!.scard(this.ks.nodeJobs(n.id)));
    }
    return out;
  }

  async nodeState(id: string): Promise<string | null> {
    return this.redis!.hget(this.ks.node(id), 'state');
  }

  // ---- helpers ----

  async until(what: string, cond: () => Promise<boolean> | boolean, watch: ManagedChild[]): Promise<void> {
    const deadline = Date.now() + this.opts.readyTimeoutMs;
    for (;;) {
      for (const c of watch) {
        if (c.exitInfo) {
          const tail = c.tail().slice(-10).join('\n    ');
          throw new Error(
            `${c.name} exited (code ${c.exitInfo.code}, signal ${c.exitInfo.signal}); log: ${c.logPath}\n    ${tail}`,
          );
        }
      }
      if (await cond()) return;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${this.opts.readyTimeoutMs} ms waiting for ${what}; logs: ${this.logDir}`,
        );
      }
      await sleep(50);
    }
  }

  /** Deletes every key under the drill's prefix, bullmq's `{<prefix>bull}` keys included. */
  async deleteKeys(): Promise<number> {
    const r = this.redis;
    if (!r) return 0;
    const targets = 'nodes' in r && typeof r.nodes === 'function' ? r.nodes('master') : [r];
    let n = 0;
    for (const node of targets) {
      for (const pattern of [`${this.opts.prefix}*`, `{${this.ks.bullPrefix()}}*`]) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
          cursor = next;
          for (const k of keys) n += await node.unlink(k);
        } while (cursor !== '0');
      }
    }
    return n;
  }

  /**
   * Stops nodes, then gateways, then Redis (bounded); with `cleanKeys` (external Redis) deletes
   * the drill's keys once nothing writes them any more; removes the run dir unless kept.
   */
  async stop(opts: { keepLogs: boolean; cleanKeys: boolean }): Promise<void> {
    await this.sup.stopPhases(
      [
        this.nodes.map((n) => n.child),
        this.gateways.map((g) => g.child),
        this.redisChild ? [this.redisChild] : [],
        this.localRedis?.procs.map((p) => p.child) ?? [],
      ],
      3000,
    );
    if (opts.cleanKeys) await this.deleteKeys().catch(() => 0);
    this.redis?.disconnect();
    if (!opts.keepLogs) rmSync(this.runDir, { recursive: true, force: true });
  }
}
