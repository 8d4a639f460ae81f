/**
 * Where an envelope goes when its target connection is not on the instance that holds it
 * (the socket moved, or that instance died): to the target's current owner if that owner is
 * alive, otherwise into the job lifecycle (a lost assignment fails over) or nowhere (an outcome
 * is already in the session's result log and is replayed on resume).
 */
import {
  type Envelope,
  type InboxBus,
  type JobStore,
  type Keyspace,
  Presence,
  type RedisClient,
} from '@lingua/cluster';
import type { JobLifecycle } from './job-lifecycle';

export type RerouteResult = 'forwarded' | 'failed_over' | 'dropped';

export class Rerouter {
  constructor(
    private readonly redis: RedisClient,
    private readonly ks: Keyspace,
    private readonly store: JobStore,
    private readonly inbox: InboxBus,
    private readonly lifecycle: JobLifecycle,
    private readonly now: () => number = Date.now,
  ) {}

  /** `from`: the instance the envelope was addressed to (never forwarded back there). */
  async reroute(env: Envelope, from: string): Promise<RerouteResult> {
    switch (env.t) {
      case 'assign': {
        const [owner, state] = await this.redis.hmget(this.ks.node(env.nodeId), 'instance', 'state');
        if (
          owner &&
          owner !== from &&
          state !== 'offline' &&
          (await Presence.isAlive(this.redis, this.ks, owner))
        ) {
          await this.inbox.send(owner, env);
          return 'forwarded';
        }
        await this.lifecycle.onAttemptFailed(
          env.job.job_id,
          env.job.attempt,
          env.nodeId,
          'node_lost',
          true,
          this.now(),
        );
        return 'failed_over';
      }
      case 'outcome': {
        const sess = await this.store.getSession(env.sessionId);
        const owner = sess?.owner ?? '';
        if (owner && owner !== from && (await Presence.isAlive(this.redis, this.ks, owner))) {
          await this.inbox.send(owner, env);
          return 'forwarded';
        }
        return 'dropped';
      }
      case 'kick-node':
        return 'dropped'; // its instance is gone, and so is the connection it was meant for
      case 'cancel': {
        const owner = await this.redis.hget(this.ks.node(env.nodeId), 'instance');
        if (owner && owner !== from && (await Presence.isAlive(this.redis, this.ks, owner))) {
          await this.inbox.send(owner, env);
          return 'forwarded';
        }
        return 'dropped';
      }
      default:
        return 'dropped';
    }
  }
}
