/**
 * `lingua up`: a local multi-instance cluster in one command. A private redis-server (unless
 * --redis), N gateway processes sharing one port (SO_REUSEPORT on Linux; consecutive ports
 * elsewhere), M simulated nodes with a mix of language pairs. Waits until every gateway
 * listens, the cluster API shows N alive instances and M online nodes, prints one block of
 * URLs, and on Ctrl-C / SIGTERM stops nodes, then gateways, then Redis (SIGTERM to each
 * process group, SIGKILL after a bound).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redactRedisUrl } from '@lingua/cluster';
import type { ClusterView } from '@lingua/dashboard';
import { canSharePort, type TransportChoice } from '@lingua/gateway';
import {
  clearCredentials,
  credentialsFile,
  gatewayEnv,
  type LocalCredentials,
  nodeTokenFrom,
  resolveCredentials,
  sessionTokenFrom,
  withoutCredentials,
  writeCredentials,
} from './credentials';
import { Demo } from './demo';
import { entryCommand } from './entries';
import { freePort, getJson, portIsFree, redisPing, sleep } from './net';
import { LocalRedis } from './redis-local';
import { clearState, type LocalClusterState, REPO_ROOT, writeState } from './state';
import { type ManagedChild, Supervisor, watchParent } from './supervisor';

export interface UpOptions {
  gateways: number;
  nodes: number;
  port: number;
  host: string;
  /**
   * external Redis URL; `sentinel` / `cluster`: a private Sentinel set or Redis Cluster with
   * replicas (redis-local.ts); a private redis-server when absent
   */
  redis?: string;
  cells: number;
  shards: number;
  prefix: string;
  verbose: boolean;
  /** run without credentials (LINGUA_INSECURE=true for the gateways) */
  insecure: boolean;
  /** simulated node latency: "MS" or "MIN-MAX" */
  nodeLatency: string;
  maxJobs: number;
  logLevel: string;
  readyTimeoutMs: number;
  stopTimeoutMs: number;
  keepLogs: boolean;
  /** demo sessions to run (0 = none) and their utterance interval */
  demo: number;
  demoIntervalMs: number;
}

export const UP_DEFAULTS: UpOptions = {
  gateways: 3,
  nodes: 2,
  port: 8080,
  host: '127.0.0.1',
  cells: 1,
  shards: 1,
  prefix: 'lingua:v1:',
  verbose: false,
  insecure: false,
  nodeLatency: '30-120',
  maxJobs: 4,
  logLevel: 'info',
  readyTimeoutMs: 60_000,
  stopTimeoutMs: 10_000,
  keepLogs: false,
  demo: 0,
  demoIntervalMs: 1000,
};

/** Language mixes of the simulated nodes, used in turn: node 1, node 2, ... */
export const NODE_PROFILES = [
  { asr: 'zh,en', tts: 'zh,en,ja' },
  { asr: 'en,ja', tts: 'en,zh,ja' },
  { asr: 'zh,ja', tts: 'zh,en,ja' },
];

function say(msg: string): void {
  process.stderr.write(`lingua up: ${msg}\n`);
}

class StartupError extends Error {}

/** Lifetime of the tokens `lingua up` mints for its own nodes and demo sessions. */
const OWN_TOKEN_TTL_S = 30 * 86_400;
/** Lifetime of the tokens it prints for you. */
const PRINTED_TOKEN_TTL_S = 86_400;
const PRINTED_TENANT = 'local';

export class LocalCluster {
  readonly runDir: string;
  readonly logDir: string;
  readonly sup: Supervisor;
  redisUrl = '';
  ports: number[] = [];
  redisChild: ManagedChild | undefined;
  localRedis: LocalRedis | undefined;
  gateways: ManagedChild[] = [];
  nodes: ManagedChild[] = [];
  private ready = false;
  private demo: Demo | undefined;
  private stopping: Promise<void> | undefined;
  /** credentials from the environment, generated where missing (credentials.ts) */
  readonly creds: LocalCredentials;
  /** the tokens printed in the banner (absent: insecure, or a role signed by your issuer) */
  printed: { session?: string; node?: string } = {};

