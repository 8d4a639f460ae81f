/**
 * Everything a bench starts registers how to stop it here. Phases release their own entries
 * when they finish; on an error or Ctrl-C whatever is left runs, newest first (children
 * before the Redis they talk to).
 */
import type { ChildProcess } from 'node:child_process';
import { stopProc } from './procs';

type Task = () => Promise<void>;
const stack: Task[] = [];

/** Registers a stop task; the returned function runs it now (once) and unregisters it. */
export function defer(task: Task): () => Promise<void> {
  let done = false;
  const run = async () => {
    if (done) return;
    done = true;
    const i = stack.indexOf(wrapped);
    if (i >= 0) stack.splice(i, 1);
    await task().catch((err) => console.error('cleanup failed:', err));
  };
  const wrapped: Task = run;
  stack.push(wrapped);
  return run;
}

/** Registers a child process; the returned function stops it (SIGTERM, then SIGKILL). */
export function deferProc(child: ChildProcess, timeoutMs = 5000): () => Promise<void> {
  return defer(() => stopProc(child, 'SIGTERM', timeoutMs));
}

export async function cleanupAll(): Promise<void> {
  while (stack.length) await stack[stack.length - 1]!();
}

/** Ctrl-C / SIGTERM: stop everything, then exit with the conventional code. */
export function installSignalHandlers(): void {
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      console.error(`\n${sig}: stopping every process this bench started…`);
      const force = setTimeout(() => process.exit(130), 15_000);
      force.unref();
      void cleanupAll().finally(() => process.exit(130));
    });
  }
}
