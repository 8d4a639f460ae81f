/**
 * Real redis-server processes for tests: a standalone server or a 3-master Redis Cluster,
 * each on free ports with its own temp dir, killed after. Opt-in testcontainers with
 * LINGUA_TEST_REDIS=container (needs a Docker engine). Never a mock: the Lua is the product.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tethered } from '../../packages/cli/src/tether';

const execFileAsync = promisify(execFile);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** SIGKILL the server (data in dir survives, AOF if enabled). */
  kill(): Promise<void>;
  /** Start it again on the same port and dir. */
  restart(): Promise<void>;
  /** Stop and delete the temp dir. */
  stop(): Promise<void>;
}

export interface RedisOptions {
  aof?: boolean;
  extraArgs?: string[];
  /** extra redis-cli arguments for the readiness PING (credentials, --tls …) */
  cliArgs?: string[];
}

async function waitForPing(port: number, timeoutMs = 10_000, cliArgs: string[] = []): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { stdout } = await execFileAsync('redis-cli', ['-p', String(port), ...cliArgs, 'PING']);
      if (stdout.trim() === 'PONG') return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function spawnRedis(port: number, dir: string, args: string[]): ChildProcess {
  // Tethered: a test runner killed with SIGKILL takes its redis-servers with it.
  const run = tethered('redis-server', [
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
  ]);
  const child = spawn(run.command, run.args, { stdio: 'ignore' });
  child.on('error', (err) => {
    throw new Error(`cannot start redis-server (is it installed? run npm run setup): ${err.message}`);
  });
  return child;
}

/**
 * Starts `count` servers on free ports and waits for their PING. A port found free can be taken
 * by another test file's process before redis-server binds it (and a cluster node also needs
 * port+10000 for its bus): a server that exits before answering is started again on new ports.
 */
async function spawnOnFreePorts(
  count: number,
  spawnOne: (port: number) => ChildProcess,
  cliArgs: string[] = [],
  clusterBus = false,
): Promise<{ ports: number[]; children: ChildProcess[] }> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    while (ports.length < count) {
      const p = await freePort();
      if (ports.includes(p)) continue;
      if (clusterBus && (p + 10000 >= 65535 || !(await portFree(p + 10000)))) continue;
      ports.push(p);
    }
    const children = ports.map(spawnOne);
    const exited = children.map(
      (c) => new Promise<'exited'>((resolve) => c.once('exit', () => resolve('exited'))),
    );
    const outcome = await Promise.race([
      Promise.all(ports.map((p) => waitForPing(p, 10_000, cliArgs))).then(
        () => 'up' as const,
        (err: Error) => err,
      ),
      ...exited,
    ]);
    if (outcome === 'up') return { ports, children };
    await Promise.all(children.map((c) => killChild(c)));
    if (outcome instanceof Error) throw outcome;
    if (attempt >= 3) throw new Error(`redis-server exited at start 3 times (ports ${ports.join(', ')})`);
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function killChild(child: ChildProcess | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  if (process.env.LINGUA_TEST_REDIS === 'container') return startContainerRedis();
  const dir = mkdtempSync(join(tmpdir(), 'lingua-redis-'));
  const args = [
    ...(opts.aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : []),
    ...(opts.extraArgs ?? []),
  ];
  let { port, child } = await spawnOnFreePorts(1, (p) => spawnRedis(p, dir, args), opts.cliArgs).then(
    ({ ports, children }) => ({ port: ports[0]!, child: children[0] as ChildProcess | undefined }),
  );
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async kill() {
      await killChild(child);
      child = undefined;
    },
    async restart() {
      await killChild(child);
      // Same port on purpose (clients reconnect to it); nothing else takes it in between here.
      child = spawnRedis(port, dir, args);
      await waitForPing(port, 10_000, opts.cliArgs);
    },
    async stop() {
      await killChild(child);
      child = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startContainerRedis(): Promise<RedisServer> {
  // Opt-in path: only imported when asked for, so the default run needs no Docker.
  const { GenericContainer } = await import('testcontainers');
  const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
  const port = container.getMappedPort(6379);
  return {
    url: `redis://${container.getHost()}:${port}`,
    port,
    dir: '',
    async kill() {
      await container.stop();
    },
    async restart() {
      await container.restart();
    },
    async stop() {
      await container.stop();
    },
  };
}

export interface RedisClusterServer {
  /** Seed nodes for ioredis.Cluster. */
  nodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

/** A 3-master Redis Cluster from plain redis-server processes (no replicas). */
export async function startRedisCluster(
  masters = 3,
  opts: Pick<RedisOptions, 'extraArgs' | 'cliArgs'> = {},
): Promise<RedisClusterServer> {
  const cli = opts.cliArgs ?? [];
  const dir = mkdtempSync(join(tmpdir(), 'lingua-rcluster-'));
  const { ports, children } = await spawnOnFreePorts(
    masters,
    (port) =>
      spawnRedis(port, dir, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '5000',
        '--appendonly',
        'no',
        ...(opts.extraArgs ?? []),
      ]),
    cli,
    true,
  );
  await execFileAsync('redis-cli', [
    ...cli,
    '--cluster',
    'create',
    ...ports.map((p) => `127.0.0.1:${p}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  // Wait until every node agrees the cluster is ok.
  const deadline = Date.now() + 20_000;
  for (const port of ports) {
    for (;;) {
      const { stdout } = await execFileAsync('redis-cli', ['-p', String(port), ...cli, 'CLUSTER', 'INFO']);
      if (stdout.includes('cluster_state:ok')) break;
      if (Date.now() > deadline) throw new Error('redis cluster did not become ok');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    async stop() {
      await Promise.all(children.map((c) => killChild(c)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
