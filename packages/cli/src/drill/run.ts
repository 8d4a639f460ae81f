/**
 * `runDrill`: for each scenario, a fresh local cluster, K streaming sessions, the fault at
 * `--at`, load until `--duration` (and the fault sequence) is over, a bounded wait for every
 * utterance's outcome, then the accounting, timings and checks as one report section.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { redactRedisUrl } from '@lingua/cluster';
import { dlqLength } from '../dlq';
import { sleep } from '../net';
import { DrillCluster } from './cluster';
import { analyzeFailovers, EventTap, type FailoverStats } from './failover';
import { StreamingSessions } from './load';
import {
  DRILL_DEFAULTS,
  type DrillOptions,
  type DrillTarget,
  REPLICATED_REDIS,
  SCENARIOS,
  type ScenarioName,
  validateOptions,
} from './options';
import { Progress, progressLine } from './progress';
import {
  inFlightAtFault,
  missingAfterFault,
  resultLatencyAfterFault,
  resultLatencyBeforeFault,
  type ServingAgain,
  servingAgain,
} from './recovery';
import {
  type DrillReport,
  type HistogramReport,
  type LoadReport,
  type ScenarioReport,
  targetsFor,
  verdict,
} from './report';
import { type Check, type FaultStep, SCENARIO_TABLE, type ScenarioContext } from './scenarios';
import { HistogramScraper } from './scrape';
import { histogramMaxBound, histogramQuantile } from './stats';

export class DrillUsageError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'DrillUsageError';
  }
}

/** Runs one scenario or `all` (in sequence, one section each) and returns the report. */
export async function runDrill(
  target: DrillTarget,
  options: Partial<DrillOptions> = {},
): Promise<DrillReport> {
  const opts: DrillOptions = {
    ...DRILL_DEFAULTS,
    ...options,
    env: { ...DRILL_DEFAULTS.env, ...options.env },
  };
  const problems = validateOptions(target, opts);
  if (problems.length) throw new DrillUsageError(problems);
  const progress = new Progress(opts.out ?? process.stderr, opts.quiet);
  const startedAt = Date.now();
  const names: readonly ScenarioName[] = target === 'all' ? SCENARIOS : [target];
  const sections: ScenarioReport[] = [];
  for (const name of names) {
    if ((name === 'redis-restart' || REPLICATED_REDIS[name]) && opts.redis) {
      sections.push(skippedSection(name, 'needs the drill’s own redis-server (--redis was given)'));
      continue;
    }
    sections.push(await runScenario(name, opts, progress));
  }
  const { out: _out, ...shown } = opts;
  const report: DrillReport = {
    tool: 'lingua drill',
    version: 1,
    scenario: target,
    ok: sections.every((s) => s.ok || s.skipped !== undefined),
    started_at: new Date(startedAt).toISOString(),
    finished_at: new Date().toISOString(),
    duration_ms: Date.now() - startedAt,
    options: shown as Record<string, unknown>,
    host: { cpus: cpus().length, loadavg: loadavg() },
    scenarios: sections,
  };
  if (opts.report) writeFileSync(opts.report, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(50);
  }
  return true;
}

