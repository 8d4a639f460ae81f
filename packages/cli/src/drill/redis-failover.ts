/**
 * Redis failover drills on the drill's own replicated Redis (redis-local.ts):
 *  - `sentinel-failover`: primary + replica + 3 sentinels; SIGKILL the primary under load, the
 *    sentinels promote the replica and every connection follows (`redis+sentinel://`). With
 *    `--replica-lag` (default 1 s) the replica is stopped (SIGSTOP) and its replication link cut
 *    for that long before the kill and continued right after, so the writes of that window exist only on the killed
 *    primary: asynchronous replication loses them *deterministically* (job hashes, result log
 *    entries, inbox entries, session updates). What must hold: serving again within 10 s, and
 *    every accepted utterance still gets exactly one outcome: a lost job surfaces as
 *    `missing_result` (the gateways' loss audit), never as silence.
 *  - `cluster-failover`: 3 masters with a replica each; SIGKILL the master holding the most
 *    keys, its replica takes over its slots. Every accepted utterance gets exactly one
 *    outcome; the outage the clients saw is reported.
 */
import { type LocalRedis, redisCli } from '../redis-local';
import type { Check, FaultStep, Scenario, ScenarioContext } from './scenarios';

const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail });
const finding = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail, warning: true });

/** The drill's target for "serving again" after a Sentinel failover (issue 10). */
export const SENTINEL_SERVING_AGAIN_MS = 10_000;

function local(ctx: ScenarioContext): LocalRedis {
  const r = ctx.cluster.localRedis;
  if (!r) throw new Error('this drill needs the drill’s own replicated Redis (drop --redis)');
  return r;
}

/** Sum of a counter over every running gateway's /metrics. */
async function sumMetric(ctx: ScenarioContext, name: string): Promise<number> {
  let total = 0;
  for (const g of ctx.cluster.gateways) {
    const text = await ctx.cluster.metricsText(g.port);
    for (const line of text?.split('\n') ?? []) {
      if (line.startsWith(name) && (line[name.length] === '{' || line[name.length] === ' ')) {
        total += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
      }
    }
  }
  return total;
}

export const sentinelFailover: Scenario = {
  name: 'sentinel-failover',
  summary:
    'SIGKILL the Sentinel-monitored primary (its replica stopped for --replica-lag first, so writes are lost); the replica is promoted; lost jobs are answered missing_result',
  async inject(ctx) {
    const r = local(ctx);
    const oldPort = await r.sentinelPrimaryPort();
    const primary = r.byPort(oldPort)!;
    const replica = r.dataNodes.find((p) => p.port !== oldPort && p.child.running);
    const lagMs = ctx.opts.replicaLagMs;
    let pausedAt = 0;
    if (replica && lagMs > 0) {
      pausedAt = Date.now();
      r.pause(replica);
      // Cut the replication link too: otherwise the kernel keeps buffering the stream for the
      // stopped replica and it catches up on SIGCONT. Now it can only reconnect after SIGCONT,
      // when the primary is already dead: the window's writes exist nowhere else.
      await redisCli(oldPort, 'CLIENT', 'KILL', 'TYPE', 'replica');
      ctx.say(
        `SIGSTOP ${replica.name} (:${replica.port}) and cut its link for ${lagMs} ms: its copy falls behind`,
      );
      await new Promise((res) => setTimeout(res, lagMs));
    }
    const pid = primary.child.pid;
    const at = Date.now();
    await r.kill(primary);
    if (replica && pausedAt) r.resume(replica);
    ctx.say(`SIGKILL ${primary.name} (:${oldPort}, pid ${pid})`);
    const newPort = await r.waitSentinelFailover(oldPort);
    const promotedAt = Date.now();
    ctx.say(`sentinels promoted :${newPort} after ${promotedAt - at} ms`);
    return [
      {
        action: 'SIGKILL',
        target: primary.name,
        pid,
        at,
        done_at: promotedAt,
        detail: {
          old_primary: oldPort,
          new_primary: newPort,
          promoted_after_ms: promotedAt - at,
          replica_paused_ms: pausedAt ? at - pausedAt : 0,
        },
      },
    ];
  },
  async verify(ctx, v) {
    const s = v.steps[0]!;
    const serving = v.serving.all_max_ms;
    const lost = await sumMetric(ctx, 'lingua_lost_jobs_total');
    return [
      check('primary killed', s.detail.new_primary !== undefined, `:${s.detail.old_primary} SIGKILLed`),
      check(
        'a replica promoted by the sentinels',
        Number(s.detail.new_primary) > 0 && s.detail.new_primary !== s.detail.old_primary,
        `:${s.detail.new_primary} after ${s.detail.promoted_after_ms} ms`,
      ),
      check(
        'every session served again',
        serving !== null,
        serving === null
          ? `${v.serving.not_recovered} sessions never served again`
          : `max ${serving} ms after the kill`,
      ),
      // The 10 s bound is a latency target (targets[]: fails only with --strict), as for every
      // drill: on a saturated machine it measures the machine, not the failover.
      finding(
        `every session serving again within ${SENTINEL_SERVING_AGAIN_MS / 1000} s`,
        serving !== null && serving <= SENTINEL_SERVING_AGAIN_MS,
        serving === null ? 'n/a' : `max ${serving} ms after the kill`,
      ),
      ctx.opts.replicaLagMs > 0
        ? check(
            'writes lost by replication were detected and answered (lingua_lost_jobs_total)',
            lost > 0,
            `${lost} accepted utterances Redis lost answered missing_result (loss audit + resume)`,
          )
        : finding('lost writes answered (lingua_lost_jobs_total)', true, `${lost}`),
    ];
  },
};

