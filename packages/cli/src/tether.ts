/**
 * Ties a child process's life to ours: whatever way this process dies (SIGKILL included), the
 * child gets `signal`. On Linux the child is started through util-linux `setpriv --pdeathsig`
 * (the kernel's PR_SET_PDEATHSIG, kept across the exec, so the child's pid is the real
 * program's pid and redis-server needs no wrapper). Elsewhere (or without setpriv) a small
 * Node watcher (tether-main.mjs) runs the program and kills it when its own parent is gone.
 *
 * PDEATHSIG fires when the *thread* that forked the child exits; Node forks from the main
 * thread, which lives as long as the process.
 */
import { accessSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SETPRIV_PATHS = ['/usr/bin/setpriv', '/bin/setpriv'];
const WATCHER = join(dirname(fileURLToPath(import.meta.url)), 'tether-main.mjs');

let setpriv: string | null | undefined;

function findSetpriv(): string | null {
  if (setpriv !== undefined) return setpriv;
  setpriv = null;
  if (process.platform !== 'linux') return setpriv;
  for (const p of SETPRIV_PATHS) {
    try {
      accessSync(p, constants.X_OK);
      setpriv = p;
      break;
    } catch {
      // not here
    }
  }
  return setpriv;
}

/** `command args` rewritten so the process gets `signal` when the calling process dies. */
export function tethered(
  command: string,
  args: string[],
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): { command: string; args: string[] } {
  if (process.env.LINGUA_TETHER === 'off') return { command, args };
  const sp = process.env.LINGUA_TETHER === 'node' ? null : findSetpriv();
  if (sp) return { command: sp, args: ['--pdeathsig', signal, '--', command, ...args] };
  return { command: process.execPath, args: [WATCHER, signal, command, ...args] };
}
