/**
 * npm run bench — Lingua side by side with the obvious alternatives, one run, one redis-server
 * (started here, appendonly no; flushed between phases):
 *   raw      EVALSHA `return 1` and XADD rates of that Redis (bench/lib/raw.ts)
 *   lingua   end to end: 3 gateway processes, 0-ms nodes, ramp to saturation (bench/lib/lingua-e2e.ts)
 *   bullmq   the same work with BullMQ alone (bench/baselines/bullmq.ts)
 *   rawhop   the floor of any stream hop here: plain XADD → XREAD between processes (bench/hop/raw.ts)
 *   inbox    Lingua's cross-instance hop through the real InboxBus (bench/hop/inbox.ts)
 *   socketio the same hop with Socket.IO + @socket.io/redis-streams-adapter (bench/baselines/socketio.ts)
 *   idle     RSS per idle session at 1k and 10k sessions over 3 gateways (bench/lib/idle.ts)
 * Prints one summary table with the ratios plus the detail tables, and writes them to the
 * `## Side by side (npm run bench)` section of docs/benchmarks.md.
 *
 * Env knobs: BENCH_QUICK=1 (short run, ~1.5 min; docs not written unless BENCH_WRITE_DOCS=1),
 * BENCH_FROM_JSON=<file> (re-render a saved run: test-output/bench-side-by-side.json),
 * BENCH_STEP_SECONDS, BENCH_E2E_RATES / BENCH_HOP_RATES (comma lists of offered loads),
 * BENCH_IDLE_SESSIONS (e.g. 1000,10000), BENCH_IDLE_SETTLE_MS (pause before the memory readings,
 * default 1500), BENCH_GATEWAY_ENTRY (default: the gateway compiled into
 * test-output/bench-dist, as production runs it; `src` = the source through tsx), BENCH_NODE_SLOTS (per node; 6 nodes), BENCH_PHASES
 * (subset of raw,rawhop,lingua,bullmq,inbox,socketio,idle), BENCH_WRITE_DOCS=0|1,
 * BENCH_UTTERANCE_BYTES (audio per e2e utterance, default 640), BENCH_BINARY_AUDIO=1 (bench
 * sessions send v1.13 binary audio; bench nodes and the inbox hop receiver use v1.12 binary
 * job_assign; `nodes`: only the latter two);
 * `--transport uws|node` (or LINGUA_TRANSPORT) for the gateways' HTTP/WebSocket implementation.
 * Everything started is stopped on error and on Ctrl-C (bench/lib/cleanup.ts).
 */

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { startRedis } from '../test/support/redis';
import { bullmqBaseline } from './baselines/bullmq';
import { socketioHop } from './baselines/socketio';
import { inboxHop } from './hop/inbox';
import { rawHop } from './hop/raw';
import { assignFrame, assignPayload } from './lib/assign-frame';
import { cleanupAll, defer, installSignalHandlers } from './lib/cleanup';
import { type IdleRow, idleMemory, openFilesLimit, WARM_SESSIONS } from './lib/idle';
import { linguaE2e, SERIAL_SAMPLES } from './lib/lingua-e2e';
import { ROOT, useCompiledGateway } from './lib/procs';
import {
  at,
  BUSY_OTHERS_PCT,
  commonLoad,
  othersCpu,
  parseRates,
  type Step,
  saturated,
  sustained,
} from './lib/ramp';
import { type RawResult, rawLimits } from './lib/raw';
import { int, machine, num, replaceSection, table, times } from './lib/report';
import { type SelectCost, selectCost } from './lib/select-cost';
import type { Summary } from './lib/stats';
import { selectTransport } from './lib/transport';

const yes = (v: string | undefined) => /^(1|true|yes)$/i.test(v ?? '');
const QUICK = yes(process.env.BENCH_QUICK);
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? (QUICK ? 2 : 4));
const E2E_RATES = parseRates(
  process.env.BENCH_E2E_RATES,
  QUICK
    ? [1000, 2000, 4000, 6000, 8000]
    : [500, 1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 12000, 16000, 20000, 24000],
);
const HOP_RATES = parseRates(
  process.env.BENCH_HOP_RATES,
  QUICK
    ? [2000, 10000, 30000, 60000]
    : [2000, 5000, 10000, 15000, 20000, 30000, 40000, 50000, 60000, 80000, 100000],
);
const IDLE_SESSIONS = parseRates(process.env.BENCH_IDLE_SESSIONS, QUICK ? [1000] : [1000, 10000]);
const RAW_SECONDS = QUICK ? 1 : 3;
const NODE_SLOTS = Number(process.env.BENCH_NODE_SLOTS ?? 256);
const PHASES = new Set(
  (process.env.BENCH_PHASES ?? 'raw,rawhop,lingua,bullmq,select,inbox,socketio,idle').split(','),
);
const WRITE_DOCS = process.env.BENCH_WRITE_DOCS !== undefined ? yes(process.env.BENCH_WRITE_DOCS) : !QUICK;
const DOC = resolve(ROOT, 'docs/benchmarks.md');
const HEADING = '## Side by side (npm run bench)';
const JSON_OUT = resolve(ROOT, 'test-output/bench-side-by-side.json');

