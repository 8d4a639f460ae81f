/**
 * npm run bench:profile — CPU profile of the gateways under the e2e load (bench/e2e.ts at
 * BENCH_RATE, default 1,000/s for 10 s), then the functions that took the most gateway CPU,
 * self and inclusive (a flame graph as a table; the .cpuprofile files open in Chrome DevTools
 * or speedscope). Profiles are written by each gateway when it exits after the bench's SIGTERM.
 * BENCH_PROFILE_DIR (default test-output/profile) keeps them.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT } from './lib/procs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const dir = resolve(ROOT, process.env.BENCH_PROFILE_DIR ?? 'test-output/profile');
// Profiles name source files and functions: the gateways run the source here (through tsx).
process.env.BENCH_GATEWAY_ENTRY ??= 'src';

/** Self and inclusive time per function over the main-thread profiles in `dir`. */
export function summarizeProfiles(files: string[]): {
  total: number;
  self: Map<string, number>;
  incl: Map<string, number>;
} {
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  const name = (n: ProfileNode) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const file = url.replace(/^.*\/node_modules\//, '').replace(/^.*?\/(packages|bench|test)\//, '$1/');
    return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
  };
  for (const f of files) {
    const p = JSON.parse(readFileSync(f, 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const time = new Map<number, number>();
    for (let i = 0; i < p.samples.length; i++) {
      const id = p.samples[i]!;
      time.set(id, (time.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
    }
    for (const [id, t] of time) {
      const n = byId.get(id)!;
      if (n.callFrame.functionName === '(idle)') continue;
      total += t;
      self.set(name(n), (self.get(name(n)) ?? 0) + t);
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const k = name(byId.get(cur)!);
        if (k === '(root)' || seen.has(k)) continue;
        seen.add(k);
        incl.set(k, (incl.get(k) ?? 0) + t);
      }
    }
  }
  return { total, self, incl };
}

function top(m: Map<string, number>, total: number, n: number): string {
  return [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `| ${((100 * v) / total).toFixed(1)}% | \`${k}\` |`)
    .join('\n');
}

async function main(): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'bench/e2e.ts')], {
    cwd: ROOT,
    stdio: 'inherit',
    env: {
      ...process.env,
      BENCH_RATE: process.env.BENCH_RATE ?? '1000',
      BENCH_SECONDS: process.env.BENCH_SECONDS ?? '10',
      BENCH_RAMP: process.env.BENCH_RAMP ?? '',
      BENCH_GATEWAY_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${dir}`,
    },
  });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`bench/e2e.ts exited with ${code}`);
  // Main threads only (a worker thread's profile, e.g. the tsx loader's, is .1.00N).
  const files = readdirSync(dir)
    .filter((f) => /\.0\.\d+\.cpuprofile$/.test(f))
    .map((f) => resolve(dir, f));
  const { total, self, incl } = summarizeProfiles(files);
  console.log(`\n${files.length} gateway profiles, ${(total / 1e6).toFixed(1)} s of CPU (idle excluded)\n`);
  console.log(`Self time\n\n| share | function |\n|---:|---|\n${top(self, total, 25)}\n`);
  console.log(`Inclusive time\n\n| share | function |\n|---:|---|\n${top(incl, total, 40)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
