/** Real gateway processes for benchmarks and drills (one Node.js process each). */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/support/redis';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface GatewayProc {
  id: string;
  port: number;
  child: ChildProcess;
}

export async function waitReady(port: number, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
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

export async function startGatewayProc(
  id: string,
  redisUrl: string,
  env: Record<string, string> = {},
  port?: number,
): Promise<GatewayProc> {
  const p = port ?? (await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'packages/gateway/src/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      LINGUA_REDIS_URL: redisUrl,
      LINGUA_INSTANCE_ID: id,
      LINGUA_PORT: String(p),
      LINGUA_HOST: '127.0.0.1',
      LINGUA_LOG_LEVEL: process.env.LINGUA_LOG_LEVEL ?? 'warn',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    await waitReady(p);
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
