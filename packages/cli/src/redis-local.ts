/**
 * Private Redis deployments from plain redis-server processes, for `lingua up`, the drills and
 * the test harness: a standalone server, a Sentinel set (primary + replicas + sentinels), or a
 * Redis Cluster with replicas. Every process runs under a Supervisor (own log, own process
 * group, tethered to us), on free ports, in its own directory under `dir`.
 *
 * Failure injection for drills and tests: `kill` (SIGKILL), `pause`/`resume` (SIGSTOP/SIGCONT:
 * a replica that stops replicating is how a test makes asynchronous replication lose writes
 * deterministically), and the current primary as the sentinels / the cluster see it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, redisPing, sleep } from './net';
import type { ManagedChild, Supervisor } from './supervisor';

const execFileAsync = promisify(execFile);

export type RedisRole = 'standalone' | 'primary' | 'replica' | 'sentinel' | 'master';

export interface RedisProc {
  name: string;
  role: RedisRole;
  port: number;
  dir: string;
  args: string[];
  child: ManagedChild;
}

export interface StandaloneOptions {
  aof?: boolean;
  appendfsync?: 'always' | 'everysec';
}

export interface SentinelOptions extends StandaloneOptions {
  masterName?: string;
  replicas?: number;
  sentinels?: number;
  /** sentinel down-after-milliseconds: how long the primary may be silent before a failover */
  downAfterMs?: number;
  failoverTimeoutMs?: number;
}

export interface ClusterOptions extends StandaloneOptions {
  masters?: number;
  replicasPerMaster?: number;
  /** cluster-node-timeout: a master silent this long is failed over by its replica */
  nodeTimeoutMs?: number;
}

/** One command to a server through redis-cli (admin paths only; no password ever in argv). */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('redis-cli', ['-p', String(port), ...args], { timeout: 5000 });
  return stdout.trim();
}

async function freePorts(n: number, taken: number[] = []): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const p = await freePort();
    if (!out.includes(p) && !taken.includes(p)) out.push(p);
  }
  return out;
}

export class LocalRedis {
  readonly procs: RedisProc[] = [];
  url = '';
  kind: 'standalone' | 'sentinel' | 'cluster' = 'standalone';
  masterName = '';

  constructor(
    private readonly sup: Supervisor,
    private readonly dir: string,
    private readonly readyTimeoutMs = 30_000,
  ) {}

  get sentinels(): RedisProc[] {
    return this.procs.filter((p) => p.role === 'sentinel');
  }

  get dataNodes(): RedisProc[] {
    return this.procs.filter((p) => p.role !== 'sentinel');
  }

  byPort(port: number): RedisProc | undefined {
    return this.procs.find((p) => p.port === port && p.role !== 'sentinel');
  }

  private persistence(o: StandaloneOptions): string[] {
    return o.aof === false
      ? ['--appendonly', 'no']
      : ['--appendonly', 'yes', '--appendfsync', o.appendfsync ?? 'everysec'];
  }

  private spawn(name: string, role: RedisRole, port: number, args: string[]): RedisProc {
    const dir = join(this.dir, name);
    mkdirSync(dir, { recursive: true });
    const full =
      role === 'sentinel'
        ? args
        : [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--dir',
            dir,
            '--save',
            '',
            '--maxmemory-policy',
            'noeviction',
            ...args,
          ];
    return this.spawnRaw(name, role, port, dir, full);
  }

  private spawnRaw(name: string, role: RedisRole, port: number, dir: string, args: string[]): RedisProc {
    const child = this.sup.spawn({ name, command: 'redis-server', args });
    const proc: RedisProc = { name, role, port, dir, args, child };
    const i = this.procs.findIndex((p) => p.name === name);
    if (i >= 0) this.procs[i] = proc;
    else this.procs.push(proc);
    return proc;
  }

