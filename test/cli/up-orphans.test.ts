/**
 * `lingua up` children die with the supervisor, however it dies:
 *  - SIGKILL of the supervisor itself (no handler runs): the kernel's parent-death signal
 *    (tether.ts) ends redis-server, the gateway and the node;
 *  - a signal to the wrapper only (`npm start` → sh → … → lingua up; killing npm leaves the
 *    rest running): the supervisor watches its launch chain and stops everything.
 * Checked by pid against the processes line of the ready block.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../support/peers';
import { freePort } from '../support/redis';

const ROOT = resolve(import.meta.dirname, '../..');
const stateDir = mkdtempSync(join(tmpdir(), 'lingua-orphans-test-'));
const started: ChildProcess[] = [];
const tracked: number[] = [];

function running(pid: number): boolean {
  try {
    const stat = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return stat !== '' && !stat.startsWith('Z');
  } catch {
    return false;
  }
}

afterAll(() => {
  for (const pid of [...tracked, ...started.map((c) => c.pid ?? 0)]) {
    if (!pid) continue;
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  rmSync(stateDir, { recursive: true, force: true });
});

/** Starts `lingua up` (1 gateway, 1 node) under `sh -c`; resolves with the sh, the supervisor and child pids. */
async function startUp(): Promise<{ wrapper: ChildProcess; supervisor: number; children: number[] }> {
  const port = await freePort();
  const cmd = `"${process.execPath}" --import tsx packages/cli/src/main.ts up --gateways 1 --nodes 1 --port ${port}; echo "wrapper done"`;
  // The sh stays (two commands) and leads its own process group, like `npm start` in a shell.
  const wrapper = spawn('sh', ['-c', cmd], {
    cwd: ROOT,
    env: { ...process.env, LINGUA_STATE_DIR: stateDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.push(wrapper);
  let out = '';
  wrapper.stdout!.on('data', (d) => {
    out += d;
  });
  wrapper.stderr!.on('data', (d) => {
    out += d;
  });
  const procLine = await until(
    () => {
      if (wrapper.exitCode !== null) throw new Error(`lingua up exited early:\n${out}`);
      return /^\s*processes\s+(.+)$/m.exec(out)?.[1];
    },
    'the ready block of lingua up',
    45_000,
  );
  const children = [...procLine.matchAll(/(\S+)=(\d+)/g)].map((m) => Number(m[2]));
  expect(children).toHaveLength(3);
  const supervisor = Number(/kill -TERM (\d+)/.exec(out)?.[1]);
  expect(supervisor).toBeGreaterThan(0);
  tracked.push(supervisor, ...children);
  for (const pid of [supervisor, ...children]) expect(running(pid)).toBe(true);
  return { wrapper, supervisor, children };
}

describe('lingua up children die with the supervisor', () => {
  it('SIGKILL of the supervisor: redis-server, gateway and node exit (parent-death signal)', async () => {
    const { supervisor, children } = await startUp();
    process.kill(supervisor, 'SIGKILL');
    await until(
      () => children.every((pid) => !running(pid)),
      'every child of the killed supervisor gone',
      20_000,
    );
  });

  it('a signal to the wrapper only: the supervisor notices and stops everything', async () => {
    const { wrapper, supervisor, children } = await startUp();
    // Only the wrapper: the supervisor and its children get no signal from us.
    process.kill(wrapper.pid!, 'SIGKILL');
    await until(
      () => [supervisor, ...children].every((pid) => !running(pid)),
      'the supervisor and every child gone',
      30_000,
    );
  });
});
