/**
 * The fuzz run: a 2-gateway cluster of real processes (a private redis-server, two gateway
 * processes, two simulated nodes: packages/cli/src/drill/cluster.ts), an honest client-SDK
 * session streaming utterances the whole time, and `lanes` concurrent attackers sending fuzz
 * cases (inputs.ts) until `inputs` inputs were sent. Then it settles and reports: inputs,
 * replies by code, protocol violations, wedged connections, gateway restarts, Redis keys left
 * without a TTL outside the allow-list, and the honest session's results.
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { LinguaSession } from '@lingua/client-sdk';
import fc from 'fast-check';
import { nodeTokenFrom } from '../../../packages/cli/src/credentials';
import { DrillCluster } from '../../../packages/cli/src/drill/cluster';
import { type BoundedStateReport, checkBoundedState } from '../../support/bounded-state';
import { newTally, runRawCase, runWsCase, type Tally } from './client';
import { type FuzzCase, type FuzzTokens, fuzzCase, HONEST_PAIR, inputsOf } from './inputs';

export interface FuzzOptions {
  /** stop once at least this many inputs were sent */
  inputs: number;
  seed: number;
  /** concurrent attacker connections */
  lanes: number;
  /** write the JSON report here */
  reportPath?: string;
  /** progress lines (stderr in the CLI) */
  log?: (line: string) => void;
  keepLogs?: boolean;
}

export interface HonestStats {
  sent: number;
  results: number;
  correct: number;
  wrong: number;
  missing: number;
  /** sent, and neither a result nor a missing_result arrived */
  lost: number;
  reconnects: number;
  rate_limited: number;
  /** utterance sent → its result (ms): what the honest user waited while the fuzz ran */
  latency_ms: { p50: number; p99: number; max: number };
}

export interface FuzzReport {
  ok: boolean;
  failures: string[];
  seed: number;
  inputs: { total: number; cases: number; by_surface: Record<string, number> };
  replies: Record<string, number>;
  protocol_violations: string[];
  wedged_connections: number;
  gateway_restarts: number;
  gateways_healthy_after: boolean;
  initialized: { session: number; node: number };
  keys: {
    total: number;
    without_ttl: number;
    without_ttl_outside_allow_list: number;
    violations: string[];
    allowed: Record<string, number>;
  };
  honest: HonestStats;
  duration_ms: { total: number; fuzz: number; settle: number };
  inputs_per_second: number;
  machine: string;
  auth: 'tokens from env' | "the cluster's own credentials";
}

const sha16 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex').slice(0, 16);

/** The honest session: one utterance every `everyMs`, each result checked against the audio. */
function startHonest(urls: string[], token: string | undefined, everyMs: number) {
  const session = new LinguaSession({
    urls,
    srcLang: HONEST_PAIR.src,
    tgtLang: HONEST_PAIR.tgt,
    ...(token ? { token } : {}),
  });
  const audios: Uint8Array[] = [];
  const sentAt: number[] = [];
  const latencies: number[] = [];
  const stats: HonestStats = {
    sent: 0,
    results: 0,
    correct: 0,
    wrong: 0,
    missing: 0,
    lost: 0,
    reconnects: 0,
    rate_limited: 0,
    latency_ms: { p50: 0, p99: 0, max: 0 },
  };
  session.on('result', (r) => {
    stats.results++;
    const at = sentAt[r.utterance_index];
    if (at !== undefined) latencies.push(Date.now() - at);
    const audio = audios[r.utterance_index];
    const h = audio ? sha16(audio) : '';
    if (audio && r.text_asr === `${HONEST_PAIR.src}:${h}` && r.text_translated === `${HONEST_PAIR.tgt}:${h}`)
      stats.correct++;
    else stats.wrong++;
  });
  session.on('missing', () => stats.missing++);
  session.on('reconnected', () => stats.reconnects++);
  session.on('error', (e) => {
    if (e.code === 'RATE_LIMITED') stats.rate_limited++;
  });
  let timer: NodeJS.Timeout | undefined;
  const rnd = fc.sample(fc.uint8Array({ minLength: 320, maxLength: 3200 }), { numRuns: 4000, seed: 4242 });
  return {
    stats,
    async start() {
      await session.start();
      timer = setInterval(() => {
        const audio = rnd[stats.sent % rnd.length]!;
        // a distinct utterance each time (index in the first bytes), deterministic
        const a = Uint8Array.from(audio);
        a[0] = stats.sent & 0xff;
        a[1] = (stats.sent >> 8) & 0xff;
        audios.push(a);
        sentAt.push(Date.now());
        stats.sent++;
        session.sendUtterance(a);
      }, everyMs);
    },
    /** Stops sending and waits (bounded) for every outcome. */
    async finish(timeoutMs: number) {
      clearInterval(timer);
      const end = Date.now() + timeoutMs;
      while (stats.results + stats.missing < stats.sent && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 50));
      }
      stats.lost = stats.sent - stats.results - stats.missing;
      const sorted = [...latencies].sort((a, b) => a - b);
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
      stats.latency_ms = { p50: q(0.5), p99: q(0.99), max: sorted.at(-1) ?? 0 };
      await Promise.race([session.close(), new Promise((r) => setTimeout(r, 5000))]).catch(() => {});
    },
  };
}

