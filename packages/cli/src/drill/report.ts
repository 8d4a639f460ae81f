/** The drill report: its shape, the latency targets, the pass/fail rule and the human summary (pure). */
import type { FailoverStats } from './failover';
import type { Tally } from './load';
import type { DrillTarget, ScenarioName } from './options';
import type { InFlightAtFault, ServingAgain } from './recovery';
import { SENTINEL_SERVING_AGAIN_MS } from './redis-failover';
import type { RoomReport } from './room-load';
import type { Check, FaultStep } from './scenarios';
import type { Summary } from './stats';

export interface LoadReport extends Tally {
  sessions: number;
  rate_per_session: number;
  /** load start → last utterance sent, ms */
  duration_ms: number;
  sent: number;
  missing_total: number;
  reconnects: number;
  /** every sent utterance accepted and given exactly one outcome within the bound */
  settled: boolean;
  /** load stopped → settled (or gave up), ms */
  settle_ms: number;
}

export interface HistogramReport {
  source: 'lingua_failover_seconds';
  /** observations during the drill, summed over gateways (a killed process's last second is lost) */
  count: number;
  p50_ms: number | null;
  p99_ms: number | null;
  /** upper bound of the highest non-empty bucket */
  max_bucket_ms: number | null;
}

export interface Target {
  name: string;
  limit_ms: number;
  measured_ms: number | null;
  ok: boolean;
}

export interface ScenarioReport {
  scenario: ScenarioName;
  summary: string;
  ok: boolean;
  failures: string[];
  /** findings that do not fail the drill (unless --strict): failed warning checks, missed targets */
  warnings: string[];
  /** set when the scenario could not run with these options */
  skipped?: string;
  started_at: string;
  load: LoadReport;
  fault: {
    /** first fault, ms after the load started */
    at_ms: number;
    steps: (FaultStep & { at_ms: number })[];
  };
  recovery: {
    serving_again: ServingAgain;
    /** rolling restarts: one entry per gateway */
    per_step?: (ServingAgain & { target: string })[];
    /** redis-restart: measured from the moment redis-server was started again */
    serving_again_after_restart_ms?: number | null;
    in_flight_at_fault: InFlightAtFault;
    /** fault → each missing_result that arrived after it (n = 0: none) */
    missing_after_fault_ms?: Summary | null;
    /** acceptance (or the fault) → outcome, for every outcome after the fault */
    result_latency_after_fault_ms?: Summary | null;
    /** acceptance → outcome before the fault: the baseline to read the above against */
    result_latency_before_fault_ms?: Summary | null;
  };
  failover: {
    /** measured from the job FSM events stream (gateway clocks, this host) */
    events: FailoverStats;
    histogram: HistogramReport | null;
  };
  dlq: { before: number; after: number; added: number };
  /** the room drill: accounting per (listener, speaker), recovery, room result latency */
  room?: RoomReport;
  checks: Check[];
  targets: Target[];
  gateway_env: Record<string, string>;
  /** process logs and the private Redis's AOF ('' once deleted) */
  log_dir: string;
}

export interface DrillReport {
  tool: 'lingua drill';
  version: 1;
  scenario: DrillTarget;
  ok: boolean;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  options: Record<string, unknown>;
  host: { cpus: number; loadavg: number[] };
  scenarios: ScenarioReport[];
}

const envMs = (env: Record<string, string>, key: string, def: number) => Number(env[key] ?? def);