  constructor(readonly opts: UpOptions) {
    this.creds = resolveCredentials(process.env, opts.insecure);
    this.runDir = mkdtempSync(join(tmpdir(), 'lingua-up-'));
    this.logDir = join(this.runDir, 'logs');
    mkdirSync(this.logDir);
    this.sup = new Supervisor(this.logDir, opts.verbose);
  }

  get connectHost(): string {
    const h = this.opts.host;
    return h === '0.0.0.0' || h === '::' || h === '' ? '127.0.0.1' : h;
  }

  get httpUrl(): string {
    return `http://${this.connectHost}:${this.ports[0]}`;
  }

  wsUrls(kind: 'session' | 'node'): string[] {
    return [...new Set(this.ports)].map((p) => `ws://${this.connectHost}:${p}/ws/${kind}`);
  }

  async start(): Promise<void> {
    const o = this.opts;
    // SO_REUSEPORT balances between processes only on Linux (and, on the node transport, only
    // from Node 22.12); elsewhere one port per gateway.
    const transport = (process.env.LINGUA_TRANSPORT || 'auto') as TransportChoice;
    const shared = canSharePort(transport);
    this.ports = Array.from({ length: o.gateways }, (_, i) => (shared ? o.port : o.port + i));
    for (const p of new Set(this.ports)) {
      if (!(await portIsFree(p, o.host))) {
        throw new StartupError(`port ${p} on ${o.host} is in use (another lingua up?); pick one with --port`);
      }
    }
    if (!this.creds.insecure && o.nodes > 0 && !this.creds.nodeSecret && !process.env.LINGUA_NODE_TOKEN) {
      throw new StartupError(
        'LINGUA_NODE_JWT_PUBLIC_KEY is set: set LINGUA_NODE_TOKEN (a node token for sim-*) for the simulated nodes, or --nodes 0',
      );
    }
    if (
      !this.creds.insecure &&
      o.demo > 0 &&
      !this.creds.sessionSecret &&
      !process.env.LINGUA_SESSION_TOKEN
    ) {
      throw new StartupError(
        'LINGUA_SESSION_JWT_PUBLIC_KEY is set: set LINGUA_SESSION_TOKEN (a session token) for the demo sessions',
      );
    }
    if (this.creds.sessionSecret) {
      this.printed.session = await sessionTokenFrom(
        this.creds.sessionSecret,
        { tenant: PRINTED_TENANT },
        PRINTED_TOKEN_TTL_S,
      );
    }
    if (this.creds.nodeSecret)
      this.printed.node = await nodeTokenFrom(this.creds.nodeSecret, '*', PRINTED_TOKEN_TTL_S);
    if (o.redis === 'sentinel' || o.redis === 'cluster') await this.startReplicatedRedis(o.redis);
    else if (o.redis) this.redisUrl = o.redis;
    else await this.startRedis();
    await this.startGateways();
    await this.startNodes();
    await this.waitClusterReady();
    this.ready = true;
    for (const c of this.sup.children) {
      void c.exited.then((info) => {
        if (this.stopping) return;
        const why = info.signal ? `signal ${info.signal}` : `code ${info.code}`;
        say(`${c.name} exited unexpectedly (${why}); log: ${c.logPath}`);
        for (const line of c.tail().slice(-5)) say(`  ${c.name}| ${line}`);
      });
    }
    if (o.demo > 0) {
      const token = this.creds.insecure
        ? undefined
        : this.creds.sessionSecret
          ? await sessionTokenFrom(this.creds.sessionSecret, { tenant: 'demo' }, OWN_TOKEN_TTL_S)
          : process.env.LINGUA_SESSION_TOKEN;
      this.demo = new Demo({
        urls: this.wsUrls('session'),
        pairs: ['zh:en', 'en:ja', 'ja:zh', 'en:zh'],
        sessions: o.demo,
        intervalMs: o.demoIntervalMs,
        token,
      });
      await this.demo.start();
    }
  }

  private failIfExited(children: ManagedChild[]): void {
    for (const c of children) {
      if (c.exitInfo) {
        const tail = c
          .tail()
          .slice(-10)
          .map((l) => `    ${l}`)
          .join('\n');
        throw new StartupError(
          `${c.name} exited during start-up (code ${c.exitInfo.code}, signal ${c.exitInfo.signal}); log: ${c.logPath}${tail ? `\n${tail}` : ''}`,
        );
      }
    }
  }

