/**
 * The faults a drill injects, one per scenario, and the checks that prove the fault really
 * happened and the cluster healed. `inject` resolves once the fault sequence is complete
 * (e.g. Redis is back, every gateway was restarted); `verify` runs after the load settled.
 */
import { sleep } from '../net';
import type { DrillCluster, GatewaySlot, NodeSlot } from './cluster';
import type { FailoverStats, JobEvent } from './failover';
import type { StreamingSessions } from './load';
import type { DrillOptions, ScenarioName } from './options';
import type { ServingAgain } from './recovery';
import { clusterFailover, sentinelFailover } from './redis-failover';
import type { RoomReport } from './room-load';
import { modelLoss } from './scenario-model-loss';
import { room } from './scenario-room';
import { nodeRestart, reshard } from './scenarios-core';

export interface FaultStep {
  action: string;
  target: string;
  pid?: number;
  /** epoch ms the fault was applied */
  at: number;
  /** epoch ms this step's own work finished (process gone, restarted and ready, ...) */
  done_at: number;
  detail: Record<string, unknown>;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /**
   * A finding rather than proof of the fault: when it does not hold it is reported as a
   * warning (a failure only with --strict), e.g. a result that cost a job timeout.
   */
  warning?: boolean;
}

export interface ScenarioContext {
  cluster: DrillCluster;
  opts: DrillOptions;
  say(msg: string): void;
  /** the running load (set once it started) */
  load?: StreamingSessions;
}

export interface VerifyInput {
  steps: FaultStep[];
  /** every job FSM transition seen during the load */
  events: JobEvent[];
  failover: FailoverStats;
  serving: ServingAgain;
  reconnects: number;
}

export interface Scenario {
  name: ScenarioName;
  summary: string;
  /** node processes this scenario runs unless --node-kind says otherwise (default sim) */
  nodeKind?: 'sim' | 'proto' | 'proto-v11';
  inject(ctx: ScenarioContext): Promise<FaultStep[]>;
  verify(ctx: ScenarioContext, v: VerifyInput): Promise<Check[]>;
  /** the load instead of `--sessions` zh→en sessions (the room drill) */
  makeLoad?(ctx: ScenarioContext, urls: string[], token: string): StreamingSessions;
  /** the room drill's own report section (after the load settled) */
  roomReport?(ctx: ScenarioContext, faultAt: number): RoomReport;
}

const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail });
const finding = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail, warning: true });

export async function waitFor(
  cond: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 50,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await sleep(everyMs);
  }
}

function pickGateway(ctx: ScenarioContext): GatewaySlot {
  const id = ctx.opts.target ?? 'gw-1';
  const g = ctx.cluster.gateways.find((x) => x.id === id);
  if (!g) throw new Error(`no gateway ${id} (have ${ctx.cluster.gateways.map((x) => x.id).join(', ')})`);
  return g;
}

/** The requested node, else the live node holding the most jobs (waits up to 2 s for one holding any). */
export async function pickNode(ctx: ScenarioContext): Promise<{ node: NodeSlot; held: number }> {
  const { cluster } = ctx;
  if (ctx.opts.target) {
    const n = cluster.nodes.find((x) => x.id === ctx.opts.target);
    if (!n) throw new Error(`no node ${ctx.opts.target} (have ${cluster.nodes.map((x) => x.id).join(', ')})`);
    return { node: n, held: (await cluster.heldJobs()).get(n.id) ?? 0 };
  }
  let best: { node: NodeSlot; held: number } | undefined;
  await waitFor(async () => {
    const held = await cluster.heldJobs();
    for (const n of cluster.nodes) {
      const h = held.get(n.id);
      if (h !== undefined && (!best || h > best.held)) best = { node: n, held: h };
    }
    return (best?.held ?? 0) > 0;
  }, 2000);
  if (!best) throw new Error('no live node to hit');
  return best;
}

const exitedBy = (s: FaultStep) => `exit code ${s.detail.exit_code}, signal ${s.detail.exit_signal}`;

// ---- gateway-kill ----

export const gatewayKill: Scenario = {
  name: 'gateway-kill',
  // Third-party nodes: they reconnect at once and drop the answers they were computing.
  nodeKind: 'proto',
  summary: 'SIGKILL one gateway that owns sessions and nodes; sessions resume on the others',
  async inject(ctx) {
    const g = pickGateway(ctx);
    const pid = g.child.pid;
    const at = Date.now();
    g.child.signal('SIGKILL');
    const info = await g.child.exited;
    ctx.say(`SIGKILL ${g.id} (pid ${pid})`);
    return [
      {
        action: 'SIGKILL',
        target: g.id,
        pid,
        at,
        done_at: Date.now(),
        detail: { exit_code: info.code, exit_signal: info.signal },
      },
    ];
  },
  async verify(ctx, v) {
    const s = v.steps[0]!;
    const r = ctx.cluster.redis!;
    const ks = ctx.cluster.ks;
    const drained = await waitFor(async () => (await r.exists(ks.inbox(s.target))) === 0, 20_000, 200);
    const gone = await waitFor(async () => (await r.zscore(ks.instances(), s.target)) === null, 20_000, 200);
    return [
      check('gateway killed', s.detail.exit_signal === 'SIGKILL', exitedBy(s)),
      check(
        'its sessions moved',
        v.serving.affected_sessions > 0 && v.reconnects > 0,
        `${v.serving.affected_sessions} sessions lost their connection, ${v.reconnects} resumes`,
      ),
      check(
        'dead inbox drained by a survivor',
        drained,
        drained ? 'inbox key gone' : 'inbox still exists after 20 s',
      ),
      check(
        'dead instance left the registry',
        gone,
        gone ? 'removed' : `${s.target} still registered after 20 s`,
      ),
    ];
  },
};

