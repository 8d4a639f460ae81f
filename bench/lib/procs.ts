/** Real gateway processes for benchmarks and drills (one Node.js process each). */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tethered } from '../../packages/cli/src/tether';
import { freePort } from '../../test/support/redis';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface GatewayProc {
  id: string;
  port: number;
  child: ChildProcess;
}

// A hang bound, not a target: on a loaded 2-core machine a gateway start can take tens of seconds.
export async function waitReady(port: number, timeoutMs = 120_000, child?: ChildProcess): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new GatewayExited(
        `gateway on ${port} exited before ready (code ${child.exitCode}, signal ${child.signalCode})`,
      );
    }
    try {
      const r = await fetch(`http://127.0.0.1:${port}/ready`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`gateway on ${port} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

class GatewayExited extends Error {}

/**
 * Starts a gateway process and waits for /ready. When it exits first (its free port was taken
 * in between by another process on a busy machine) and no port was asked for, it is started
 * again on another free port (up to 3 tries).
 */
export async function startGatewayProc(
  id: string,
  redisUrl: string,
  env: Record<string, string> = {},
  port?: number,
): Promise<GatewayProc> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startGatewayOnce(id, redisUrl, env, port);
    } catch (err) {
      if (!(err instanceof GatewayExited) || port !== undefined || attempt >= 3) throw err;
    }
  }
}

async function startGatewayOnce(
  id: string,
  redisUrl: string,
  env: Record<string, string>,
  port: number | undefined,
): Promise<GatewayProc> {
  const p = port ?? (await freePort());
  // Tethered: a bench killed with SIGKILL takes its gateways with it.
  // BENCH_GATEWAY_NODE_ARGS: extra Node flags for the gateways, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"
  // (profiles are written when the gateway exits after its SIGTERM drain).
  const nodeArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_GATEWAY_ENTRY: a compiled gateway run with plain node, as production does (the
  // benches set it: useCompiledGateway); unset or 'src': the source through tsx (tests).
  const entry = process.env.BENCH_GATEWAY_ENTRY === 'src' ? undefined : process.env.BENCH_GATEWAY_ENTRY;
  const run = tethered(
    process.execPath,
    entry
      ? [...nodeArgs, resolve(ROOT, entry)]
      : [...nodeArgs, '--import', 'tsx', resolve(ROOT, 'packages/gateway/src/main.ts')],
  );
  const child = spawn(run.command, run.args, {
    cwd: ROOT,
    env: {
      ...process.env,
      LINGUA_REDIS_URL: redisUrl,
      LINGUA_INSTANCE_ID: id,
      LINGUA_PORT: String(p),
      LINGUA_HOST: '127.0.0.1',
      LINGUA_LOG_LEVEL: process.env.LINGUA_LOG_LEVEL ?? 'warn',
      // Benchmarks measure the scheduler, so they run open; the failure tests pass credentials.
      LINGUA_INSECURE: 'true',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    await waitReady(p, undefined, child);
  } catch (err) {
    child.kill('SIGKILL'); // never leave a gateway behind that nobody will stop
    throw err;
  }
  return { id, port: p, child };
}

export function stopProc(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  timeoutMs = 5000,
): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res();
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(t);
      res();
    });
    child.kill(signal);
  });
}

/**
 * Benches measure the gateway as production runs it: compiled (scripts/build.ts, the image's
 * build) into test-output/bench-dist, started with plain node. Through tsx every named closure
 * carries an extra property store (esbuild keepNames: ~0.5 KB per idle session) and the numbers
 * would describe the dev workflow. BENCH_GATEWAY_ENTRY=src runs the source; any other value is
 * a compiled entry to use as is.
 */
export async function useCompiledGateway(): Promise<void> {
  if (process.env.BENCH_GATEWAY_ENTRY) return;
  const { buildDist } = await import('../../scripts/build');
  await buildDist(resolve(ROOT, 'test-output/bench-dist'));
  process.env.BENCH_GATEWAY_ENTRY = 'test-output/bench-dist/gateway.js';
}