async function settle(timeoutMs: number, cond: () => Promise<boolean>): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function machineLine(): string {
  const cpus = os.cpus();
  let redis = '';
  try {
    redis =
      execFileSync('redis-server', ['--version'])
        .toString()
        .match(/v=(\S+)/)?.[1] ?? '';
  } catch {
    redis = '?';
  }
  return `${cpus.length} × ${cpus[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}, node ${process.version}, redis ${redis}, ${os.platform()} ${os.release()}`;
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  // The cluster runs with credentials, as in production (DrillCluster generates them); the
  // fuzzer holds valid tokens so it also reaches initialised sessions and registered nodes.
  const fromEnv: FuzzTokens = {
    session: process.env.LINGUA_FUZZ_SESSION_TOKEN || undefined,
    node: process.env.LINGUA_FUZZ_NODE_TOKEN || undefined,
    admin: process.env.LINGUA_FUZZ_ADMIN_TOKEN || undefined,
  };
  const authFromEnv = fromEnv.session !== undefined || fromEnv.node !== undefined;
  const cluster = new DrillCluster({
    gateways: 2,
    nodes: 2,
    prefix: `lingua:fuzz:${o.seed}:`,
    cells: 1,
    shards: 1,
    env: {
      LINGUA_LOG_LEVEL: 'warn',
      LINGUA_NODE_FORGET_MS: '1000',
      // Failure detection relaxed from the drill's (the fuzz tests robustness, not failover
      // speed): a loaded machine must not take the simulated nodes offline mid-run.
      LINGUA_PRESENCE_TTL_MS: '3000',
      LINGUA_NODE_HEARTBEAT_MS: '1000',
      LINGUA_NODE_HEARTBEAT_TIMEOUT_MS: '5000',
      LINGUA_JOB_TIMEOUT_MS: '3000',
    },
    nodeLatency: '0-5',
    maxJobs: 8,
    silentScope: 'all',
    appendfsync: 'everysec',
    readyTimeoutMs: 90_000,
    verbose: false,
  });
  const tally: Tally = newTally();
  const bySurface: Record<string, number> = {};
  let inputs = 0;
  let cases = 0;
  let restarts = 0;
  const failures: string[] = [];
  let keys: BoundedStateReport = { keys: 0, withoutTtl: 0, allowed: {}, violations: [] };
  let honestStats: HonestStats | undefined;
  let tFuzz = 0;
  let tSettle = 0;
  let healthy = false;
  await cluster.start();
  const tokens: FuzzTokens = {
    session: fromEnv.session ?? (await cluster.sessionToken()),
    // any node id: the fuzzer invents them
    node: fromEnv.node ?? (await nodeTokenFrom(cluster.creds.nodeSecret!, '*', 86_400)),
    admin: fromEnv.admin ?? cluster.creds.adminToken,
  };
  log(`cluster up in ${Date.now() - t0} ms: gateways ${cluster.gateways.map((g) => g.port).join(', ')}`);
  const honest = startHonest(cluster.wsUrls('session'), tokens.session, 200);
  try {
    await honest.start();
    // A crashed gateway is counted and restarted, so the run goes on and reports it.
    let restarting = false;
    const watchdog = setInterval(() => {
      if (restarting) return;
      for (const g of cluster.gateways) {
        if (g.child.exitInfo) {
          restarts++;
          restarting = true;
          log(
            `gateway ${g.id} exited (${JSON.stringify(g.child.exitInfo)}): restarting; log ${g.child.logPath}`,
          );
          cluster
            .restartGateway(g)
            .catch((err) => log(`restart of ${g.id} failed: ${String(err)}`))
            .finally(() => {
              restarting = false;
            });
          break;
        }
      }
    }, 250);
    const ports = () => cluster.gateways.map((g) => g.port);
    const arb = fuzzCase(tokens);
    const queue: FuzzCase[] = [];
    let batch = 0;
    const next = (): FuzzCase | undefined => {
      if (inputs >= o.inputs) return undefined;
      if (queue.length === 0) queue.push(...fc.sample(arb, { numRuns: 200, seed: o.seed + batch++ }));
      const c = queue.shift()!;
      inputs += inputsOf(c);
      cases++;
      bySurface[c.surface] = (bySurface[c.surface] ?? 0) + inputsOf(c);
      return c;
    };
    const tStart = Date.now();
    let lastLog = tStart;
    const lane = async () => {
      for (let c = next(); c; c = next()) {
        const port = ports()[c.gateway % ports().length]!;
        if ('frames' in c) await runWsCase(port, c, tally);
        else await runRawCase(port, c, tally);
        if (Date.now() - lastLog > 5000) {
          lastLog = Date.now();
          log(
            `${inputs}/${o.inputs} inputs, ${cases} cases, ${Math.round((inputs * 1000) / (Date.now() - tStart))}/s; honest ${honest.stats.correct}/${honest.stats.sent}; restarts ${restarts}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: o.lanes }, lane));
    tFuzz = Date.now() - tStart;
    clearInterval(watchdog);
    log(`fuzz done: ${inputs} inputs in ${tFuzz} ms; settling`);
    const tS = Date.now();
    await honest.finish(60_000);
    honestStats = honest.stats;
    // Every job ends (overall deadline), then offline fuzz nodes are forgotten (1 s here).
    const r = cluster.redis!;
    await settle(60_000, async () => (await r.zcard(cluster.ks.deadlines(0))) === 0);
    await settle(30_000, async () => (await checkBoundedState(r, cluster.ks)).violations.length === 0);
    keys = await checkBoundedState(r, cluster.ks);
    healthy = (await Promise.all(cluster.gateways.map((g) => cluster.readyStatus(g.port)))).every(
      (s) => s === 200,
    );
    tSettle = Date.now() - tS;
  } finally {
    await cluster.stop({ keepLogs: o.keepLogs === true || restarts > 0, cleanKeys: false });
  }
  const h = honestStats!;
  if (restarts > 0) failures.push(`${restarts} gateway restart(s); logs kept in ${cluster.logDir}`);
  if (!healthy) failures.push('a gateway was not ready after the run');
  if (tally.violations.length) failures.push(`${tally.violations.length} server frames violate the protocol`);
  if (tally.wedged) failures.push(`${tally.wedged} connections neither answered nor closed`);
  if (keys.violations.length)
    failures.push(`${keys.violations.length} Redis keys without TTL outside the allow-list`);
  if (h.sent === 0 || h.correct !== h.sent) {
    failures.push(
      `honest session: ${h.correct} of ${h.sent} correct (${h.wrong} wrong, ${h.missing} missing, ${h.lost} lost)`,
    );
  }
  if (inputs < o.inputs) failures.push(`only ${inputs} inputs sent`);
  const report: FuzzReport = {
    ok: failures.length === 0,
    failures,
    seed: o.seed,
    inputs: { total: inputs, cases, by_surface: bySurface },
    replies: Object.fromEntries(Object.entries(tally.replies).sort(([a], [b]) => a.localeCompare(b))),
    protocol_violations: tally.violations.slice(0, 50),
    wedged_connections: tally.wedged,
    gateway_restarts: restarts,
    gateways_healthy_after: healthy,
    initialized: tally.initialized,
    keys: {
      total: keys.keys,
      without_ttl: keys.withoutTtl,
      without_ttl_outside_allow_list: keys.violations.length,
      violations: keys.violations.slice(0, 50),
      allowed: keys.allowed,
    },
    honest: h,
    duration_ms: { total: Date.now() - t0, fuzz: tFuzz, settle: tSettle },
    inputs_per_second: Math.round((inputs * 1000) / Math.max(1, tFuzz)),
    machine: machineLine(),
    auth: authFromEnv ? 'tokens from env' : "the cluster's own credentials",
  };
  if (o.reportPath) writeFileSync(o.reportPath, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** The printed summary (the JSON report has the same facts). */
export function summary(r: FuzzReport): string {
  const replies = Object.entries(r.replies)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `fuzz ${r.ok ? 'PASSED' : 'FAILED'} (seed ${r.seed}, auth ${r.auth})`,
    `  inputs: ${r.inputs.total} in ${r.inputs.cases} cases (${Object.entries(r.inputs.by_surface)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}); ${r.inputs_per_second}/s`,
    `  replies: ${replies}`,
    `  fuzz sessions initialized ${r.initialized.session}, fuzz nodes registered ${r.initialized.node}`,
    `  gateway restarts: ${r.gateway_restarts}; healthy after: ${r.gateways_healthy_after}; wedged connections: ${r.wedged_connections}; protocol violations: ${r.protocol_violations.length}`,
    `  Redis keys: ${r.keys.total}, without TTL ${r.keys.without_ttl} (allowed: ${Object.entries(
      r.keys.allowed,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}), outside the allow-list: ${r.keys.without_ttl_outside_allow_list}`,
    `  honest session: ${r.honest.correct}/${r.honest.sent} correct, ${r.honest.wrong} wrong, ${r.honest.missing} missing, ${r.honest.lost} lost, ${r.honest.reconnects} reconnects; latency p50 ${r.honest.latency_ms.p50} ms, p99 ${r.honest.latency_ms.p99} ms, max ${r.honest.latency_ms.max} ms`,
    `  time: ${(r.duration_ms.total / 1000).toFixed(1)} s (fuzz ${(r.duration_ms.fuzz / 1000).toFixed(1)} s, settle ${(r.duration_ms.settle / 1000).toFixed(1)} s)`,
    `  machine: ${r.machine}`,
    ...r.failures.map((f) => `  FAIL: ${f}`),
  ].join('\n');
}