// ---- node-kill ----

const nodeKill: Scenario = {
  name: 'node-kill',
  summary: 'SIGKILL one simulated node process while it holds jobs; its jobs are re-dispatched',
  async inject(ctx) {
    const { node, held } = await pickNode(ctx);
    const pid = node.child.pid;
    const at = Date.now();
    node.child.signal('SIGKILL');
    const info = await node.child.exited;
    ctx.say(`SIGKILL ${node.id} (pid ${pid}) holding ${held} jobs`);
    return [
      {
        action: 'SIGKILL',
        target: node.id,
        pid,
        at,
        done_at: Date.now(),
        detail: { held_jobs: held, exit_code: info.code, exit_signal: info.signal },
      },
    ];
  },
  async verify(_ctx, v) {
    const s = v.steps[0]!;
    const held = Number(s.detail.held_jobs);
    const f = v.failover;
    return [
      check('node killed', s.detail.exit_signal === 'SIGKILL', exitedBy(s)),
      check('killed mid-job', held > 0, `${held} jobs held at the kill`),
      check('its jobs failed over', f.detections > 0, `${f.detections} attempts ended (${fmtCauses(f)})`),
      finding(
        'every failed attempt re-dispatched (none ended as missing_result)',
        f.redispatched === f.detections,
        `${f.redispatched} of ${f.detections} re-dispatched`,
      ),
    ];
  },
};

// ---- node-silent ----

const nodeSilent: Scenario = {
  name: 'node-silent',
  summary:
    'one node stops answering but keeps its socket open (SIGUSR2 to sim-main); heartbeat timeout (scope all) or job timeout (scope jobs) fails its jobs over',
  async inject(ctx) {
    const { node, held } = await pickNode(ctx);
    const pid = node.child.pid;
    const at = Date.now();
    node.child.signal('SIGUSR2');
    const seen = await waitFor(() => node.silent, 5000, 10);
    ctx.say(`SIGUSR2 ${node.id} (pid ${pid}, holding ${held} jobs): silent, scope ${ctx.opts.silentScope}`);
    return [
      {
        action: `silence (${ctx.opts.silentScope})`,
        target: node.id,
        pid,
        at,
        done_at: Date.now(),
        detail: { held_jobs: held, confirmed: seen, scope: ctx.opts.silentScope },
      },
    ];
  },
  async verify(ctx, v) {
    const s = v.steps[0]!;
    const f = v.failover;
    const node = ctx.cluster.nodes.find((n) => n.id === s.target)!;
    const checks = [
      check('node went silent', s.detail.confirmed === true, 'sim-main logged "silent"'),
      check('socket kept open', node.child.running, node.child.running ? 'process alive' : 'process exited'),
      check('its jobs failed over', f.detections > 0, `${f.detections} attempts ended (${fmtCauses(f)})`),
      finding(
        'every failed attempt re-dispatched (none ended as missing_result)',
        f.redispatched === f.detections,
        `${f.redispatched} of ${f.detections} re-dispatched`,
      ),
    ];
    if (ctx.opts.silentScope === 'all') {
      const state = await ctx.cluster.nodeState(s.target);
      checks.push(check('declared offline by the heartbeat sweep', state === 'offline', `state ${state}`));
    } else {
      const state = await ctx.cluster.nodeState(s.target);
      checks.push(check('still online (heartbeats continue)', state !== 'offline', `state ${state}`));
      checks.push(
        check(
          'caught by the job timeout',
          (f.by_cause.timed_out ?? 0) > 0,
          `${f.by_cause.timed_out ?? 0} timed out`,
        ),
      );
    }
    return checks;
  },
};

// ---- redis-restart ----

