/**
 * Periodic sweeps as bullmq job schedulers: each tick produces one bullmq job, so exactly one
 * instance runs it, whichever is free. Every sweep is bounded per tick.
 *  - reap-nodes:  nodes past the heartbeat timeout → node_offline, their jobs fail over; also
 *                 offline nodes whose failover was left unfinished (its process died)
 *  - reap-leases: slot reservations never confirmed (caller died mid-dispatch) → released
 *  - drain-instances: an instance whose presence expired → its inbox re-routed by one
 *    survivor under a lock, undecodable entries dead-lettered; then it leaves the registry
 *    (also on a plain timer in every instance: see startDrainTimer)
 *  - forget-nodes: nodes offline longer than LINGUA_NODE_FORGET_MS are deleted, and pair
 *    hints no cell serves any more are removed (state outsiders create stays bounded)
 */
import {
  DLQ_CAPACITY,
  decode,
  type Envelope,
  ensureGroup,
  entryEnvelopes,
  forgetOfflineNodes,
  INBOX_GROUP,
  type Keyspace,
  Presence,
  pruneEmptyPairHints,
  type RedisClient,
  reapLeases,
  reapStaleNodes,
  runScript,
  SCRIPTS,
} from '@lingua/cluster';
import { type Job, Queue, Worker } from 'bullmq';
import type { JobLifecycle, LifecycleLogger } from './job-lifecycle';
import type { Rerouter } from './reroute';

export const SWEEP_QUEUE = 'sweeps';
export const SWEEPS = ['reap-nodes', 'reap-leases', 'drain-instances', 'forget-nodes'] as const;
export type SweepName = (typeof SWEEPS)[number];

export interface SweepsOptions {
  connection: RedisClient;
  prefix: string;
  intervalMs: number;
  nodeHeartbeatTimeoutMs: number;
  /** offline nodes are forgotten after this long (default 1 h) */
  nodeForgetMs?: number;
  /** an offline node's reservations not failed over this long after it went offline are redone */
  lostNodeGraceMs?: number;
  instanceId: string;
  batch?: number;
  /** dead-inbox entries read per page / re-routed in parallel (defaults 200 / 32) */
  drainPage?: number;
  drainConcurrency?: number;
  /** how long a retired instance's inbox is still watched for late writes (default 10 min) */
  retiredGraceMs?: number;
  /** DLQ capacity for undecodable entries of a dead inbox */
  dlqCapacity?: number;
  onNodeOffline?: (nodeId: string, jobs: number) => void;
  onInstanceDrained?: (instanceId: string, entries: number) => void;
}

export class Sweeps {
  private queue: Queue | undefined;
  private worker: Worker | undefined;
  private drainTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly ks: Keyspace,
    private readonly lifecycle: JobLifecycle,
    private readonly rerouter: Rerouter,
    private readonly log: LifecycleLogger,
    private readonly opts: SweepsOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async start(onError: (err: unknown) => void): Promise<void> {
    this.queue = new Queue(SWEEP_QUEUE, { connection: this.opts.connection, prefix: this.opts.prefix });
    this.queue.on('error', onError);
    for (const name of SWEEPS) {
      await this.queue.upsertJobScheduler(
        name,
        { every: this.opts.intervalMs },
        { name, opts: { removeOnComplete: true, removeOnFail: 100 } },
      );
    }
    this.worker = new Worker(SWEEP_QUEUE, async (job: Job) => this.run(job.name as SweepName), {
      connection: this.opts.connection,
      prefix: this.opts.prefix,
      concurrency: SWEEPS.length, // one slow sweep never delays the others
    });
    this.worker.on('error', onError);
    this.startDrainTimer(onError);
  }

  async close(): Promise<void> {
    if (this.drainTimer) clearInterval(this.drainTimer);
    await this.worker?.close();
    await this.queue?.close();
  }

  async run(name: SweepName): Promise<number> {
    switch (name) {
      case 'reap-nodes':
        return this.reapNodes();
      case 'reap-leases':
        return this.reapLeases();
      case 'drain-instances':
        return this.drainDeadInstances();
      case 'forget-nodes':
        return this.forgetNodes();
    }
  }