  private async until(
    what: string,
    cond: () => Promise<boolean> | boolean,
    watch: ManagedChild[],
  ): Promise<void> {
    const deadline = Date.now() + this.opts.readyTimeoutMs;
    for (;;) {
      if (this.stopping) throw new StartupError('stopped during start-up');
      this.failIfExited(watch);
      if (await cond()) return;
      if (Date.now() > deadline) {
        throw new StartupError(
          `timed out after ${this.opts.readyTimeoutMs} ms waiting for ${what}; logs: ${this.logDir}`,
        );
      }
      await sleep(100);
    }
  }

  private async startRedis(): Promise<void> {
    const port = await freePort('127.0.0.1');
    const dir = join(this.runDir, 'redis');
    mkdirSync(dir);
    // Private and disposable: AOF (fsync every second) so a redis restart drill keeps data.
    this.redisChild = this.sup.spawn({
      name: 'redis-server',
      command: 'redis-server',
      env: withoutCredentials(process.env),
      args: [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--maxmemory-policy',
        'noeviction',
      ],
    });
    say(`starting redis-server on 127.0.0.1:${port}`);
    await this.until('redis-server to answer PING', () => redisPing(port), [this.redisChild]).catch((err) => {
      if (this.redisChild?.tail().some((l) => l.includes('ENOENT'))) {
        throw new StartupError('redis-server not found on PATH: run `npm run setup` (or pass --redis URL)');
      }
      throw err;
    });
    this.redisUrl = `redis://127.0.0.1:${port}`;
  }

  /** A private Sentinel set or Redis Cluster with replicas, under the same supervisor. */
  private async startReplicatedRedis(kind: 'sentinel' | 'cluster'): Promise<void> {
    this.localRedis = new LocalRedis(this.sup, join(this.runDir, 'redis'), this.opts.readyTimeoutMs);
    say(
      kind === 'sentinel'
        ? 'starting a Redis Sentinel set: primary, replica, 3 sentinels'
        : 'starting a Redis Cluster: 3 masters with a replica each',
    );
    this.redisUrl =
      kind === 'sentinel' ? await this.localRedis.startSentinel() : await this.localRedis.startCluster();
    if (kind === 'cluster' && this.opts.cells === 1 && this.opts.shards === 1) {
      // One cell and one shard would put every key on one master: spread them.
      this.opts.cells = 3;
      this.opts.shards = 6;
    }
  }

  private async startGateways(): Promise<void> {
    const o = this.opts;
    say(
      `starting ${o.gateways} gateway${o.gateways > 1 ? 's' : ''} on ${o.host}:${[...new Set(this.ports)].join(',')}`,
    );
    const listening = new Set<string>();
    this.gateways = this.ports.map((port, i) => {
      const id = `gw-${i + 1}`;
      // Secrets travel in the environment only (never argv: `ps` shows argv to every user).
      const env: NodeJS.ProcessEnv = gatewayEnv(process.env, this.creds);
      Object.assign(env, {
        LINGUA_INSTANCE_ID: id,
        LINGUA_REDIS_URL: this.redisUrl,
        LINGUA_PORT: String(port),
        LINGUA_HOST: o.host,
        LINGUA_KEY_PREFIX: o.prefix,
        LINGUA_CELLS: String(o.cells),
        LINGUA_SHARDS: String(o.shards),
        LINGUA_LOG_LEVEL: process.env.LINGUA_LOG_LEVEL || o.logLevel,
      });
      const child = this.sup.spawn({ name: id, ...entryCommand('gateway', []), env, cwd: REPO_ROOT });
      child.watch((line) => {
        if (line.includes(`gateway ${id} listening on`)) listening.add(id);
      });
      return child;
    });
    await this.until('every gateway to listen', () => listening.size === this.gateways.length, this.gateways);
  }