/** The latency targets docs/operations.md sets for each scenario. */
export function targetsFor(
  r: Pick<ScenarioReport, 'scenario' | 'recovery' | 'failover' | 'gateway_env' | 'room'>,
  silentScope: 'all' | 'jobs',
): Target[] {
  const t = (name: string, limit: number, measured: number | null | undefined): Target => ({
    name,
    limit_ms: limit,
    measured_ms: measured ?? null,
    ok: measured !== null && measured !== undefined && measured <= limit,
  });
  const stuck = r.failover.events.stuck_ms;
  switch (r.scenario) {
    case 'gateway-kill':
      return [
        t("killed gateway's sessions serving again", 5000, r.recovery.serving_again.affected_max_ms),
        t('result latency p99 after the fault', 2000, r.recovery.result_latency_after_fault_ms?.p99),
      ];
    case 'room':
      return [
        t('every member hearing every member again', 5000, r.room?.recovery.all_max_ms),
        t('room result latency p99 after the fault', 2000, r.room?.latency_after_fault_ms?.p99),
      ];
    case 'node-restart':
      return [t('result latency p99 after the fault', 2000, r.recovery.result_latency_after_fault_ms?.p99)];
    case 'reshard':
      // No target in the issue: the outage the clients saw is reported.
      return [
        t('every session serving again after the slots moved', 10_000, r.recovery.serving_again.all_max_ms),
      ];
    case 'rolling-restart':
      return [
        t(
          "restarted gateway's sessions serving again (worst gateway)",
          5000,
          maxOrNull((r.recovery.per_step ?? []).map((s) => s.affected_max_ms)),
        ),
      ];
    case 'node-kill':
      return [t('node socket closed → re-dispatch p99', 200, stuck?.p99)];
    case 'model-loss':
      return [
        t('MODEL_NOT_AVAILABLE → re-dispatch p99', 200, r.failover.events.detection_to_redispatch_ms?.p99),
      ];
    case 'node-silent': {
      const env = r.gateway_env;
      return silentScope === 'all'
        ? [
            t(
              'silent node → re-dispatch max (heartbeat timeout + 1 s)',
              envMs(env, 'LINGUA_NODE_HEARTBEAT_TIMEOUT_MS', 15_000) + 1000,
              stuck?.max,
            ),
          ]
        : [
            t(
              'unanswered job → re-dispatch max (job timeout + 1 s)',
              envMs(env, 'LINGUA_JOB_TIMEOUT_MS', 30_000) + 1000,
              stuck?.max,
            ),
          ];
    }
    case 'redis-restart':
      return [
        t('every session serving again after Redis is back', 5000, r.recovery.serving_again_after_restart_ms),
      ];
    case 'sentinel-failover':
      return [
        t(
          'every session serving again after the primary died',
          SENTINEL_SERVING_AGAIN_MS,
          r.recovery.serving_again.all_max_ms,
        ),
      ];
    case 'cluster-failover':
      // No target in the issue: the outage is reported; 10 s as for Sentinel.
      return [
        t('every session serving again after the master died', 10_000, r.recovery.serving_again.all_max_ms),
      ];
  }
}

function maxOrNull(xs: (number | null)[]): number | null {
  if (xs.length === 0 || xs.some((x) => x === null)) return null;
  return Math.max(...(xs as number[]));
}

/**
 * Why a scenario failed ([] = passed) and what is only worth a warning. Missed latency targets
 * and failed warning checks are warnings, failures with `strict`.
 */