async function runScenario(
  name: ScenarioName,
  opts: DrillOptions,
  progress: Progress,
): Promise<ScenarioReport> {
  const scenario = SCENARIO_TABLE[name];
  const prefix = opts.prefix ?? `lingua:drill:${randomBytes(3).toString('hex')}:`;
  const redisTopology = REPLICATED_REDIS[name] ?? 'standalone';
  // On Redis Cluster, spread cells and shards over the masters unless asked otherwise.
  const spread = redisTopology === 'cluster' && opts.cells === 1 && opts.shards === 1;
  const cells = spread ? 3 : opts.cells;
  const shards = spread ? 6 : opts.shards;
  const cluster = new DrillCluster({
    gateways: opts.gateways,
    nodes: opts.nodes,
    redisUrl: opts.redis,
    redisTopology,
    prefix,
    cells,
    shards,
    env: opts.env,
    nodeLatency: opts.nodeLatency,
    maxJobs: opts.maxJobs,
    appendfsync: opts.appendfsync,
    silentScope: opts.silentScope,
    nodeKind: opts.nodeKind ?? scenario.nodeKind ?? 'sim',
    readyTimeoutMs: opts.readyTimeoutMs,
    verbose: opts.verbose,
  });
  const say = (m: string) => progress.say(`drill ${name}: ${m}`);
  const ctx: ScenarioContext = { cluster, opts, say };
  const startedAt = Date.now();
  let load: StreamingSessions | undefined;
  let tap: EventTap | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let passed = false;
  let section: ScenarioReport | undefined;
  let clean = false;
  try {
    say(
      `starting ${opts.gateways} gateways, ${opts.nodes} simulated nodes, ${opts.redis ? `Redis ${redactRedisUrl(opts.redis)}` : redisTopology === 'standalone' ? 'a private redis-server (AOF)' : `a private Redis ${redisTopology === 'sentinel' ? 'Sentinel set (primary, replica, 3 sentinels)' : 'Cluster (3 masters + replicas)'}`}; logs ${cluster.logDir}`,
    );
    await cluster.start();
    const redis = cluster.redis!;
    const dlqBefore = await dlqLength(redis, cluster.ks);
    const token = await cluster.sessionToken();
    load = scenario.makeLoad
      ? scenario.makeLoad(ctx, cluster.wsUrls('session'), token)
      : new StreamingSessions(cluster.wsUrls('session'), opts.sessions, 'zh', 'en', { token });
    ctx.load = load;
    await load.start();
    const loadStart = Date.now();
    tap = new EventTap(
      redis,
      Array.from({ length: shards }, (_, i) => cluster.ks.events(i)),
      loadStart,
    );
    tap.start();
    const scraper = new HistogramScraper(cluster);
    const running = load;
    ticker = setInterval(() => {
      progress.tick(progressLine(name, Date.now() - loadStart, running.snapshot()));
      void scraper.scrape();
    }, 1000);
    say(
      `${load.sessions.length} sessions${scenario.makeLoad ? ` (${opts.roomMembers} of them in one room)` : ''} × ${opts.rate} utterances/s for ${opts.durationMs / 1000} s; fault at +${opts.atMs / 1000} s`,
    );

    let faultDoneAt = 0;
    const stop = () =>
      faultDoneAt > 0 && Date.now() - loadStart >= opts.durationMs && Date.now() - faultDoneAt >= 1000;
    const streaming = load.streamUntil(1000 / opts.rate, stop);
    await sleep(Math.max(0, opts.atMs - (Date.now() - loadStart)));
    await scraper.markBaseline();
    let steps: FaultStep[] = [];
    let injectError: string | undefined;
    try {
      steps = await scenario.inject(ctx);
    } catch (err) {
      injectError = (err as Error).message;
      say(`fault injection failed: ${injectError}`);
    }
    faultDoneAt = Date.now();
    await streaming;
    const loadEnd = Date.now();
    say(`load stopped at +${((loadEnd - loadStart) / 1000).toFixed(1)} s; waiting for every outcome`);
    const settled = await waitFor(() => running.settled(), opts.settleTimeoutMs);
    const settleMs = Date.now() - loadEnd;
    clearInterval(ticker);
    ticker = undefined;
    progress.tick(progressLine(name, Date.now() - loadStart, load.snapshot()));
    progress.endLive();
    await scraper.scrape();
    await tap.stop();

    const faultAt = steps[0]?.at ?? faultDoneAt;
    const nodeTarget =
      name === 'node-kill' || name === 'node-silent' || name === 'node-restart' || name === 'model-loss'
        ? steps[0]?.target
        : undefined;
    const failover = analyzeFailovers(tap.events, faultAt, nodeTarget);
    const timelines = load.timelines();
    const recovery = recoveryOf(name, steps, timelines, faultAt);
    const tally = load.tally();
    const snap = load.snapshot();
    const loadReport: LoadReport = {
      ...tally,
      sessions: load.sessions.length,
      rate_per_session: opts.rate,
      duration_ms: loadEnd - loadStart,
      sent: snap.sent,
      missing_total: Object.values(tally.missing).reduce((a, b) => a + b, 0),
      reconnects: load.reconnects,
      settled,
      settle_ms: settleMs,
    };
    let checks: Check[];
    if (injectError !== undefined) checks = [{ name: 'fault injected', ok: false, detail: injectError }];
    else {
      checks = await scenario.verify(ctx, {
        steps,
        events: tap.events,
        failover,
        serving: recovery.serving_again,
        reconnects: load.reconnects,
      });
    }
    const dlqAfter = await dlqLength(redis, cluster.ks);
    section = {
      scenario: name,
      summary: scenario.summary,
      ok: false,
      failures: [],
      warnings: [],
      started_at: new Date(startedAt).toISOString(),
      load: loadReport,
      fault: { at_ms: faultAt - loadStart, steps: steps.map((s) => ({ ...s, at_ms: s.at - loadStart })) },
      recovery,
      failover: { events: failover, histogram: histogramReport(scraper) },
      dlq: { before: dlqBefore, after: dlqAfter, added: Math.max(0, dlqAfter - dlqBefore) },
      checks,
      targets: [],
      gateway_env: cluster.env,
      log_dir: cluster.logDir,
    };
    if (scenario.roomReport) section.room = scenario.roomReport(ctx, faultAt);
    section.targets = targetsFor(section, opts.silentScope);
    const v = verdict(section, opts.strict);
    section.failures = v.failures;
    section.warnings = v.warnings;
    section.ok = v.failures.length === 0;
    passed = section.ok;
    clean = section.ok && section.warnings.length === 0;
    return section;
  } catch (err) {
    say(`aborted: ${(err as Error).stack ?? (err as Error).message}`);
    return errorSection(name, startedAt, (err as Error).message, cluster.logDir);
  } finally {
    if (ticker) clearInterval(ticker);
    progress.endLive();
    await tap?.stop().catch(() => {});
    await load?.close();
    const keep = opts.keepLogs === 'always' || !passed || (opts.keepLogs === 'on-warning' && !clean);
    await cluster.stop({ keepLogs: keep, cleanKeys: !!opts.redis && !opts.prefix });
    if (keep) say(`logs kept in ${cluster.logDir}`);
    else if (section) section.log_dir = ''; // deleted
  }
}

