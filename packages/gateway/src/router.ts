/**
 * The inbox handler: delivers envelopes to this instance's own sockets. Whatever is addressed
 * to a connection that is not here any more goes to the Rerouter (its new owner, failover, or
 * the result log's replay on resume).
 */
import { type Envelope, Presence, parseLaneId } from '@lingua/cluster';
import type { Rerouter } from '@lingua/workers';
import type { GatewayContext } from './context';

export function createInboxHandler(
  ctx: GatewayContext,
  rerouter: Rerouter,
): (env: Envelope) => Promise<void> {
  const self = ctx.cfg.instanceId;
  return async (env) => {
    switch (env.t) {
      case 'assign': {
        const node = ctx.nodes.get(env.nodeId);
        if (node?.sendAssign(env.job)) {
          ctx.metrics.jobsDispatched.inc({ kind: env.job.attempt > 1 ? 'failover' : 'initial' });
          ctx.metrics.dispatchSeconds.observe(Math.max(0, ctx.now() - env.job.finalized_at) / 1000);
          return;
        }
        await rerouter.reroute(env, self);
        return;
      }
      case 'cancel': {
        const node = ctx.nodes.get(env.nodeId);
        if (node) node.sendCancel(env.jobId, env.attempt, env.reason);
        else await rerouter.reroute(env, self);
        return;
      }
      case 'outcome': {
        const actor = ctx.sessions.get(env.sessionId);
        const lane = actor ? null : parseLaneId(env.sessionId);
        if (lane) {
          // A room fan-out job's outcome: its speaker pushes it to the listeners. Without the
          // speaker here the listeners find it in the lane's result log (room-seat.ts).
          ctx.sessions.get(lane.speaker)?.onLaneOutcome(lane.lang, env.outcome);
          return;
        }
        if (actor) {
          actor.onOutcome(env.outcome);
          if (env.outcome.kind === 'result') {
            ctx.metrics.e2eSeconds.observe(env.outcome.result.timings.total_ms / 1000);
          }
          return;
        }
        await rerouter.reroute(env, self);
        return;
      }
      case 'partial':
        // Best effort: a session that moved meanwhile (resume) misses it; its final result
        // is logged and replayed.
        ctx.sessions.get(env.sessionId)?.onPartial(env);
        return;
      case 'kick': {
        const actor = ctx.sessions.get(env.sessionId);
        if (actor && actor.conn === env.conn) actor.kick();
        return;
      }
      case 'kick-node': {
        // The node registered on another instance: an older socket of it here (half-open, or
        // not yet closed) must stop getting jobs. Its jobs were reconciled by that registration.
        const node = ctx.nodes.get(env.nodeId);
        if (node?.registeredWith(env.epoch)) node.replaced();
        return;
      }
      case 'probe':
        return;
      case 'room-outcome':
      case 'room-member': {
        const actor = ctx.sessions.get(env.to);
        if (actor) {
          actor.onRoomEnvelope(env);
          return;
        }
        // The listener moved (resume): forward once to its owner; else it finds the outcome
        // in the lane's result log.
        if (env.t === 'room-member') return;
        const owner = (await ctx.store.getSession(env.to))?.owner ?? '';
        if (owner && owner !== self && (await Presence.isAlive(ctx.redis, ctx.ks, owner))) {
          await ctx.inbox.send(owner, env);
        }
        return;
      }
    }
  };
}
