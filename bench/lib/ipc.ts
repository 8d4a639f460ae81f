/**
 * Child processes of the side-by-side bench: tsx scripts with an IPC channel. The parent calls
 * named commands and awaits replies; the child announces `ready` once initialized and exits
 * when the parent goes away (the IPC channel closes), so no orphan outlives a crashed bench.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { ROOT } from './procs';

interface Reply {
  id?: number;
  type?: 'ready' | 'reply';
  ok?: boolean;
  result?: unknown;
  error?: string;
}

export interface BenchChild {
  child: ChildProcess;
  pid: number;
  /** resolves with the child's ready info; rejects if it exits first */
  ready: Promise<Record<string, unknown>>;
  call<T = unknown>(cmd: string, args?: Record<string, unknown>): Promise<T>;
}

/** Spawns `process.execPath --import tsx <script>` (path relative to the repo root) with IPC. */
export function spawnChild(script: string, env: Record<string, string> = {}): BenchChild {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, script)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let seq = 0;
  const waiting = new Map<number, { res: (v: unknown) => void; rej: (e: Error) => void }>();
  let readyRes!: (v: Record<string, unknown>) => void;
  let readyRej!: (e: Error) => void;
  const ready = new Promise<Record<string, unknown>>((res, rej) => {
    readyRes = res;
    readyRej = rej;
  });
  ready.catch(() => {}); // observed by the caller; avoid an unhandled rejection if it never is
  child.on('message', (m: Reply) => {
    if (m.type === 'ready') return readyRes((m.result ?? {}) as Record<string, unknown>);
    const w = m.id !== undefined ? waiting.get(m.id) : undefined;
    if (!w) return;
    waiting.delete(m.id!);
    if (m.ok) w.res(m.result);
    else w.rej(new Error(`${script}: ${m.error}`));
  });
  child.once('exit', (code, signal) => {
    const err = new Error(`${script} exited (code ${code}, signal ${signal})`);
    readyRej(err);
    for (const w of waiting.values()) w.rej(err);
    waiting.clear();
  });
  return {
    child,
    pid: child.pid ?? 0,
    ready,
    call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
      return new Promise<T>((res, rej) => {
        const id = ++seq;
        waiting.set(id, { res: res as (v: unknown) => void, rej });
        child.send({ id, cmd, args }, (err) => {
          if (err) {
            waiting.delete(id);
            rej(err);
          }
        });
      });
    },
  };
}

type Handler = (args: Record<string, unknown>) => unknown;

/** Child side: answers the parent's commands; exits when the parent disconnects. */
export function serveParent(handlers: Record<string, Handler>): {
  ready(info?: Record<string, unknown>): void;
} {
  if (!process.send) throw new Error('serveParent: started without an IPC channel');
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (m: { id: number; cmd: string; args: Record<string, unknown> }) => {
    try {
      const h = handlers[m.cmd];
      if (!h) throw new Error(`unknown command ${m.cmd}`);
      const result = await h(m.args ?? {});
      process.send?.({ id: m.id, type: 'reply', ok: true, result });
    } catch (err) {
      process.send?.({ id: m.id, type: 'reply', ok: false, error: String((err as Error)?.stack ?? err) });
    }
  });
  return { ready: (info = {}) => process.send?.({ type: 'ready', result: info }) };
}