// The e2e shape (same as bench/e2e.ts): 3 gateways × (30 sessions, 2 nodes of NODE_SLOTS slots).
const SESSIONS_PER_GW = 30;
const NODES_PER_GW = 2;
const UTTERANCE_BYTES = Number(process.env.BENCH_UTTERANCE_BYTES ?? 640);
const HOP_CLIENTS = 6;

interface Saved {
  r: Results;
  machineLine: string;
  seconds: number;
  command: string;
}

interface Results {
  raw?: RawResult[];
  rawhop?: Step[];
  lingua?: Step[];
  linguaErrors?: Record<string, number>;
  /** one utterance in flight at a time: sent → result */
  linguaSerial?: Summary;
  bullmq?: Step[];
  bullmqSerial?: Summary;
  select?: SelectCost;
  inbox?: Step[];
  socketio?: Step[];
  idle?: IdleRow[];
  failures: string[];
}

const cpuOf = (s: Step, ...keys: string[]) => keys.map((k) => num(s.usage?.[`cpu_${k}`], 0)).join(' / ');
const mark = (s: Step) => (saturated(s) ? ' (saturated)' : '');

function progress(name: string) {
  return (s: Step) =>
    console.log(
      `[${name}] ${int(s.offered)}/s: ${int(s.done)}/${int(s.planned)} done, ${int(s.perSec)}/s, p50 ${num(s.lat.p50)} ms, p99 ${num(s.lat.p99)} ms, CPU% ${Object.entries(
        s.usage ?? {},
      )
        .filter(([k]) => k.startsWith('cpu_'))
        .map(([k, v]) => `${k.slice(4)} ${v}`)
        .join(', ')}${mark(s)}`,
    );
}