  private async startNodes(): Promise<void> {
    const o = this.opts;
    if (o.nodes === 0) return;
    say(`starting ${o.nodes} simulated node${o.nodes > 1 ? 's' : ''}`);
    const urls = this.wsUrls('node').join(',');
    // Each node gets a token for exactly its own id, in its environment; never the secrets.
    const tokens = await Promise.all(
      Array.from({ length: o.nodes }, (_, i) =>
        this.creds.insecure
          ? undefined
          : this.creds.nodeSecret
            ? nodeTokenFrom(this.creds.nodeSecret, `sim-${i + 1}`, OWN_TOKEN_TTL_S)
            : process.env.LINGUA_NODE_TOKEN,
      ),
    );
    this.nodes = Array.from({ length: o.nodes }, (_, i) => {
      const p = NODE_PROFILES[i % NODE_PROFILES.length]!;
      const args = [
        '--url',
        urls,
        '--node-id',
        `sim-${i + 1}`,
        '--asr',
        p.asr,
        '--tts',
        p.tts,
        '--max-jobs',
        String(o.maxJobs),
        '--latency',
        o.nodeLatency,
        '--grace-ms',
        '1000',
      ];
      const env = withoutCredentials(process.env);
      if (tokens[i]) env.LINGUA_NODE_TOKEN = tokens[i];
      return this.sup.spawn({ name: `sim-${i + 1}`, ...entryCommand('sim-node', args), env, cwd: REPO_ROOT });
    });
  }

  private async waitClusterReady(): Promise<void> {
    const gwIds = this.gateways.map((g) => g.name);
    const nodeIds = this.nodes.map((n) => n.name);
    let last = '';
    await this.until(
      `${gwIds.length} alive instances and ${nodeIds.length} online nodes`,
      async () => {
        try {
          for (const p of new Set(this.ports)) {
            const r = await fetch(`http://${this.connectHost}:${p}/ready`, {
              signal: AbortSignal.timeout(2000),
            });
            if (r.status !== 200) return false;
          }
          const c = await getJson<ClusterView>(`${this.httpUrl}/api/v1/cluster`, this.creds.adminToken);
          const alive = new Set(c.instances.filter((i) => i.alive).map((i) => i.id));
          const online = new Set(c.nodes.filter((n) => n.state === 'online').map((n) => n.node_id));
          last = `${gwIds.filter((id) => alive.has(id)).length}/${gwIds.length} instances, ${nodeIds.filter((id) => online.has(id)).length}/${nodeIds.length} nodes`;
          return gwIds.every((id) => alive.has(id)) && nodeIds.every((id) => online.has(id));
        } catch {
          return false;
        }
      },
      this.sup.children,
    ).catch((err) => {
      throw last ? new StartupError(`${(err as Error).message} (last seen: ${last})`) : err;
    });
  }

  state(): LocalClusterState {
    const pids: Record<string, number> = {};
    for (const c of this.sup.children) if (c.pid) pids[c.name] = c.pid;
    return {
      pid: process.pid,
      started: Date.now(),
      host: this.connectHost,
      ports: this.ports,
      httpUrl: this.httpUrl,
      redisUrl: this.redisUrl,
      prefix: this.opts.prefix,
      cells: this.opts.cells,
      shards: this.opts.shards,
      pids,
      logDir: this.logDir,
    };
  }

  /** The one block printed once the cluster is ready. */
  banner(): string {
    const o = this.opts;
    const http = [...new Set(this.ports)].map((p) => `http://${this.connectHost}:${p}`);
    const procs = this.sup.children.map((c) => `${c.name}=${c.pid}`).join(' ');
    const shared = new Set(this.ports).size === 1 && this.ports.length > 1 ? ' (one port, SO_REUSEPORT)' : '';
    const lines = [
      '',
      `Lingua local cluster is up: ${o.gateways} gateway${o.gateways > 1 ? 's' : ''}${shared}, ` +
        `${o.nodes} simulated node${o.nodes === 1 ? '' : 's'}, ${o.redis === 'sentinel' ? 'private Redis Sentinel set' : o.redis === 'cluster' ? 'private Redis Cluster' : o.redis ? 'external Redis' : 'private redis-server'}`,
      '',
      `  sessions   ${this.wsUrls('session').join('  ')}`,
      `  nodes      ${this.wsUrls('node').join('  ')}`,
      `  dashboard  ${http[0]}/dashboard${this.creds.insecure ? '' : '   (log in with the admin token)'}`,
      `  metrics    ${http.map((h) => `${h}/metrics`).join('  ')}`,
      `  cluster    ${http[0]}/api/v1/cluster   (also /api/v1/stats, /api/v1/nodes)`,
      `  redis      ${redactRedisUrl(this.redisUrl)}   (key prefix ${o.prefix})`,
      `  logs       ${this.logDir}${o.verbose ? '' : '   (--verbose streams them)'}`,
      `  processes  ${procs}`,
      '',
      ...this.credentialLines(),
      '  status     npm run lingua -- status',
      `  traffic    ${o.demo > 0 ? `${o.demo} demo sessions running` : 'npm run lingua -- demo   (streams test utterances: watch the dashboard)'}`,
      `  stop       Ctrl-C (or kill -TERM ${process.pid})`,
      '',
    ];
    return lines.join('\n');
  }

