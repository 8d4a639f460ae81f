/**
 * Who is busy during a bench step: CPU % of groups of processes (Linux /proc/<pid>/stat),
 * of this process, and of redis-server (INFO cpu), plus the scripts and commands Redis ran
 * (INFO commandstats after CONFIG RESETSTAT). 100% = one core.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** CPU seconds (user + system) of a process; 0 if it is gone or /proc is unavailable. */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / clockTicks();
  } catch {
    return 0;
  }
}

/** Machine-wide busy and steal jiffies (/proc/stat `cpu` line); zeros off Linux. */
function machineTicks(): { busy: number; steal: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return { busy: user + nice + system + irq + softirq, steal };
  } catch {
    return { busy: 0, steal: 0 };
  }
}

function infoFields(info: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of info.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

async function redisCpuSeconds(r: Redis): Promise<number> {
  const f = infoFields(await r.info('cpu'));
  return Number(f.get('used_cpu_user') ?? 0) + Number(f.get('used_cpu_sys') ?? 0);
}

/** calls and µs per command (lower-case name) since the last CONFIG RESETSTAT */
async function commandStats(r: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const [k, v] of infoFields(await r.info('commandstats'))) {
    const m = /calls=(\d+),usec=(\d+)/.exec(v);
    if (k.startsWith('cmdstat_') && m) out.set(k.slice(8), { calls: Number(m[1]), usec: Number(m[2]) });
  }
  return out;
}

export interface UsageReport {
  /** CPU % per group name, plus `bench` (this process), `redis`, and the whole machine
   * (`machine`: every process, ours or not; `steal`: taken by the hypervisor) */
  cpu: Record<string, number>;
  /** Redis CPU ms spent */
  redisCpuMs: number;
  /** script calls (EVALSHA + EVAL + FCALL) */
  scripts: number;
  /** XADD calls (including those inside scripts) */
  xadds: number;
  /** per command: calls and µs inside Redis (commands run by scripts are counted too) */
  commands: Map<string, { calls: number; usec: number }>;
}

export class UsageProbe {
  private t0 = 0;
  private redis0 = 0;
  private bench0 = 0;
  private procs0 = new Map<number, number>();
  private machine0 = { busy: 0, steal: 0 };

  constructor(
    private readonly redis: Redis,
    private readonly groups: Record<string, number[]>,
  ) {}

  async start(): Promise<void> {
    await this.redis.config('RESETSTAT');
    this.redis0 = await redisCpuSeconds(this.redis);
    const u = process.cpuUsage();
    this.bench0 = (u.user + u.system) / 1e6;
    for (const pids of Object.values(this.groups))
      for (const p of pids) this.procs0.set(p, procCpuSeconds(p));
    this.machine0 = machineTicks();
    this.t0 = performance.now();
  }

  async stop(): Promise<UsageReport> {
    const wall = (performance.now() - this.t0) / 1000;
    const pct = (cpuS: number) => Math.round((cpuS / wall) * 100);
    const redisS = (await redisCpuSeconds(this.redis)) - this.redis0;
    const u = process.cpuUsage();
    const cpu: Record<string, number> = {
      bench: pct((u.user + u.system) / 1e6 - this.bench0),
      redis: pct(redisS),
    };
    for (const [name, pids] of Object.entries(this.groups)) {
      cpu[name] = pct(pids.reduce((s, p) => s + procCpuSeconds(p) - (this.procs0.get(p) ?? 0), 0));
    }
    const commands = await commandStats(this.redis);
    const m = machineTicks();
    cpu.machine = pct((m.busy - this.machine0.busy) / clockTicks());
    cpu.steal = pct((m.steal - this.machine0.steal) / clockTicks());
    // processes that are not part of this measurement (other users' jobs included)
    const ours = Object.entries(cpu).reduce(
      (s2, [k, v]) => (k === 'machine' || k === 'steal' ? s2 : s2 + v),
      0,
    );
    cpu.others = Math.max(0, cpu.machine - ours);
    const calls = (c: string) => commands.get(c)?.calls ?? 0;
    const scripts = calls('evalsha') + calls('eval') + calls('fcall');
    return { cpu, redisCpuMs: redisS * 1000, scripts, xadds: calls('xadd'), commands };
  }
}

/** Flattens a usage report into a Step's `usage` (per-done-message Redis figures included). */
export function usagePerMessage(u: UsageReport, done: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(u.cpu)) out[`cpu_${k}`] = v;
  out.redis_us_per_msg = done ? (u.redisCpuMs * 1000) / done : Number.NaN;
  out.scripts_per_msg = done ? u.scripts / done : Number.NaN;
  out.xadds_per_msg = done ? u.xadds / done : Number.NaN;
  for (const [c, v] of u.commands) {
    out[`cmd_calls_${c}`] = done ? v.calls / done : Number.NaN;
    out[`cmd_us_${c}`] = done ? v.usec / done : Number.NaN;
  }
  return out;
}
