/**
 * Child processes of `lingua up`. Each child runs in its own process group (detached), so
 * stopping it signals the whole group: SIGTERM, wait, SIGKILL after a bound. Output goes
 * line by line to a log file (and, with verbose, to our stdout prefixed with the child name).
 * A synchronous last-resort SIGKILL runs on process exit, so a crash of `lingua up` leaves
 * no orphans behind; and every child is tethered (tether.ts: the kernel's parent-death signal),
 * so even a SIGKILL of the supervisor ends them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { formatLogLine } from './log-format';
import { tethered } from './tether';

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** what the child gets when the supervisor dies without stopping it (default SIGTERM) */
  deathSignal?: 'SIGTERM' | 'SIGKILL';
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const TAIL_LINES = 40;

export class ManagedChild {
  readonly proc: ChildProcess;
  readonly logPath: string;
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | null = null;
  private readonly tailLines: string[] = [];
  private readonly lineWatchers: ((line: string) => void)[] = [];
  private readonly log: WriteStream;

  constructor(
    readonly spec: ChildSpec,
    logDir: string,
    private readonly echo: ((name: string, line: string) => void) | null,
  ) {
    this.logPath = join(logDir, `${spec.name}.log`);
    this.log = createWriteStream(this.logPath, { flags: 'a' });
    const run = tethered(spec.command, spec.args, spec.deathSignal);
    this.proc = spawn(run.command, run.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: process.platform !== 'win32',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      this.proc.once('error', (err) => {
        this.onLine(`failed to start: ${err.message}`);
        this.exitInfo = { code: 127, signal: null };
        resolve(this.exitInfo);
      });
    });
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.onLine(line));
    }
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.exitInfo === null && this.proc.pid !== undefined;
  }

  /** The last lines of output (for error reports). */
  tail(): string[] {
    return [...this.tailLines];
  }

  /** Calls `fn` for every future output line. */
  watch(fn: (line: string) => void): void {
    this.lineWatchers.push(fn);
  }

  private onLine(line: string): void {
    this.log.write(`${line}\n`);
    this.tailLines.push(line);
    if (this.tailLines.length > TAIL_LINES) this.tailLines.shift();
    for (const w of this.lineWatchers) w(line);
    this.echo?.(this.name, line);
  }

  /** Signals the child's whole process group (the child alone on Windows). */
  signal(sig: NodeJS.Signals): void {
    const pid = this.proc.pid;
    if (pid === undefined) return;
    try {
      if (process.platform === 'win32') this.proc.kill(sig);
      else process.kill(-pid, sig);
    } catch {
      // ESRCH: the group is already gone
    }
  }

  /** SIGTERM, then SIGKILL when it has not exited after `timeoutMs`. Resolves once it exited. */
  async stop(timeoutMs: number): Promise<'exited' | 'killed'> {
    if (this.exitInfo) {
      this.signal('SIGKILL'); // stragglers of the group, if any
      return 'exited';
    }
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.signal('SIGKILL');
    if (timedOut) await this.exited;
    return timedOut ? 'killed' : 'exited';
  }

  closeLog(): Promise<void> {
    return new Promise((r) => this.log.end(() => r()));
  }
}

/** (state, ppid, pgrp) of a process from /proc (Linux), or null. */
function procParent(pid: number): { state: string; ppid: number; pgrp: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: f[0]!, ppid: Number(f[1]), pgrp: Number(f[2]) };
  } catch {
    return null;
  }
}

/** Exists and is not a zombie (a container's PID 1 may never reap an orphaned wrapper). */
function alive(pid: number): boolean {
  const p = procParent(pid);
  if (p) return p.state !== 'Z' && p.state !== 'X';
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The wrappers that started us: our parent, and on Linux every further ancestor in our own
 * process group (`npm start` → sh → tsx → lingua up share the job's group; the interactive
 * shell above them does not).
 */
export function launchChain(): number[] {
  const chain = [process.ppid];
  const me = procParent(process.pid);
  if (!me) return chain;
  for (let pid = process.ppid, i = 0; pid > 1 && i < 16; i++) {
    const p = procParent(pid);
    if (!p || p.pgrp !== me.pgrp || p.ppid <= 1) break;
    chain.push(p.ppid);
    pid = p.ppid;
  }
  return chain;
}

/**
 * Calls `onOrphaned` once when a process of our launch chain is gone, e.g. the `npm` wrapper of
 * `npm start` was killed (its `sh` dies with it, tsx and we would run on): a supervisor nobody
 * can stop any more should stop itself.
 */
export function watchParent(onOrphaned: () => void, intervalMs = 500): () => void {
  const parent = process.ppid;
  const chain = launchChain();
  const timer = setInterval(() => {
    if (process.ppid !== parent || !chain.every(alive)) {
      clearInterval(timer);
      onOrphaned();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

export class Supervisor {
  readonly children: ManagedChild[] = [];
  private closed = false;
  private readonly width: number;
  private readonly onExit = () => this.killAllSync();

  constructor(
    readonly logDir: string,
    private readonly verbose: boolean,
    nameWidth = 12,
  ) {
    this.width = nameWidth;
    process.on('exit', this.onExit);
  }

  spawn(spec: ChildSpec): ManagedChild {
    if (this.closed) throw new Error(`not starting ${spec.name}: stopping`);
    const echo = this.verbose
      ? (name: string, line: string) =>
          process.stdout.write(`${name.padEnd(this.width)}| ${formatLogLine(line)}\n`)
      : null;
    const child = new ManagedChild(spec, this.logDir, echo);
    this.children.push(child);
    return child;
  }

  /** Stops children in phases (e.g. nodes, then gateways, then Redis); each phase bounded. */
  async stopPhases(phases: ManagedChild[][], timeoutMs: number): Promise<string[]> {
    this.closed = true;
    const killed: string[] = [];
    const listed = new Set(phases.flat());
    const rest = this.children.filter((c) => !listed.has(c));
    for (const phase of [...phases, rest]) {
      const results = await Promise.all(phase.map((c) => c.stop(timeoutMs)));
      results.forEach((r, i) => {
        if (r === 'killed') killed.push(phase[i]!.name);
      });
    }
    await Promise.all(this.children.map((c) => c.closeLog()));
    process.off('exit', this.onExit);
    return killed;
  }

  /** Last resort (process exit, second Ctrl-C): SIGKILL every group still running. */
  killAllSync(): void {
    for (const c of this.children) if (c.running) c.signal('SIGKILL');
  }
}