  async forgetNodes(): Promise<number> {
    let n = 0;
    for (let cell = 0; cell < this.ks.cells; cell++) {
      const ids = await forgetOfflineNodes(this.redis, this.ks, {
        cell,
        now: this.now(),
        forgetMs: this.opts.nodeForgetMs ?? 3_600_000,
      });
      n += ids.length;
      if (ids.length) this.log.info({ cell, nodes: ids.length }, 'forgot nodes offline for too long');
    }
    const pairs = await pruneEmptyPairHints(this.redis, this.ks);
    if (pairs.length) this.log.info({ pairs: pairs.length }, 'removed hints of pairs nobody serves');
    return n;
  }

  async reapNodes(): Promise<number> {
    let n = 0;
    const now = this.now();
    for (let cell = 0; cell < this.ks.cells; cell++) {
      const stale = await reapStaleNodes(this.redis, this.ks, {
        cell,
        now,
        timeoutMs: this.opts.nodeHeartbeatTimeoutMs,
        limit: this.opts.batch ?? 100,
        graceMs: this.opts.lostNodeGraceMs,
      });
      for (const node of stale) {
        n++;
        if (node.kind === 'stale') {
          this.log.info(
            { node: node.nodeId, jobs: node.reservations.length },
            'node missed heartbeats: offline',
          );
          this.opts.onNodeOffline?.(node.nodeId, node.reservations.length);
        } else {
          // Whoever took it offline died before failing its jobs over.
          this.log.info(
            { node: node.nodeId, jobs: node.reservations.length },
            'offline node still held jobs',
          );
        }
        for (const r of node.reservations) {
          await this.lifecycle.onAttemptFailed(r.jobId, r.attempt, node.nodeId, 'node_lost', true, now);
        }
      }
    }
    return n;
  }

  async reapLeases(): Promise<number> {
    let n = 0;
    for (let cell = 0; cell < this.ks.cells; cell++) {
      const reaped = await reapLeases(this.redis, this.ks, {
        cell,
        now: this.now(),
        limit: this.opts.batch ?? 100,
      });
      n += reaped.length;
      if (reaped.length) this.log.info({ cell, leases: reaped.length }, 'released expired slot leases');
    }
    return n;
  }

  async drainDeadInstances(): Promise<number> {
    let total = 0;
    for (const inst of await Presence.list(this.redis, this.ks)) {
      if (inst.alive || inst.id === this.opts.instanceId) continue;
      total += await this.drainInstance(inst.id);
    }
    total += await this.drainRetired();
    return total;
  }

  /**
   * A writer that still took a retired instance for the owner of a session or node (its record
   * not updated yet) XADDs to the deleted inbox and re-creates it. For a grace after the
   * retirement such late inboxes are drained again, so nothing sits in an inbox nobody reads.
   */
  async drainRetired(): Promise<number> {
    const key = this.ks.retiredInstances();
    const graceMs = this.opts.retiredGraceMs ?? 10 * 60_000;
    await this.redis.zremrangebyscore(key, '-inf', this.now() - graceMs);
    let total = 0;
    for (const id of await this.redis.zrange(key, 0, 999)) {
      if (id === this.opts.instanceId) continue;
      if ((await this.redis.exists(this.ks.inbox(id))) === 0) continue;
      // Came back under the same id (restart): its inbox is live again, not late.
      if (await Presence.isAlive(this.redis, this.ks, id)) {
        await this.redis.zrem(key, id);
        continue;
      }
      total += await this.drainInstance(id, true);
    }
    return total;
  }

  /**
   * Every instance also looks for dead instances on its own timer (not only through the bullmq
   * scheduler, whose ticks queue behind the other sweeps and bullmq's own delays under load):
   * the drain lock keeps it to one drainer per dead instance, so a dead inbox starts draining
   * within one interval of its presence expiring, on whichever survivor is least busy.
   */
  startDrainTimer(onError: (err: unknown) => void): void {
    let running = false;
    this.drainTimer = setInterval(() => {
      if (running) return;
      running = true;
      this.drainDeadInstances()
        .catch(onError)
        .finally(() => {
          running = false;
        });
    }, this.opts.intervalMs);
    this.drainTimer.unref();
  }