  /** The credentials block of the banner: tokens to use now, and how to mint more. */
  private credentialLines(): string[] {
    const c = this.creds;
    if (c.insecure) return ['  auth       none (--insecure / LINGUA_INSECURE=true): anyone can connect', ''];
    const lingua = 'npm run lingua --';
    const session = this.printed.session
      ? `${this.printed.session}\n             (tenant ${PRINTED_TENANT}, 24 h; more: ${lingua} token session --tenant <t> [--langs zh:en] [--ttl 1h])`
      : 'signed by your issuer (LINGUA_SESSION_JWT_PUBLIC_KEY is set)';
    const node = this.printed.node
      ? `${this.printed.node}\n             (any node id, 24 h; narrower: ${lingua} token node --node-id <id or prefix*>)`
      : 'signed by your issuer (LINGUA_NODE_JWT_PUBLIC_KEY is set)';
    const admin = c.generated.includes('admin')
      ? `${lingua} token admin   (prints it; or set LINGUA_ADMIN_TOKEN)`
      : 'LINGUA_ADMIN_TOKEN from your environment';
    const stored = c.generated.length
      ? [
          `  secrets    generated: ${c.generated.join(', ')}; kept for \`lingua token\` in ${credentialsFile()} (0600)`,
        ]
      : [];
    return [
      `  session token  ${session}`,
      `  node token     ${node}`,
      `  admin token    ${admin}`,
      ...stored,
      '',
    ];
  }

  /** Stops everything: nodes, then gateways, then Redis; bounded; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.sup.children.length === 0) {
        await this.sup.stopPhases([], 0);
        rmSync(this.runDir, { recursive: true, force: true });
        return;
      }
      say('stopping…');
      await this.demo?.stop().catch(() => {});
      const phases = [
        this.nodes,
        this.gateways,
        this.redisChild ? [this.redisChild] : [],
        this.localRedis?.procs.map((p) => p.child) ?? [],
      ];
      const killed = await this.sup.stopPhases(phases, this.opts.stopTimeoutMs);
      if (killed.length) say(`killed after ${this.opts.stopTimeoutMs} ms: ${killed.join(', ')}`);
      clearState();
      clearCredentials();
      const keep = this.opts.keepLogs || !this.ready;
      if (keep) say(`logs kept in ${this.logDir}`);
      else rmSync(this.runDir, { recursive: true, force: true });
      say(`stopped ${this.sup.children.length} processes`);
    })();
    return this.stopping;
  }

  /** Second Ctrl-C: no more waiting. */
  forceKill(): void {
    this.sup.killAllSync();
  }
}

/** The `lingua up` command: returns the process exit code once stopped. */
export async function runUp(opts: UpOptions): Promise<number> {
  const cluster = new LocalCluster(opts);
  let stopRequested: (() => void) | undefined;
  const stopSignal = new Promise<void>((r) => {
    stopRequested = r;
  });
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      say(`${sig} again: killing everything now`);
      cluster.forceKill();
      process.exit(130);
    }
    stopRequested?.();
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  // The wrapper that started us (npm, tsx) died without signalling us: stop as on Ctrl-C.
  watchParent(() => onSignal('SIGHUP'));
  try {
    await Promise.race([
      cluster.start(),
      stopSignal.then(() => {
        throw new StartupError('interrupted during start-up');
      }),
    ]);
  } catch (err) {
    say(err instanceof StartupError ? err.message : `start-up failed: ${(err as Error)?.stack ?? err}`);
    await cluster.stop();
    return 1;
  }
  writeState(cluster.state());
  writeCredentials(cluster.creds);
  process.stdout.write(`${cluster.banner()}\n`);
  await stopSignal;
  await cluster.stop();
  return 0;
}