function recoveryOf(
  name: ScenarioName,
  steps: FaultStep[],
  timelines: ReturnType<StreamingSessions['timelines']>,
  faultAt: number,
): ScenarioReport['recovery'] {
  const out: ScenarioReport['recovery'] = {
    serving_again: servingAgain(timelines, faultAt),
    in_flight_at_fault: inFlightAtFault(timelines, faultAt),
    missing_after_fault_ms: missingAfterFault(timelines, faultAt),
    result_latency_after_fault_ms: resultLatencyAfterFault(timelines, faultAt),
    result_latency_before_fault_ms: resultLatencyBeforeFault(timelines, faultAt),
  };
  if ((name === 'rolling-restart' || name === 'reshard') && steps.length) {
    const per = steps.map((s, i) => ({
      target: s.target,
      ...servingAgain(timelines, s.at, steps[i + 1]?.at),
    }));
    out.per_step = per;
    out.serving_again = combine(per);
  }
  if (name === 'redis-restart' && steps[1]) {
    out.serving_again_after_restart_ms = servingAgain(timelines, steps[1].at).all_max_ms;
  }
  return out;
}

/** Worst case over the steps of a multi-step fault. */
function combine(per: ServingAgain[]): ServingAgain {
  const max = (xs: (number | null)[]) => (xs.some((x) => x === null) ? null : Math.max(...(xs as number[])));
  return {
    affected_sessions: per.reduce((a, s) => a + s.affected_sessions, 0),
    all_max_ms: max(per.map((s) => s.all_max_ms)),
    affected_max_ms: max(per.filter((s) => s.affected_sessions > 0).map((s) => s.affected_max_ms)),
    affected_p50_ms: max(per.filter((s) => s.affected_sessions > 0).map((s) => s.affected_p50_ms)),
    not_recovered: per.reduce((a, s) => a + s.not_recovered, 0),
  };
}

function histogramReport(scraper: HistogramScraper): HistogramReport | null {
  const h = scraper.delta();
  if (!h) return null;
  const ms = (s: number) => (Number.isNaN(s) ? null : Math.round(s * 100_000) / 100);
  return {
    source: 'lingua_failover_seconds',
    count: h.count,
    p50_ms: h.count ? ms(histogramQuantile(h, 0.5)) : null,
    p99_ms: h.count ? ms(histogramQuantile(h, 0.99)) : null,
    max_bucket_ms: h.count ? ms(histogramMaxBound(h)) : null,
  };
}

const EMPTY_FAILOVER: FailoverStats = {
  detections: 0,
  by_cause: {},
  redispatched: 0,
  by_node: {},
  detection_to_redispatch_ms: null,
  fault_to_detection_ms: null,
  stuck_ms: null,
  attempts: [],
};

function emptySection(name: ScenarioName, startedAt: number, logDir: string): ScenarioReport {
  const none: ServingAgain = {
    affected_sessions: 0,
    all_max_ms: null,
    affected_max_ms: null,
    affected_p50_ms: null,
    not_recovered: 0,
  };
  return {
    scenario: name,
    summary: SCENARIO_TABLE[name].summary,
    ok: false,
    failures: [],
    warnings: [],
    started_at: new Date(startedAt).toISOString(),
    load: {
      accepted: 0,
      delivered: 0,
      missing: {},
      lost: 0,
      duplicated: 0,
      wrong: 0,
      unaccepted: 0,
      acceptedOnResume: 0,
      sessions: 0,
      rate_per_session: 0,
      duration_ms: 0,
      sent: 0,
      missing_total: 0,
      reconnects: 0,
      settled: false,
      settle_ms: 0,
    },
    fault: { at_ms: 0, steps: [] },
    recovery: {
      serving_again: none,
      in_flight_at_fault: { count: 0, outcome_after_fault_ms: null, without_outcome: 0 },
    },
    failover: { events: EMPTY_FAILOVER, histogram: null },
    dlq: { before: 0, after: 0, added: 0 },
    checks: [],
    targets: [],
    gateway_env: {},
    log_dir: logDir,
  };
}

function errorSection(
  name: ScenarioName,
  startedAt: number,
  message: string,
  logDir: string,
): ScenarioReport {
  return { ...emptySection(name, startedAt, logDir), failures: [`drill aborted: ${message}`] };
}

function skippedSection(name: ScenarioName, why: string): ScenarioReport {
  return { ...emptySection(name, Date.now(), ''), ok: true, skipped: why };
}