  /**
   * Re-routes every entry of a dead instance's inbox under a lock (one survivor at a time), a
   * page at a time with the entries of a page in parallel (each is independent: the Rerouter
   * forwards it or fails its job over; outcomes are ordered by the receiving session), acked in
   * one script per page. The lock is short and renewed per page, so a drainer that dies holds
   * others off for one lease only. Once a pass leaves the inbox empty it is deleted atomically
   * (lua/inbox-retire-1.lua) and the instance leaves the registry.
   */
  async drainInstance(dead: string, retired = false): Promise<number> {
    const lock = this.ks.drainLock(dead);
    const leaseMs = Math.max(2000, this.opts.intervalMs * 10);
    const got = await this.redis.set(lock, this.opts.instanceId, 'PX', leaseMs, 'NX');
    if (!got) return 0;
    const started = this.now();
    const inbox = this.ks.inbox(dead);
    // A re-created (late) inbox has no consumer group; inboxAck needs one.
    if (retired) await ensureGroup(this.redis, inbox, INBOX_GROUP);
    const page = this.opts.drainPage ?? 200;
    let moved = 0;
    let cursor = '-';
    try {
      for (let round = 0; round < 200; round++) {
        const entries = (await this.redis.xrangeBuffer(inbox, cursor, '+', 'COUNT', page)) as [
          Buffer,
          Buffer[],
        ][];
        if (!entries.length) break;
        cursor = `(${entries[entries.length - 1]![0].toString()}`;
        const acks: string[] = [];
        await mapLimit(entries, this.opts.drainConcurrency ?? 32, async ([idBuf, fields]) => {
          const id = idBuf.toString();
          // One envelope (`m`) or a batch of them (`b`, inbox.ts): all decodable, or a dead letter.
          let envs: Envelope[] | null = null;
          try {
            envs = entryEnvelopes(fields)?.map((raw) => decode<Envelope>(raw)) ?? null;
          } catch {
            envs = null;
          }
          if (!envs) {
            const r = await runScript(
              this.redis,
              SCRIPTS.inboxDeadLetter,
              [inbox, this.ks.dlq(dead)],
              [
                INBOX_GROUP,
                id,
                'undecodable entry in a dead instance inbox',
                0,
                this.now(),
                this.opts.dlqCapacity ?? DLQ_CAPACITY,
                '',
              ],
            );
            if (r === 'full') return; // stays in the inbox; the instance stays registered
            await this.redis.sadd(this.ks.dlqIndex(), dead);
          } else {
            for (const env of envs) if (env.t !== 'probe') await this.rerouter.reroute(env, dead);
            acks.push(id);
          }
          moved++;
        });
        for (let i = 0; i < acks.length; i += 1000) {
          await runScript(this.redis, SCRIPTS.inboxAck, [inbox], [INBOX_GROUP, ...acks.slice(i, i + 1000)]);
        }
        await this.redis.pexpire(lock, leaseMs);
      }
      if ((await runScript(this.redis, SCRIPTS.inboxRetire, [inbox], [])) === 1) {
        await this.redis.zadd(this.ks.retiredInstances(), this.now(), dead);
        // Only the drainer that removed it reports it (a second pass finds it gone).
        if ((await this.redis.zrem(this.ks.instances(), dead)) === 1 || (retired && moved > 0)) {
          const ms = this.now() - started;
          this.log.info(
            { dead, entries: moved, drain_ms: ms, late: retired },
            retired ? 'drained late entries of a retired instance' : 'drained the inbox of a dead instance',
          );
          this.opts.onInstanceDrained?.(dead, moved);
        }
      }
    } finally {
      if ((await this.redis.get(lock)) === this.opts.instanceId) await this.redis.del(lock);
    }
    return moved;
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}
