/**
 * Gateway *processes* with credentials in their environment (never argv) and their output
 * captured, for the security proofs: what an attacker sends must leave the process alive, and
 * no credential may show up in its logs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { TEST_GATEWAY_ENV } from './auth';
import { freePort } from './redis';

const ROOT = resolve(import.meta.dirname, '../..');

export interface GatewayProcess {
  id: string;
  port: number;
  child: ChildProcess;
  /** stdout + stderr so far (pino JSON lines) */
  output(): string;
  base: string;
  url(kind: 'session' | 'node'): string;
}

export interface GatewayProcesses {
  gateways: GatewayProcess[];
  prefix: string;
  stop(): Promise<void>;
}

/** Spawns one gateway; resolves once /ready is 200, rejects with its output if it exits first. */
export async function spawnGateway(
  id: string,
  env: Record<string, string>,
  opts: { waitReady?: boolean } = {},
): Promise<GatewayProcess> {
  const port = Number(env.LINGUA_PORT ?? (await freePort()));
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/gateway/src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      LINGUA_INSTANCE_ID: id,
      LINGUA_PORT: String(port),
      LINGUA_HOST: '127.0.0.1',
      LINGUA_LOG_LEVEL: 'debug',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const base = `http://127.0.0.1:${port}`;
  const g: GatewayProcess = {
    id,
    port,
    child,
    output: () => out,
    base,
    url: (kind) => `ws://127.0.0.1:${port}/ws/${kind}`,
  };
  if (opts.waitReady === false) return g;
  // generous: on a busy 2-core machine tsx alone can take tens of seconds to load a gateway
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${id} exited (${child.exitCode}):\n${out}`);
    const r = await fetch(`${base}/ready`).catch(() => null);
    if (r?.status === 200) return g;
    if (Date.now() > deadline) throw new Error(`${id} not ready:\n${out}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** `count` gateways sharing a Redis and a key prefix; `env[i]` adds to gateway i's environment. */
export async function startGatewayProcesses(
  redisUrl: string,
  count: number,
  env: Record<string, string> = {},
  perGateway: Record<string, string>[] = [],
): Promise<GatewayProcesses> {
  const prefix = `lingua:sec:${Math.random().toString(36).slice(2, 8)}:`;
  const gateways = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      spawnGateway(`gw-${i + 1}`, {
        ...TEST_GATEWAY_ENV,
        LINGUA_REDIS_URL: redisUrl,
        LINGUA_KEY_PREFIX: prefix,
        ...env,
        ...(perGateway[i] ?? {}),
      }),
    ),
  );
  return {
    gateways,
    prefix,
    async stop() {
      await Promise.all(
        gateways.map(
          (g) =>
            new Promise<void>((res) => {
              if (g.child.exitCode !== null || g.child.signalCode !== null) return res();
              g.child.once('exit', () => res());
              g.child.kill('SIGKILL');
            }),
        ),
      );
    },
  };
}