export function verdict(
  r: Pick<ScenarioReport, 'load' | 'checks' | 'targets' | 'room'>,
  strict: boolean,
): { failures: string[]; warnings: string[] } {
  const f: string[] = [];
  const w: string[] = [];
  const l = r.load;
  if (l.lost > 0) f.push(`${l.lost} utterances lost (accepted, no result, no missing_result)`);
  if (l.duplicated > 0) f.push(`${l.duplicated} duplicated outcomes`);
  if (l.wrong > 0) f.push(`${l.wrong} wrong results (hash mismatch)`);
  if (l.unaccepted > 0) f.push(`${l.unaccepted} utterances sent but never accepted`);
  if (!l.settled) f.push('did not settle within the bound');
  if (r.room) {
    const t = r.room.tally;
    if (t.lost > 0)
      f.push(`room: ${t.lost} utterances lost for a listener (no room_result, no room_missing_result)`);
    if (t.duplicated > 0) f.push(`room: ${t.duplicated} duplicated room frames`);
    if (t.wrong > 0) f.push(`room: ${t.wrong} wrong room results (text, language or speaker)`);
    if (t.out_of_order > 0) f.push(`room: ${t.out_of_order} room frames out of order`);
    if (!r.room.settled) f.push('room: not every listener heard every utterance within the bound');
  }
  for (const c of r.checks) {
    if (c.ok) continue;
    const msg = `check failed: ${c.name} (${c.detail})`;
    (c.warning && !strict ? w : f).push(msg);
  }
  for (const t of r.targets) {
    if (t.ok) continue;
    const msg = `target missed: ${t.name} ≤ ${t.limit_ms} ms (measured ${fmtMs(t.measured_ms)})`;
    (strict ? f : w).push(msg);
  }
  return { failures: f, warnings: w };
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return 'n/a';
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

const fmtSummary = (s: Summary | null) =>
  s ? `p50 ${fmtMs(s.p50)}, p99 ${fmtMs(s.p99)}, max ${fmtMs(s.max)} (n=${s.count})` : 'none';

/** The human summary of one scenario. */
export function renderScenario(r: ScenarioReport): string {
  const head = `== ${r.scenario}: ${r.skipped ? 'SKIPPED' : r.ok ? 'PASS' : 'FAIL'}  (${r.summary})`;
  if (r.skipped) return `${head}\n  ${r.skipped}\n`;
  const l = r.load;
  const miss = Object.entries(l.missing)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const lines = [
    head,
    `  load      ${l.sessions} sessions × ${l.rate_per_session}/s for ${(l.duration_ms / 1000).toFixed(1)} s: sent ${l.sent}, accepted ${l.accepted}, delivered ${l.delivered}, missing ${l.missing_total}${miss ? ` (${miss})` : ''}`,
    `            lost ${l.lost}, duplicated ${l.duplicated}, wrong ${l.wrong}, unaccepted ${l.unaccepted}; ${l.reconnects} session resumes${l.acceptedOnResume ? ` (${l.acceptedOnResume} accepts known only from the resume ack)` : ''}; ${l.settled ? `settled ${fmtMs(l.settle_ms)} after the load stopped` : `NOT settled after ${fmtMs(l.settle_ms)}`}`,
  ];
  r.fault.steps.forEach((s, i) => {
    lines.push(
      `  ${i === 0 ? 'fault    ' : '         '} +${(s.at_ms / 1000).toFixed(1)} s ${s.action} ${s.target}${s.pid ? ` (pid ${s.pid})` : ''}, done after ${fmtMs(s.done_at - s.at)}`,
    );
  });
  const sa = r.recovery.serving_again;
  lines.push(
    `  recovery  ${sa.affected_sessions} sessions lost their connection; every session serving again after ${fmtMs(sa.all_max_ms)}` +
      (sa.affected_sessions
        ? ` (those: p50 ${fmtMs(sa.affected_p50_ms)}, max ${fmtMs(sa.affected_max_ms)})`
        : '') +
      (sa.not_recovered ? `; ${sa.not_recovered} sessions NEVER served again` : ''),
  );
  for (const s of r.recovery.per_step ?? []) {
    lines.push(
      `            ${s.target}: ${s.affected_sessions} sessions moved, serving again after max ${fmtMs(s.affected_max_ms)}`,
    );
  }
  if (r.recovery.serving_again_after_restart_ms !== undefined) {
    lines.push(
      `            after redis-server restarted: every session serving within ${fmtMs(r.recovery.serving_again_after_restart_ms)}`,
    );
  }
  const inf = r.recovery.in_flight_at_fault;
  lines.push(
    `            ${inf.count} utterances in flight at the fault: outcome after ${fmtSummary(inf.outcome_after_fault_ms)}${inf.without_outcome ? `; ${inf.without_outcome} without outcome` : ''}`,
  );
  const rl = r.recovery.result_latency_after_fault_ms;
  if (rl) {
    lines.push(`            result latency after the fault: ${fmtSummary(rl)}`);
    const base = r.recovery.result_latency_before_fault_ms;
    if (base) lines.push(`            (before the fault:              ${fmtSummary(base)})`);
  }
  const maf = r.recovery.missing_after_fault_ms;
  if (maf) lines.push(`            missing_result after the fault: ${fmtSummary(maf)}`);
  const f = r.failover.events;
  const causes = Object.entries(f.by_cause)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  lines.push(
    `  failover  ${f.detections} attempts failed after the fault${causes ? ` (${causes})` : ''}, ${f.redispatched} re-dispatched`,
  );
  if (f.detections) {
    lines.push(`            fault → detection        ${fmtSummary(f.fault_to_detection_ms)}`);
    lines.push(`            detection → re-dispatch  ${fmtSummary(f.detection_to_redispatch_ms)}`);
    lines.push(`            stuck on failed node     ${fmtSummary(f.stuck_ms)}`);
  }
  const h = r.failover.histogram;
  lines.push(
    h
      ? `            lingua_failover_seconds  n=${h.count}${h.count ? `, p50 ${fmtMs(h.p50_ms)}, p99 ${fmtMs(h.p99_ms)}, max ≤ ${fmtMs(h.max_bucket_ms)}` : ''}`
      : '            lingua_failover_seconds  not scraped',
  );
  if (r.room) lines.push(...renderRoom(r.room));
  lines.push(`  dlq       ${r.dlq.added} new entries (${r.dlq.after} total)`);
  r.checks.forEach((c, i) => {
    const mark = c.ok ? 'ok  ' : c.warning ? 'WARN' : 'FAIL';
    lines.push(`  ${i === 0 ? 'checks   ' : '         '} ${mark} ${c.name}: ${c.detail}`);
  });
  r.targets.forEach((t, i) => {
    lines.push(
      `  ${i === 0 ? 'targets  ' : '         '} ${t.ok ? 'met ' : 'MISS'} ${t.name} ≤ ${fmtMs(t.limit_ms)}: ${fmtMs(t.measured_ms)}`,
    );
  });
  for (const x of r.warnings) lines.push(`  WARNING   ${x}`);
  for (const x of r.failures) lines.push(`  FAILURE   ${x}`);
  if (r.log_dir && (!r.ok || r.warnings.length)) lines.push(`  logs      ${r.log_dir}`);
  return `${lines.join('\n')}\n`;
}

function renderRoom(room: RoomReport): string[] {
  const t = room.tally;
  const miss = Object.entries(t.missing)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const missTotal = Object.values(t.missing).reduce((a, b) => a + b, 0);
  const who = room.members.map((m) => `${m.src}→${m.listen}@gw-${m.first_gateway}`).join(' ');
  const rc = room.recovery;
  const lines = [
    `  room      ${room.members.length} members in ${room.languages.join('/')} (speaks→hears@first gateway: ${who})`,
    `            ${t.pairs} (listener, speaker) pairs: expected ${t.expected}, room_result ${t.results}, room_missing_result ${missTotal}${miss ? ` (${miss})` : ''}`,
    `            lost ${t.lost}, duplicated ${t.duplicated}, wrong ${t.wrong}, out of order ${t.out_of_order}${room.settled ? '' : '; NOT settled'}`,
    `            ${room.moved_members} members moved, ${room.rejoined_members} back in the room, ${room.resumes_with_room_heard} resumes with room_heard`,
    `            every member hearing every member again after ${fmtMs(rc.all_max_ms)}${rc.affected_pairs ? ` (pairs with a moved member: p50 ${fmtMs(rc.affected_p50_ms)}, max ${fmtMs(rc.affected_max_ms)})` : ''}${rc.not_recovered_pairs ? `; ${rc.not_recovered_pairs} pairs NEVER` : ''}`,
    `            room result latency after the fault: ${fmtSummary(room.latency_after_fault_ms)}`,
    `            (before the fault:                   ${fmtSummary(room.latency_before_fault_ms)})`,
  ];
  for (const p of t.problems) {
    lines.push(
      `            ${p.speaker} → ${p.listener}: lost ${p.lost}, duplicated ${p.duplicated}, wrong ${p.wrong}, out of order ${p.out_of_order}`,
    );
  }
  return lines;
}

export function renderReport(r: DrillReport): string {
  const parts = r.scenarios.map(renderScenario);
  const passed = r.scenarios.filter((s) => s.ok && !s.skipped).length;
  const skipped = r.scenarios.filter((s) => s.skipped).length;
  const warned = r.scenarios.reduce((n, s) => n + s.warnings.length, 0);
  parts.push(
    `drill ${r.scenario}: ${r.ok ? 'PASS' : 'FAIL'} (${passed} passed, ${r.scenarios.length - passed - skipped} failed, ${skipped} skipped; ${warned} warnings) in ${(r.duration_ms / 1000).toFixed(1)} s; host ${r.host.cpus} cpus, load ${r.host.loadavg.map((x) => x.toFixed(2)).join(' ')}\n`,
  );
  return parts.join('\n');
}