  async until(what: string, cond: () => Promise<boolean> | boolean, watch: RedisProc[] = []): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    for (;;) {
      for (const p of watch) {
        if (p.child.exitInfo) {
          const enoent = p.child.tail().some((l) => l.includes('ENOENT'));
          throw new Error(
            enoent
              ? 'redis-server not found on PATH: run `npm run setup`'
              : `${p.name} exited (code ${p.child.exitInfo.code}); log: ${p.child.logPath}\n    ${p.child.tail().slice(-5).join('\n    ')}`,
          );
        }
      }
      if (
        await Promise.resolve()
          .then(cond)
          .catch(() => false)
      )
        return;
      if (Date.now() > deadline)
        throw new Error(`timed out after ${this.readyTimeoutMs} ms waiting for ${what}`);
      await sleep(50);
    }
  }

  async startStandalone(o: StandaloneOptions = {}): Promise<string> {
    const [port] = await freePorts(1);
    const p = this.spawn('redis-server', 'standalone', port!, this.persistence(o));
    await this.until('redis-server to answer PING', () => redisPing(port!), [p]);
    this.kind = 'standalone';
    this.url = `redis://127.0.0.1:${port}`;
    return this.url;
  }

  /** A primary, `replicas` replicas and `sentinels` sentinels (quorum: a majority). */
  async startSentinel(o: SentinelOptions = {}): Promise<string> {
    const name = o.masterName ?? 'lingua';
    const nReplicas = o.replicas ?? 1;
    const nSentinels = o.sentinels ?? 3;
    const ports = await freePorts(1 + nReplicas + nSentinels);
    const [primaryPort, ...rest] = ports as [number, ...number[]];
    const replicaPorts = rest.slice(0, nReplicas);
    const sentinelPorts = rest.slice(nReplicas);
    const persist = this.persistence(o);
    const primary = this.spawn('redis-primary', 'primary', primaryPort, persist);
    const replicas = replicaPorts.map((port, i) =>
      this.spawn(`redis-replica-${i + 1}`, 'replica', port, [
        ...persist,
        '--replicaof',
        '127.0.0.1',
        String(primaryPort),
      ]),
    );
    await this.until('primary and replicas to answer PING', async () => {
      for (const p of [primary, ...replicas]) if (!(await redisPing(p.port))) return false;
      return true;
    }, [primary, ...replicas]);
    await this.until('replicas in sync', async () => {
      for (const r of replicas) {
        if (!(await redisCli(r.port, 'INFO', 'replication')).includes('master_link_status:up')) return false;
      }
      return true;
    });
    const quorum = Math.floor(nSentinels / 2) + 1;
    const sentinels = sentinelPorts.map((port, i) => {
      const sname = `redis-sentinel-${i + 1}`;
      const dir = join(this.dir, sname);
      mkdirSync(dir, { recursive: true });
      const conf = join(dir, 'sentinel.conf');
      // Sentinel rewrites its config file (discovered replicas/sentinels, epochs): its own copy.
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primaryPort} ${quorum}`,
          `sentinel down-after-milliseconds ${name} ${o.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${name} ${o.failoverTimeoutMs ?? 5000}`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      return this.spawn(sname, 'sentinel', port, [conf, '--sentinel']);
    });
    // Ready once every sentinel knows the replicas and the other sentinels: a failover before
    // that could not be agreed on.
    await this.until(
      'sentinels to discover the replicas and each other',
      async () => {
        for (const s of sentinels) {
          const master = await redisCli(s.port, 'SENTINEL', 'MASTER', name);
          const field = (k: string) => {
            const lines = master.split('\n');
            const i = lines.indexOf(k);
            return i >= 0 ? Number(lines[i + 1]) : -1;
          };
          if (field('num-slaves') < nReplicas || field('num-other-sentinels') < nSentinels - 1) return false;
        }
        return true;
      },
      sentinels,
    );
    this.kind = 'sentinel';
    this.masterName = name;
    this.url = `redis+sentinel://${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${name}`;
    return this.url;
  }

  /** The primary's port as the first answering sentinel reports it. */
  async sentinelPrimaryPort(): Promise<number> {
    for (const s of this.sentinels) {
      if (!s.child.running) continue;
      try {
        const out = await redisCli(s.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName);
        const port = Number(out.split('\n')[1]);
        if (port) return port;
      } catch {
        // next sentinel
      }
    }
    throw new Error('no sentinel answered');
  }

  /** Waits until the sentinels name a primary other than `oldPort` and it accepts writes. */
  async waitSentinelFailover(oldPort: number): Promise<number> {
    let port = 0;
    await this.until(`a sentinel failover away from :${oldPort}`, async () => {
      port = await this.sentinelPrimaryPort();
      if (port === oldPort) return false;
      return (await redisCli(port, 'ROLE')).startsWith('master');
    });
    return port;
  }

  /** `masters` masters with `replicasPerMaster` replicas each (redis-cli --cluster create). */
  async startCluster(o: ClusterOptions = {}): Promise<string> {
    const masters = o.masters ?? 3;
    const perMaster = o.replicasPerMaster ?? 1;
    const n = masters * (1 + perMaster);
    const ports = await freePorts(n);
    // The cluster bus gets its own free port (cluster-port), not port + 10000.
    const busPorts = await freePorts(n, ports);
    const procs = ports.map((port, i) =>
      this.spawn(`redis-node-${i + 1}`, 'master', port, [
        ...this.persistence(o),
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(busPorts[i]),
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        String(o.nodeTimeoutMs ?? 1000),
      ]),
    );
    await this.until(
      'cluster nodes to answer PING',
      async () => {
        for (const p of procs) if (!(await redisPing(p.port))) return false;
        return true;
      },
      procs,
    );
    await execFileAsync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        String(perMaster),
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    await this.until(
      'the cluster to be ok with every replica in sync',
      async () => {
        for (const p of procs) {
          if (!(await redisCli(p.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return false;
          const repl = await redisCli(p.port, 'INFO', 'replication');
          if (repl.includes('role:slave') && !repl.includes('master_link_status:up')) return false;
        }
        return true;
      },
      procs,
    );
    for (const p of procs) p.role = (await this.clusterRole(p.port)) === 'master' ? 'master' : 'replica';
    this.kind = 'cluster';
    this.url = `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
    return this.url;
  }

  async clusterRole(port: number): Promise<'master' | 'replica'> {
    return (await redisCli(port, 'ROLE')).startsWith('master') ? 'master' : 'replica';
  }

  /**
   * The cluster's masters with their replicas and slot counts, as `port` sees it
   * (CLUSTER NODES; failed nodes excluded).
   */
  async clusterTopology(
    viaPort: number,
  ): Promise<{ port: number; id: string; slots: number; replicas: number[] }[]> {
    const lines = (await redisCli(viaPort, 'CLUSTER', 'NODES')).split('\n').filter(Boolean);
    const rows = lines.map((l) => {
      const f = l.split(' ');
      const port = Number(f[1]!.split('@')[0]!.split(':')[1]);
      let slots = 0;
      for (const range of f.slice(8)) {
        if (range.startsWith('[')) continue;
        const [a, b] = range.split('-').map(Number);
        slots += (b ?? a!) - a! + 1;
      }
      return { id: f[0]!, port, flags: f[2]!, master: f[3]!, slots };
    });
    return rows
      .filter((r) => r.flags.includes('master') && !r.flags.includes('fail') && r.slots > 0)
      .map((m) => ({
        port: m.port,
        id: m.id,
        slots: m.slots,
        replicas: rows.filter((r) => r.master === m.id && !r.flags.includes('fail')).map((r) => r.port),
      }));
  }

  /** Waits until a replica of the failed `oldPort` serves its slots as a master; returns its port. */
  async waitClusterFailover(oldPort: number, replicas: number[]): Promise<number> {
    let promoted = 0;
    await this.until(`a replica of :${oldPort} to take over`, async () => {
      for (const r of replicas) {
        if ((await this.clusterRole(r)) === 'master') {
          const info = await redisCli(r, 'CLUSTER', 'INFO');
          if (info.includes('cluster_state:ok')) {
            promoted = r;
            return true;
          }
        }
      }
      return false;
    });
    return promoted;
  }

  kill(p: RedisProc): Promise<unknown> {
    p.child.signal('SIGKILL');
    return p.child.exited;
  }

  pause(p: RedisProc): void {
    p.child.signal('SIGSTOP');
  }

  resume(p: RedisProc): void {
    p.child.signal('SIGCONT');
  }

  /** Starts a killed server again with the same arguments (same port, same dir). */
  async restart(p: RedisProc): Promise<RedisProc> {
    const r = this.spawnRaw(p.name, p.role, p.port, p.dir, p.args);
    await this.until(`${p.name} to answer PING`, () => redisPing(p.port), [r]);
    return r;
  }
}
