/**
 * `npm run fuzz` — the property-based fuzzer against a 2-gateway cluster of real processes
 * (docs/security.md, "Fuzzing"). Options:
 *   --inputs N    inputs to send (default 100000)
 *   --seed N      generator seed (default: time-based; printed, so a run can be replayed)
 *   --lanes N     concurrent attacker connections (default 24)
 *   --report F    JSON report (default fuzz-report.json)
 *   --keep-logs   keep the cluster's process logs
 * Credentials: LINGUA_FUZZ_SESSION_TOKEN / LINGUA_FUZZ_NODE_TOKEN / LINGUA_FUZZ_ADMIN_TOKEN are
 * mixed into the inputs when set (the gateways get the rest of the environment).
 * Exit code 0 when the run passed, 1 otherwise.
 */
import { runFuzz, summary } from './run';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function int(name: string, def: number): number {
  const v = arg(name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, got ${v}`);
    process.exit(2);
  }
  return n;
}

const report = await runFuzz({
  inputs: int('inputs', 100_000),
  seed: int('seed', Date.now() % 1_000_000_000),
  lanes: int('lanes', 24),
  reportPath: arg('report') ?? 'fuzz-report.json',
  keepLogs: process.argv.includes('--keep-logs'),
  log: (line) => console.error(`[fuzz] ${line}`),
});
console.log(summary(report));
process.exit(report.ok ? 0 : 1);