async function phase<T>(
  name: string,
  r: Results,
  fn: () => Promise<T>,
  admin: Redis,
): Promise<T | undefined> {
  if (!PHASES.has(name)) return undefined;
  console.log(`\n== ${name} ==`);
  const t0 = performance.now();
  try {
    return await fn();
  } catch (err) {
    console.error(`[${name}] failed:`, err);
    r.failures.push(`${name}: ${String((err as Error)?.message ?? err).split('\n')[0]}`);
    return undefined;
  } finally {
    await admin.flushall().catch(() => {});
    console.log(`[${name}] ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
}

/** RSS growth per session between the two largest measured counts: what one more idle session costs. */
function idleSlope(rows: IdleRow[]): { from: number; to: number; kb: number } | undefined {
  const ok = rows.filter((x) => Number.isFinite(x.rssAfterMB) && x.opened > 0);
  if (ok.length < 2) return undefined;
  const [a, b] = [ok.at(-2)!, ok.at(-1)!];
  return {
    from: a.sessions,
    to: b.sessions,
    kb: ((b.rssAfterMB - a.rssAfterMB) * 1024) / (b.sessions - a.sessions),
  };
}

const pctOf = (a?: number, b?: number) => (a !== undefined && b ? `${num((a / b) * 100, 1)}%` : '–');

/** "met" / "missed by N%" for a higher-is-better value vs its target. */
function verdict(value: number | undefined, target: number): string {
  if (value === undefined || !Number.isFinite(value)) return 'not measured';
  return value >= target ? '**met**' : `**missed** by ${((1 - value / target) * 100).toFixed(0)}%`;
}

/** "met" / "missed" for a lower-is-better value vs its bound (`unit` after the numbers). */
function atMost(value: number | undefined, bound: number, unit = '×'): string {
  if (value === undefined || !Number.isFinite(value)) return 'not measured';
  return value <= bound ? '**met**' : `**missed**: ${num(value, 2)}${unit} > ${bound}${unit}`;
}

/** Lingua's latency vs the baseline's at the same load: met when lower. */
function lowerVerdict(lingua: number | undefined, base: number | undefined): string {
  if (lingua === undefined || base === undefined || !Number.isFinite(lingua) || !Number.isFinite(base)) {
    return 'not measured';
  }
  return lingua < base ? '**met** (lower)' : `**missed**: ${(lingua / base).toFixed(1)}× the baseline's`;
}

/** An absolute latency bound in ms. */
function boundVerdict(ms: number | undefined, bound: number): string {
  if (ms === undefined || !Number.isFinite(ms)) return 'not measured';
  return ms <= bound ? '**met**' : `**missed** by ${(ms - bound).toFixed(2)} ms`;
}

/** CPU µs per completed message, summed over the system's own processes (Redis included). */
function cpuPerMsg(s: Step | undefined, groups: string[]): number | undefined {
  if (!s?.usage || !s.perSec) return undefined;
  const pct = groups.reduce((t, g) => t + (s.usage?.[`cpu_${g}`] ?? 0), 0);
  return ((pct / 100) * 1e6) / s.perSec;
}

/** Marks a comparison whose steps ran while other processes took over half a core. */
function busyNote(...steps: (Step | undefined)[]): string {
  const worst = Math.max(0, ...steps.map(othersCpu));
  return worst > BUSY_OTHERS_PCT ? ` (noisy: other processes took ${int(worst)}% CPU)` : '';
}

function summary(r: Results): { md: string; facts: string[] } {
  const L = r.lingua ?? [];
  const B = r.bullmq ?? [];
  const I = r.inbox ?? [];
  const S = r.socketio ?? [];
  const R = r.rawhop ?? [];
  const ls = sustained(L);
  const bs = sustained(B);
  const is = sustained(I);
  const ss = sustained(S);
  const e2eLoad = commonLoad(L, B);
  const le = e2eLoad ? at(L, e2eLoad) : undefined;
  const be = e2eLoad ? at(B, e2eLoad) : undefined;
  const hopLoads = [...new Set(I.filter((s) => !saturated(s)).map((s) => s.offered))].filter((x) =>
    S.some((s) => s.offered === x && !saturated(s)),
  );
  const hopLow = hopLoads.length ? Math.min(...hopLoads) : undefined;
  const rawLoads = R.filter((x) => !saturated(x) && I.some((y) => y.offered === x.offered && !saturated(y)));
  const rawLow = rawLoads.length ? Math.min(...rawLoads.map((x) => x.offered)) : undefined;
  const hopHigh = hopLoads.length ? Math.max(...hopLoads) : undefined;
  const evalsha = r.raw?.find((x) => x.name.startsWith('EVALSHA'));
  const xadd = r.raw?.find((x) => x.name.startsWith('XADD'));
  const ratio = (a?: number, b?: number) => (a !== undefined && b ? a / b : undefined);
  // Issue 14's targets, in its order; then the detail rows.
  const lc = cpuPerMsg(ls, ['gateways', 'bench', 'redis']);
  const bc = cpuPerMsg(bs, ['workers', 'bench', 'redis']);
  const perJob = (x?: Step) =>
    x ? `${num(x.usage?.scripts_per_msg, 2)} / ${num(x.usage?.cmd_calls_xadd ?? 0, 2)}` : '–';
  const halfB = bs
    ? Math.max(
        0,
        ...L.filter(
          (x) => x.offered <= bs.offered / 2 && B.some((y) => y.offered === x.offered && !saturated(y)),
        ).map((x) => x.offered),
      )
    : 0;
  const lh = halfB ? at(L, halfB) : undefined;
  const bh = halfB ? at(B, halfB) : undefined;
  const l1k = at(L, 1000);
  const r1k = at(R, 1000);
  const idleTop = (r.idle ?? []).filter((x) => Number.isFinite(x.rssPerSessionKB)).at(-1);
  const rows: (string | number)[][] = [
    [
      'E2E jobs/s, sustained (Lingua vs BullMQ)',
      int(ls?.perSec),
      int(bs?.perSec),
      times(ratio(ls?.perSec, bs?.perSec)),
      '≥ 1.5×',
      verdict(ratio(ls?.perSec, bs?.perSec), 1.5) + busyNote(ls, bs),
    ],
    [
      'CPU µs per job at the sustained load, all processes (Redis and the bench clients included)',
      int(lc),
      int(bc),
      times(ratio(lc, bc)),
      '≤ 0.8×',
      atMost(ratio(lc, bc), 0.8) + busyNote(ls, bs),
    ],
    [
      'Scripts / XADDs per job at the sustained load',
      perJob(ls),
      perJob(bs),
      '–',
      '≤ 2 / ≤ 2',
      ls
        ? `scripts ${atMost(ls.usage?.scripts_per_msg, 2, '')}; XADDs ${atMost(ls.usage?.cmd_calls_xadd ?? 0, 2, '')}`
        : 'not measured',
    ],
    [
      `E2E p99 ms at ${int(halfB || undefined)} jobs/s offered (about half of BullMQ's sustained rate)`,
      num(lh?.lat.p99),
      num(bh?.lat.p99),
      times(ratio(lh?.lat.p99, bh?.lat.p99)),
      '≤ 1.0×',
      atMost(ratio(lh?.lat.p99, bh?.lat.p99), 1.0) + busyNote(lh, bh),
    ],
    [
      "Dispatch p99 ms at 1,000 jobs/s (utterance sent → job_assign at the node) vs the machine's raw XADD → XREAD hop p99 at 1,000 msgs/s",
      num(l1k?.lat2?.p99),
      num(r1k?.lat.p99),
      times(ratio(l1k?.lat2?.p99, r1k?.lat.p99)),
      '≤ 2×',
      atMost(ratio(l1k?.lat2?.p99, r1k?.lat.p99), 2) + busyNote(l1k, r1k),
    ],
    [
      'Cross-instance hop msgs/s, sustained (Lingua inbox vs Socket.IO adapter)',
      int(is?.perSec),
      int(ss?.perSec),
      times(ratio(is?.perSec, ss?.perSec)),
      '≥ 2.5×',
      verdict(ratio(is?.perSec, ss?.perSec), 2.5) + busyNote(is, ss),
    ],
    [
      `Redis µs per select+release (${int(r.select?.nodes)} nodes, default config; bench:select has 100 → 100,000)`,
      num(r.select?.redisUsPerPair, 1),
      '–',
      '–',
      '≤ 8 µs',
      atMost(r.select?.redisUsPerPair, 8, ' µs'),
    ],
    [
      `Idle session memory, RSS per session at ${int(idleTop?.sessions)} sessions over 3 gateways`,
      idleTop ? `${num(idleTop.rssPerSessionKB, 1)} KB (${num(idleTop.heapPerSessionKB, 1)} KB heap)` : '–',
      '–',
      '–',
      '≤ 5 KB',
      atMost(idleTop?.rssPerSessionKB, 5, ' KB'),
    ],
    [
      `1 in flight: utterance → result p50 / p99 ms (${SERIAL_SAMPLES} in a row, one session / one producer)`,
      r.linguaSerial ? `${num(r.linguaSerial.p50)} / ${num(r.linguaSerial.p99)}` : '–',
      r.bullmqSerial ? `${num(r.bullmqSerial.p50)} / ${num(r.bullmqSerial.p99)}` : '–',
      times(ratio(r.linguaSerial?.p99, r.bullmqSerial?.p99)),
      '–',
      'measured (ratio of p99)',
    ],
    [
      `E2E p99 ms at ${int(e2eLoad)} jobs/s offered`,
      num(le?.lat.p99),
      num(be?.lat.p99),
      times(ratio(le?.lat.p99, be?.lat.p99)),
      'lower',
      lowerVerdict(le?.lat.p99, be?.lat.p99) + busyNote(le, be),
    ],
    [
      `E2E p50 ms at ${int(e2eLoad)} jobs/s offered`,
      num(le?.lat.p50),
      num(be?.lat.p50),
      times(ratio(le?.lat.p50, be?.lat.p50)),
      '–',
      '–',
    ],
    [
      `Hop p99 ms added at ${int(hopLow)} msgs/s (sender → client)`,
      num(hopLow ? at(I, hopLow)?.lat.p99 : undefined),
      num(hopLow ? at(S, hopLow)?.lat.p99 : undefined),
      times(ratio(hopLow ? at(I, hopLow)?.lat.p99 : undefined, hopLow ? at(S, hopLow)?.lat.p99 : undefined)),
      'Lingua ≤ 2 ms',
      boundVerdict(hopLow ? at(I, hopLow)?.lat.p99 : undefined, 2) +
        busyNote(hopLow ? at(I, hopLow) : undefined, hopLow ? at(S, hopLow) : undefined),
    ],
    [
      `Hop p99 ms added at ${int(hopHigh)} msgs/s (sender → client)`,
      num(hopHigh ? at(I, hopHigh)?.lat.p99 : undefined),
      num(hopHigh ? at(S, hopHigh)?.lat.p99 : undefined),
      times(
        ratio(hopHigh ? at(I, hopHigh)?.lat.p99 : undefined, hopHigh ? at(S, hopHigh)?.lat.p99 : undefined),
      ),
      'Lingua ≤ 2 ms',
      boundVerdict(hopHigh ? at(I, hopHigh)?.lat.p99 : undefined, 2) +
        busyNote(hopHigh ? at(I, hopHigh) : undefined, hopHigh ? at(S, hopHigh) : undefined),
    ],
    [
      `Stream-only hop p99 ms at ${int(rawLow)} msgs/s: Lingua inbox vs raw XADD → XREAD (the machine's floor)`,
      num(rawLow ? at(I, rawLow)?.lat2?.p99 : undefined),
      num(rawLow ? at(R, rawLow)?.lat.p99 : undefined),
      times(
        ratio(rawLow ? at(I, rawLow)?.lat2?.p99 : undefined, rawLow ? at(R, rawLow)?.lat.p99 : undefined),
      ),
      '–',
      '–',
    ],
    [
      'Lingua e2e jobs/s vs raw EVALSHA `return 1`/s',
      int(ls?.perSec),
      int(evalsha?.opsPerSec),
      pctOf(ls?.perSec, evalsha?.opsPerSec),
      '–',
      ls
        ? `${num(ls.usage?.scripts_per_msg, 1)} scripts/job = ${int(ls.perSec * (ls.usage?.scripts_per_msg ?? Number.NaN))} scripts/s = ${pctOf(ls.perSec * (ls.usage?.scripts_per_msg ?? Number.NaN), evalsha?.opsPerSec)} of raw`
        : '–',
    ],
    [
      'Lingua hop msgs/s vs raw XADD/s',
      int(is?.perSec),
      int(xadd?.opsPerSec),
      pctOf(is?.perSec, xadd?.opsPerSec),
      '–',
      `${num(is?.usage?.xadds_per_msg, 2)} XADD/msg`,
    ],
  ];
  for (const row of r.idle ?? []) {
    rows.push([
      `Idle session memory at ${int(row.sessions)} sessions over 3 gateways`,
      `${num(row.rssPerSessionKB, 1)} KB RSS (${num(row.heapPerSessionKB, 1)} KB heap)`,
      '–',
      '–',
      '–',
      row.note?.startsWith('ulimit') ? row.note : 'measured',
    ]);
  }
  const slope = idleSlope(r.idle ?? []);
  if (slope) {
    rows.push([
      `Idle session memory, marginal: RSS growth per session from ${int(slope.from)} to ${int(slope.to)} sessions`,
      `${num(slope.kb, 1)} KB RSS`,
      '–',
      '–',
      '–',
      "measured (without the gateways' one-off heap growth, which the row above spreads over its sessions)",
    ]);
  }
  const md = table(['metric', 'Lingua', 'baseline', 'ratio', 'target', 'result'], rows, [
    '---',
    '---:',
    '---:',
    '---:',
    '---',
    '---',
  ]);

  // Facts for "why": who was busy at each system's first saturated step.
  const facts: string[] = [];
  const satFact = (name: string, steps: Step[], groups: string[]) => {
    const s = steps.find(saturated);
    if (!s) {
      facts.push(`${name}: not saturated by the ramp (highest offered ${int(steps.at(-1)?.offered)}/s).`);
      return;
    }
    const cpu = groups.map((g) => `${g} ${num(s.usage?.[`cpu_${g}`], 0)}%`).join(', ');
    facts.push(
      `${name}: saturated at ${int(s.offered)}/s offered (${int(s.done)} of ${int(s.planned)} done, p99 ${num(s.lat.p99)} ms); CPU there: ${cpu} (100% = one core, ${cpus().length} cores); Redis ${num(s.usage?.redis_us_per_msg, 1)} µs CPU per message.`,
    );
  };
  satFact('Lingua e2e', L, ['gateways', 'bench', 'redis', 'others']);
  satFact('BullMQ', B, ['workers', 'bench', 'redis', 'others']);
  satFact('Lingua inbox hop', I, ['receiver', 'senders', 'bench', 'redis', 'others']);
  satFact('Socket.IO hop', S, ['receiver', 'senders', 'bench', 'redis', 'others']);
  if (ls && bs) {
    const lc = cpuPerMsg(ls, ['gateways', 'bench', 'redis']);
    const bc = cpuPerMsg(bs, ['workers', 'bench', 'redis']);
    facts.push(
      `CPU per job at the sustained load, all of the system's processes (Redis and this bench's clients included): Lingua ${int(lc)} µs, BullMQ ${int(bc)} µs; with ${cpus().length} cores that caps Lingua near ${int(lc ? (cpus().length * 1e6) / lc : undefined)} jobs/s and BullMQ near ${int(bc ? (cpus().length * 1e6) / bc : undefined)} jobs/s.`,
    );
  }
  if (ls && bs) {
    facts.push(
      `Redis cost per job at the sustained load: Lingua ${num(ls.usage?.redis_us_per_msg, 1)} µs (${num(ls.usage?.scripts_per_msg, 1)} scripts), BullMQ ${num(bs.usage?.redis_us_per_msg, 1)} µs (${num(bs.usage?.scripts_per_msg, 1)} scripts).`,
    );
  }
  for (const [name, s] of [
    ['Lingua e2e', ls],
    ['BullMQ', bs],
    ['Lingua inbox hop', is],
    ['Socket.IO hop', ss],
  ] as const) {
    if (s)
      facts.push(`${name} at ${int(s.offered)}/s, Redis time per message by command: ${topCommands(s)}.`);
  }
  if (r.linguaErrors && Object.keys(r.linguaErrors).length) {
    facts.push(`Lingua session error frames during the ramp: ${JSON.stringify(r.linguaErrors)}.`);
  }
  const all = [...L, ...B, ...I, ...S, ...R];
  const busy = all.filter((x) => (x.usage?.cpu_others ?? 0) > 50);
  if (all.length) {
    facts.push(
      `Machine noise: processes outside this bench used up to ${int(Math.max(...all.map((x) => x.usage?.cpu_others ?? 0)))}% CPU during a measured step (one core = 100%); ${busy.length} of ${all.length} steps had more than 50%${busy.length ? ': their latencies are pessimistic' : ''}.`,
    );
  }
  const sLost = S.find((x) => x.sent - x.done > 0.01 * x.sent);
  if (sLost) {
    facts.push(
      `Socket.IO at ${int(sLost.offered)}/s: ${int(sLost.sent - sLost.done)} of ${int(sLost.sent)} messages never reached the client within the 5 s drain. The adapter's stream is capped (maxLen 10000) and read by every server; a reader that falls further behind than that skips trimmed entries (at-most-once). Lingua's inbox is a per-instance consumer group with acknowledgements and no trimming (${int((I.at(-1)?.sent ?? 0) - (I.at(-1)?.done ?? 0))} undelivered in its last step).`,
    );
  }
  for (const f of r.failures) facts.push(`Phase failed: ${f}`);
  return { md, facts };
}

/** The commands that cost Redis the most per message (µs inside the command, calls per message). */
function topCommands(s: Step, n = 6): string {
  const u = s.usage ?? {};
  const cmds = Object.keys(u)
    .filter((k) => k.startsWith('cmd_us_'))
    .map((k) => k.slice(7))
    .filter((c) => !/^(info|config)/.test(c) && (u[`cmd_us_${c}`] ?? 0) >= 0.05)
    .sort((a, b) => u[`cmd_us_${b}`]! - u[`cmd_us_${a}`]!)
    .slice(0, n);
  const inside = cmds.length ? '' : 'none';
  return (
    inside ||
    `${cmds.map((c) => `${c} ${num(u[`cmd_us_${c}`], 1)} µs (${num(u[`cmd_calls_${c}`], (u[`cmd_calls_${c}`] ?? 0) < 0.1 ? 4 : 2)} calls)`).join(', ')}; total CPU ${num(u.redis_us_per_msg, 1)} µs (commands run by scripts are also counted inside evalsha; the rest of the CPU is network I/O)`
  );
}

function e2eTable(name: string, steps: Step[], group: string, withDispatch: boolean): string {
  const head = [
    'offered/s',
    'sent',
    'completed',
    'jobs/s',
    'p50 ms',
    'p99 ms',
    ...(withDispatch ? ['dispatch p50 / p99 ms'] : []),
    `CPU % ${group} / bench / redis / others`,
    'CPU µs per job (all)',
    'Redis µs per job',
    'scripts per job',
  ];
  return `${name}\n\n${table(
    head,
    steps.map((s) => [
      `${int(s.offered)}${mark(s)}`,
      int(s.sent),
      int(s.done),
      int(s.perSec),
      num(s.lat.p50),
      num(s.lat.p99),
      ...(withDispatch ? [`${num(s.lat2?.p50)} / ${num(s.lat2?.p99)}`] : []),
      cpuOf(s, group, 'bench', 'redis', 'others'),
      int(cpuPerMsg(s, [group, 'bench', 'redis'])),
      num(s.usage?.redis_us_per_msg, 1),
      num(s.usage?.scripts_per_msg, 2),
    ]),
  )}`;
}

function hopTable(r: Results): string {
  const rows: (string | number)[][] = [];
  for (const [name, steps] of [
    ['Lingua inbox', r.inbox ?? []],
    ['Socket.IO adapter', r.socketio ?? []],
    ['raw XADD → XREAD', r.rawhop ?? []],
  ] as const) {
    for (const s of steps) {
      rows.push([
        name,
        `${int(s.offered)}${mark(s)}`,
        int(s.sent),
        int(s.done),
        int(s.perSec),
        num(s.lat.p50),
        num(s.lat.p99),
        s.lat2 ? `${num(s.lat2.p50)} / ${num(s.lat2.p99)}` : '–',
        cpuOf(s, 'receiver', 'senders', 'bench', 'redis', 'others'),
        num(s.usage?.redis_us_per_msg, 1),
        num(s.usage?.xadds_per_msg, 2),
      ]);
    }
  }
  return table(
    [
      'hop',
      'offered msgs/s',
      'sent',
      'delivered',
      'msgs/s',
      'p50 ms',
      'p99 ms',
      'stream only p50 / p99 ms',
      'CPU % receiver / senders / bench / redis / others',
      'Redis µs per msg',
      'XADD per msg',
    ],
    rows,
    ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
  );
}

function render(r: Results, machineLine: string, command: string): { console: string; doc: string } {
  const { md, facts } = summary(r);
  const frame = JSON.stringify(assignFrame(assignPayload(123, Buffer.alloc(UTTERANCE_BYTES, 7), Date.now())));
  const parts: string[] = [];
  parts.push(
    `Command: \`${command}\` (source: \`bench/all.ts\`, phases in \`bench/lib\`, \`bench/hop\`, \`bench/baselines\`).`,
  );
  parts.push(
    `Machine: ${machineLine}.${QUICK ? ' **Quick run (BENCH_QUICK=1): short steps, fewer loads.**' : ''}`,
  );
  parts.push(
    [
      'Setup, all on one machine and one redis-server:',
      `- **Lingua e2e**: 3 gateway processes; per gateway ${SESSIONS_PER_GW} sessions and ${NODES_PER_GW} nodes (0 ms, ${NODE_SLOTS} slots each, ${6 * NODE_SLOTS} in total), sessions and their nodes on different instances (bench/lib/load.ts); ${UTTERANCE_BYTES}-byte utterances; LINGUA_NODE_HEARTBEAT_TIMEOUT_MS=1 h because LoadRig's nodes send no heartbeats; latency = utterance sent → translation_result at the session.`,
      `- **BullMQ**: one job per utterance (${UTTERANCE_BYTES} bytes of audio as base64 + language pair, jobId session-index, removeOnComplete, 3 attempts), 3 worker processes × concurrency ${Math.ceil((6 * NODE_SLOTS) / 3)} (same total as Lingua's node slots), same sha256 answer; results back through QueueEvents 'completed' (returnvalue); latency = queue.add → completed event at the producer.`,
      `- **Hops**: 3 processes each; 2 senders at half the offered rate each, 1 receiver with ${HOP_CLIENTS} WebSocket clients of this process connected to it. Message: Lingua's job_assign for ${UTTERANCE_BYTES} bytes of audio (${frame.length} bytes of JSON on the client socket; Lingua carries it as a msgpack envelope with binary audio inside Redis). Latency = sender's wall clock (performance.timeOrigin + performance.now()) in the message → client receipt; "stream only" = → the receiver's inbox handler. Socket.IO: default adapter options, websocket transport, io.to(socketId).emit from servers B/C to sockets on A. "raw XADD → XREAD": the same pacing with plain ioredis and no WebSocket leg, the floor under any stream hop on this machine.`,
      '- **Raw limits**: one Node.js client process, 8 auto-pipelined connections × 64 closed loops; XADD entries of 850 bytes (the size of an assign envelope) with MAXLEN ~10000.',
      `- **Idle memory**: 3 fresh gateways and one node; N sessions opened (session_init acked, then silent) round-robin over the gateways from client child processes (ulimit -n ${openFilesLimit()}); RSS = sum of the gateways' /metrics process_resident_memory_bytes, per session = (after − before) / N, before = after ${WARM_SESSIONS} warm-up sessions; heap = nodejs_heap_size_used_bytes, lowest of 5 readings. RSS grows in allocator-sized steps, so the largest N is the meaningful figure.`,
      `- Ramps: ${STEP_SECONDS} s per offered load; a load is **saturated** when < 90% of the offered messages complete (drain bounded) or p99 > 1 s; the ramp stops there. "Sustained" = best unsaturated load. CPU % = of one core over the step; "others" = every other process on the machine (other users' jobs included: a high figure means the row was measured on a busy machine).`,
    ].join('\n'),
  );
  parts.push(`### Summary\n\n${md}`);
  if (facts.length)
    parts.push(`### Against the targets: where the time goes\n\n${facts.map((f) => `- ${f}`).join('\n')}`);
  if (r.lingua) parts.push(e2eTable('### Lingua end to end', r.lingua, 'gateways', true));
  if (r.bullmq) parts.push(e2eTable('### BullMQ baseline', r.bullmq, 'workers', false));
  if (r.inbox || r.socketio || r.rawhop) parts.push(`### Cross-instance hop\n\n${hopTable(r)}`);
  if (r.raw) {
    parts.push(
      `### Raw limits of this Redis from one client process (8 connections × 64 in flight, auto-pipelined)\n\n${table(
        ['operation', 'ops/s', 'Redis CPU %', 'client CPU %', 'others CPU %'],
        r.raw.map((x) => [x.name, int(x.opsPerSec), int(x.redisCpu), int(x.benchCpu), int(x.othersCpu)]),
      )}`,
    );
  }
  if (r.idle) {
    parts.push(
      `### Idle-session memory (fresh gateways, ${WARM_SESSIONS} warm-up sessions in the baseline)\n\n${table(
        [
          'idle sessions',
          'opened',
          'RSS per session KB',
          'V8 heap per session KB',
          'RSS 3 gateways before / after MB',
          'notes',
        ],
        r.idle.map((x) => [
          int(x.sessions),
          int(x.opened),
          num(x.rssPerSessionKB, 1),
          num(x.heapPerSessionKB, 1),
          `${num(x.rssBeforeMB, 0)} / ${num(x.rssAfterMB, 0)}`,
          x.note ?? '',
        ]),
        ['---:', '---:', '---:', '---:', '---:', '---'],
      )}`,
    );
  }
  const doc = parts.join('\n\n');
  return { console: doc, doc };
}

/** Runs every selected phase on one fresh redis-server. */
async function runAll(): Promise<Saved> {
  const started = Date.now();
  const redis = await startRedis({ extraArgs: ['--appendonly', 'no'] });
  defer(() => redis.stop());
  const admin = new Redis(redis.url);
  defer(async () => admin.disconnect());
  const machineLine = await machine(admin, openFilesLimit());
  const r: Results = { failures: [] };
  const base = { redisUrl: redis.url, admin, stepSeconds: STEP_SECONDS };

  r.raw = await phase(
    'raw',
    r,
    () => rawLimits(redis.url, { conns: 8, inflight: 64, seconds: RAW_SECONDS, xaddBytes: 850 }),
    admin,
  );
  for (const x of r.raw ?? [])
    console.log(`[raw] ${x.name}: ${int(x.opsPerSec)}/s (redis ${x.redisCpu}% CPU)`);
  r.rawhop = await phase(
    'rawhop',
    r,
    // 1,000/s too: the floor the dispatch target compares with.
    () => rawHop({ ...base, rates: [1000, ...HOP_RATES.slice(0, 3)], onStep: progress('rawhop') }),
    admin,
  );
  const lingua = await phase(
    'lingua',
    r,
    () =>
      linguaE2e({
        ...base,
        rates: E2E_RATES,
        sessionsPerInstance: SESSIONS_PER_GW,
        nodesPerInstance: NODES_PER_GW,
        nodeSlots: NODE_SLOTS,
        utteranceBytes: UTTERANCE_BYTES,
        onStep: progress('lingua'),
      }),
    admin,
  );
  r.lingua = lingua?.steps;
  r.linguaErrors = lingua?.errors;
  r.linguaSerial = lingua?.serial;
  const bullmq = await phase(
    'bullmq',
    r,
    () =>
      bullmqBaseline({
        ...base,
        rates: E2E_RATES,
        workers: 3,
        concurrency: 6 * NODE_SLOTS,
        sessions: 3 * SESSIONS_PER_GW,
        utteranceBytes: UTTERANCE_BYTES,
        onStep: progress('bullmq'),
      }),
    admin,
  );
  r.bullmq = bullmq?.steps;
  r.bullmqSerial = bullmq?.serial;
  r.select = await phase('select', r, () => selectCost(redis.url, admin), admin);
  if (r.select) {
    console.log(
      `[select] ${int(r.select.pairsPerSec)} select+release/s, Redis ${num(r.select.redisUsPerPair, 1)} µs per pair`,
    );
  }
  r.inbox = await phase(
    'inbox',
    r,
    () => inboxHop({ ...base, rates: HOP_RATES, clients: HOP_CLIENTS, onStep: progress('inbox') }),
    admin,
  );
  r.socketio = await phase(
    'socketio',
    r,
    () => socketioHop({ ...base, rates: HOP_RATES, clients: HOP_CLIENTS, onStep: progress('socketio') }),
    admin,
  );
  r.idle = await phase('idle', r, () => idleMemory(redis.url, IDLE_SESSIONS), admin);
  for (const x of r.idle ?? []) {
    console.log(
      `[idle] ${int(x.sessions)} sessions: ${num(x.rssPerSessionKB, 1)} KB RSS/session ${x.note ?? ''}`,
    );
  }
  return { r, machineLine, seconds: (Date.now() - started) / 1000, command: commandLine() };
}

async function main(): Promise<void> {
  selectTransport();
  installSignalHandlers();
  let saved: Saved;
  if (process.env.BENCH_FROM_JSON) {
    saved = JSON.parse(readFileSync(process.env.BENCH_FROM_JSON, 'utf8')) as Saved;
  } else {
    await useCompiledGateway();
    saved = await runAll();
    mkdirSync(dirname(JSON_OUT), { recursive: true });
    writeFileSync(JSON_OUT, JSON.stringify(saved));
    console.log(`raw results: ${JSON_OUT} (re-render with BENCH_FROM_JSON=<file> and the same BENCH_* env)`);
  }
  const out = render(saved.r, saved.machineLine, saved.command);
  console.log(`\n${HEADING}\n\n${out.console}\n`);
  console.log(`total ${saved.seconds.toFixed(0)} s`);
  if (WRITE_DOCS) {
    replaceSection(DOC, HEADING, `${out.doc}\n\nThe run took ${saved.seconds.toFixed(0)} s.`);
    console.log(`wrote ${HEADING} in docs/benchmarks.md`);
  } else console.log('docs/benchmarks.md not written (BENCH_QUICK; set BENCH_WRITE_DOCS=1 to write)');
}

function commandLine(): string {
  const knobs = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_') && k !== 'BENCH_FROM_JSON' && k !== 'BENCH_WRITE_DOCS')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `${knobs ? `${knobs} ` : ''}npm run bench`;
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanupAll();
    process.exit();
  });