const redisRestart: Scenario = {
  name: 'redis-restart',
  summary: 'SIGKILL the redis-server and start it again on the same AOF; gateways recover without restarting',
  async inject(ctx) {
    const { cluster, opts } = ctx;
    const at = Date.now();
    const pid = await cluster.killRedis();
    ctx.say(`SIGKILL redis-server (pid ${pid})`);
    const notReady = new Set<string>();
    // Stay down at least --redis-down, and until every gateway noticed (bounded).
    await waitFor(
      async () => {
        for (const g of cluster.gateways) if ((await cluster.readyStatus(g.port)) === 503) notReady.add(g.id);
        return notReady.size === cluster.gateways.length && Date.now() - at >= opts.redisDownMs;
      },
      Math.max(opts.redisDownMs, 10_000),
      100,
    );
    if (Date.now() - at < opts.redisDownMs) await sleep(opts.redisDownMs - (Date.now() - at));
    const restartAt = Date.now();
    await cluster.restartRedis();
    ctx.say(`redis-server restarted after ${restartAt - at} ms down`);
    const up = Date.now();
    const ready = await waitFor(
      async () =>
        (await Promise.all(cluster.gateways.map((g) => cluster.readyStatus(g.port)))).every((s) => s === 200),
      30_000,
      50,
    );
    const readyAt = Date.now();
    return [
      {
        action: 'SIGKILL',
        target: 'redis-server',
        pid,
        at,
        done_at: restartAt,
        detail: { gateways_not_ready_seen: [...notReady], down_ms: restartAt - at },
      },
      {
        action: 'restart',
        target: 'redis-server',
        pid: cluster.redisChild?.pid,
        at: restartAt,
        done_at: readyAt,
        detail: {
          redis_answering_after_ms: up - restartAt,
          gateways_ready: ready,
          gateways_ready_after_ms: readyAt - up,
        },
      },
    ];
  },
  async verify(ctx, v) {
    const [kill, restart] = v.steps as [FaultStep, FaultStep];
    const seen = kill.detail.gateways_not_ready_seen as string[];
    const alive = ctx.cluster.gateways.filter((g) => g.child.running).length;
    return [
      check(
        'gateways noticed the outage (/ready 503)',
        seen.length === ctx.cluster.gateways.length,
        `${seen.length} of ${ctx.cluster.gateways.length}`,
      ),
      check(
        'gateways ready again',
        restart.detail.gateways_ready === true,
        `${restart.detail.gateways_ready_after_ms} ms after Redis answered`,
      ),
      check(
        'no gateway restarted',
        alive === ctx.cluster.gateways.length,
        `${alive} of ${ctx.cluster.gateways.length} still running`,
      ),
    ];
  },
};

// ---- rolling-restart ----

const rollingRestart: Scenario = {
  name: 'rolling-restart',
  summary:
    'SIGTERM every gateway in turn (graceful drain), start it again and wait for /ready before the next',
  async inject(ctx) {
    const { cluster } = ctx;
    const steps: FaultStep[] = [];
    const drainBound = Number(cluster.env.LINGUA_DRAIN_TIMEOUT_MS ?? 10_000) + 5000;
    for (const g of cluster.gateways) {
      const pid = g.child.pid;
      const at = Date.now();
      g.child.signal('SIGTERM');
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        g.child.signal('SIGKILL');
      }, drainBound);
      const info = await g.child.exited;
      clearTimeout(timer);
      const exitedAt = Date.now();
      await cluster.restartGateway(g);
      const readyAt = Date.now();
      ctx.say(
        `SIGTERM ${g.id} (pid ${pid}): exited ${info.code ?? info.signal} after ${exitedAt - at} ms, new pid ${g.child.pid} ready after ${readyAt - exitedAt} ms`,
      );
      steps.push({
        action: 'SIGTERM+restart',
        target: g.id,
        pid,
        at,
        done_at: readyAt,
        detail: {
          exit_code: info.code,
          exit_signal: info.signal,
          drain_ms: exitedAt - at,
          restart_ready_ms: readyAt - exitedAt,
          killed_after_bound: killed,
          new_pid: g.child.pid,
        },
      });
    }
    return steps;
  },
  async verify(_ctx, v) {
    const clean = v.steps.filter((s) => s.detail.exit_code === 0).length;
    const timedOut = v.failover.by_cause.timed_out ?? 0;
    return [
      check(
        'every gateway drained and exited 0',
        clean === v.steps.length,
        v.steps.map((s) => `${s.target}: ${exitedBy(s)}`).join('; '),
      ),
      check('sessions moved', v.reconnects > 0, `${v.reconnects} resumes`),
      finding(
        'no job waited for the job timeout (the node hand-off lost no answer)',
        timedOut === 0,
        `${timedOut} attempts timed out`,
      ),
    ];
  },
};

function fmtCauses(f: FailoverStats): string {
  const parts = Object.entries(f.by_cause).map(([k, n]) => `${k} ${n}`);
  return parts.length ? parts.join(', ') : 'none';
}

export const SCENARIO_TABLE: Record<ScenarioName, Scenario> = {
  'gateway-kill': gatewayKill,
  'node-kill': nodeKill,
  'node-silent': nodeSilent,
  'redis-restart': redisRestart,
  'rolling-restart': rollingRestart,
  'sentinel-failover': sentinelFailover,
  'cluster-failover': clusterFailover,
  'node-restart': nodeRestart,
  reshard,
  'model-loss': modelLoss,
  room,
};
