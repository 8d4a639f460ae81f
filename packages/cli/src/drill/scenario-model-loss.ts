/**
 * `lingua drill model-loss` (protocol v1.7): under load, one node starts answering
 * MODEL_NOT_AVAILABLE for the load's pair (SIGHUP to sim-main --lose-model zh:en). Proof: every
 * utterance still gets exactly one outcome (the drill's invariants), the node leaves the pool,
 * no job of the pair is dispatched to it until it reports the model again (SIGHUP), and then it
 * rejoins. The failover p99 (MODEL_NOT_AVAILABLE → re-dispatch) is a latency target.
 */
import { LIVE_STATES } from '@lingua/cluster';
import { sleep } from '../net';
import type { Check, FaultStep, Scenario } from './scenarios';
import { pickNode, waitFor } from './scenarios';

/** The events that end an attempt without a result (their `since` is the attempt's dispatch). */
const ATTEMPT_FAILED = new Set(['timed_out', 'node_lost', 'failed']);

const PAIR = 'zh:en';
/** How long the pair stays lost: long enough to see that nothing of it reaches the node. */
const HOLD_MS = 2000;

const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail });
const finding = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail, warning: true });

export const modelLoss: Scenario = {
  name: 'model-loss',
  summary: `one node answers MODEL_NOT_AVAILABLE for ${PAIR} (SIGHUP to sim-main --lose-model), then reports the model again: it leaves the pool and rejoins; its jobs fail over at once`,
  async inject(ctx) {
    const { cluster } = ctx;
    const { node, held } = await pickNode(ctx);
    const lostModels = async () => (await cluster.redis!.hget(cluster.ks.node(node.id), 'mlost')) ?? '';
    const at = Date.now();
    node.child.signal('SIGHUP');
    const confirmed = await waitFor(() => node.modelLost === true, 5000, 10);
    // The node leaves the pool when it answers its next job of the pair (affinity sends it one soon).
    const removed = await waitFor(async () => (await lostModels()).split(',').includes(PAIR), 10_000, 20);
    const removedAt = Date.now();
    ctx.say(
      `SIGHUP ${node.id}: lost ${PAIR}; ${removed ? `out of the pool after ${removedAt - at} ms` : 'still in the pool'}`,
    );
    await sleep(HOLD_MS);
    const restoreAt = Date.now();
    node.child.signal('SIGHUP');
    const restored = await waitFor(() => node.modelLost === false, 5000, 10);
    const rejoined = await waitFor(async () => !(await lostModels()).split(',').includes(PAIR), 10_000, 20);
    const rejoinedAt = Date.now();
    ctx.say(
      `SIGHUP ${node.id}: ${PAIR} back; ${rejoined ? `rejoined after ${rejoinedAt - restoreAt} ms` : 'not rejoined'}`,
    );
    const steps: FaultStep[] = [
      {
        action: `lose model ${PAIR}`,
        target: node.id,
        pid: node.child.pid,
        at,
        done_at: removedAt,
        detail: { held_jobs: held, confirmed, removed, removed_after_ms: removedAt - at },
      },
      {
        action: `restore model ${PAIR}`,
        target: node.id,
        pid: node.child.pid,
        at: restoreAt,
        done_at: rejoinedAt,
        detail: { confirmed: restored, rejoined, rejoined_after_ms: rejoinedAt - restoreAt },
      },
    ];
    return steps;
  },
  async verify(_ctx, v) {
    const [lost, back] = v.steps as [FaultStep, FaultStep];
    const f = v.failover;
    // Removal is seen by polling, so it happened at or before done_at: count from there.
    // A first attempt dispatched at once records no event, but one sent to this node then fails
    // (the node answers MODEL_NOT_AVAILABLE), and that failure carries its dispatch time.
    const sentAt = (e: (typeof v.events)[number]) =>
      e.to === 'dispatched'
        ? e.ts
        : ATTEMPT_FAILED.has(e.to) && LIVE_STATES.includes(e.from as never)
          ? e.since
          : 0;
    const strays = v.events.filter(
      (e) => e.node === lost.target && sentAt(e) > lost.done_at && sentAt(e) < back.at,
    );
    const byCause = Object.entries(f.by_cause)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    return [
      check('the node lost the model', lost.detail.confirmed === true, 'sim-main logged "model lost"'),
      check(
        `the node left the ${PAIR} pool`,
        lost.detail.removed === true,
        `after ${lost.detail.removed_after_ms} ms`,
      ),
      check(
        'its failed attempts failed over',
        f.detections > 0,
        `${f.detections} attempts ended (${byCause || 'none'})`,
      ),
      check(
        `no job of ${PAIR} dispatched to it until it reported the model again`,
        strays.length === 0,
        strays.length
          ? `${strays.length} dispatched, first ${strays[0]!.job}`
          : `none in ${back.at - lost.done_at} ms`,
      ),
      check(
        'it rejoined the pool once its heartbeat listed the model',
        back.detail.rejoined === true,
        `after ${back.detail.rejoined_after_ms} ms`,
      ),
      finding(
        'every failed attempt re-dispatched (none ended as missing_result)',
        f.redispatched === f.detections,
        `${f.redispatched} of ${f.detections} re-dispatched`,
      ),
    ];
  },
};
