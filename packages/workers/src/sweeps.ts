/**
 * Periodic sweeps as bullmq job schedulers: each tick produces one bullmq job, so exactly one
 * instance runs it, whichever is free. Every sweep is bounded per tick.
 *  - reap-nodes:  nodes past the heartbeat timeout → node_offline, their jobs fail over; also
 *                 offline nodes whose failover was left unfinished (its process died)
 *  - reap-leases: slot reservations never confirmed (caller died mid-dispatch) → released
 *  - drain-instances: an instance whose presence expired → its inbox re-routed by one
 *    survivor under a lock, undecodable entries dead-lettered; then it leaves the registry
 */
import {
  decode,
  type Envelope,
  INBOX_GROUP,
  type Keyspace,
  Presence,
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
export const SWEEPS = ['reap-nodes', 'reap-leases', 'drain-instances'] as const;
export type SweepName = (typeof SWEEPS)[number];

export interface SweepsOptions {
  connection: RedisClient;
  prefix: string;
  intervalMs: number;
  nodeHeartbeatTimeoutMs: number;
  /** an offline node's reservations not failed over this long after it went offline are redone */
  lostNodeGraceMs?: number;
  instanceId: string;
  batch?: number;
  onNodeOffline?: (nodeId: string, jobs: number) => void;
  onInstanceDrained?: (instanceId: string, entries: number) => void;
}

export class Sweeps {
  private queue: Queue | undefined;
  private worker: Worker | undefined;

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
      concurrency: 3,
    });
    this.worker.on('error', onError);
  }

  async close(): Promise<void> {
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
    }
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
    return total;
  }

  /** Re-routes every entry of a dead instance's inbox (under a lock: one survivor at a time). */
  async drainInstance(dead: string): Promise<number> {
    const lock = this.ks.drainLock(dead);
    const got = await this.redis.set(lock, this.opts.instanceId, 'PX', 30_000, 'NX');
    if (!got) return 0;
    const inbox = this.ks.inbox(dead);
    let moved = 0;
    try {
      for (let round = 0; round < 50; round++) {
        const entries = (await this.redis.xrangeBuffer(inbox, '-', '+', 'COUNT', 200)) as [
          Buffer,
          Buffer[],
        ][];
        if (!entries.length) break;
        for (const [idBuf, fields] of entries) {
          const id = idBuf.toString();
          const raw = fields[fields.findIndex((f) => f.toString() === 'm') + 1];
          let env: Envelope | null = null;
          try {
            env = raw ? decode<Envelope>(raw) : null;
          } catch {
            env = null;
          }
          if (!env) {
            await runScript(
              this.redis,
              SCRIPTS.inboxDeadLetter,
              [inbox, this.ks.dlq(dead)],
              [INBOX_GROUP, id, 'undecodable entry in a dead instance inbox', 0, this.now(), 100_000],
            );
            await this.redis.sadd(this.ks.dlqIndex(), dead);
          } else {
            if (env.t !== 'probe') await this.rerouter.reroute(env, dead);
            await runScript(this.redis, SCRIPTS.inboxAck, [inbox], [INBOX_GROUP, id]);
          }
          moved++;
        }
      }
      if ((await this.redis.xlen(inbox)) === 0) {
        await this.redis.del(inbox);
        await this.redis.zrem(this.ks.instances(), dead);
        this.log.info({ dead, entries: moved }, 'drained the inbox of a dead instance');
        this.opts.onInstanceDrained?.(dead, moved);
      }
    } finally {
      if ((await this.redis.get(lock)) === this.opts.instanceId) await this.redis.del(lock);
    }
    return moved;
  }
}