export const clusterFailover: Scenario = {
  name: 'cluster-failover',
  summary: 'SIGKILL a Redis Cluster master (the one holding most keys); its replica takes over its slots',
  async inject(ctx) {
    const r = local(ctx);
    const any = r.dataNodes.find((p) => p.child.running)!;
    const masters = await r.clusterTopology(any.port);
    let target = masters[0]!;
    if (ctx.opts.target) {
      const m = masters.find(
        (x) => String(x.port) === ctx.opts.target || r.byPort(x.port)?.name === ctx.opts.target,
      );
      if (!m)
        throw new Error(`no master ${ctx.opts.target} (masters: ${masters.map((x) => x.port).join(', ')})`);
      target = m;
    } else {
      let most = -1;
      for (const m of masters) {
        const n = Number(await redisCli(m.port, 'DBSIZE'));
        if (n > most) {
          most = n;
          target = m;
        }
      }
    }
    const proc = r.byPort(target.port)!;
    const pid = proc.child.pid;
    const at = Date.now();
    await r.kill(proc);
    ctx.say(`SIGKILL master ${proc.name} (:${target.port}, ${target.slots} slots, pid ${pid})`);
    const promoted = await r.waitClusterFailover(target.port, target.replicas);
    const promotedAt = Date.now();
    ctx.say(`replica :${promoted} took over after ${promotedAt - at} ms`);
    const step: FaultStep = {
      action: 'SIGKILL',
      target: proc.name,
      pid,
      at,
      done_at: promotedAt,
      detail: {
        master: target.port,
        slots: target.slots,
        promoted,
        promoted_after_ms: promotedAt - at,
      },
    };
    return [step];
  },
  async verify(ctx, v) {
    const s = v.steps[0]!;
    const inflight = v.serving;
    return [
      check('master killed', true, `:${s.detail.master} (${s.detail.slots} slots)`),
      check(
        'its replica took over its slots',
        Number(s.detail.promoted) > 0,
        `:${s.detail.promoted} after ${s.detail.promoted_after_ms} ms`,
      ),
      check(
        'every session served again',
        inflight.not_recovered === 0,
        inflight.all_max_ms === null
          ? `${inflight.not_recovered} sessions never served again`
          : `outage seen by clients: max ${inflight.all_max_ms} ms after the kill`,
      ),
      finding(
        'jobs lost in the failover answered by the loss audit (lingua_lost_jobs_total)',
        true,
        `${await sumMetric(ctx, 'lingua_lost_jobs_total')} lost jobs answered missing_result`,
      ),
    ];
  },
};
