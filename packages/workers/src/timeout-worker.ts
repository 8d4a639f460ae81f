/**
 * Timeout worker: every instance polls every shard's deadline index; `job-claim-due` hands each
 * due job to exactly one claimer (with a short lease, so a claimer that dies leaves it to the
 * next). Live attempts past their deadline are timed out (best-effort `job_cancel` to the old
 * node) and handed to failover; dispatched attempts their node never confirmed get their
 * assignment again; waiting jobs are re-dispatched (a lost hand-off to the failover queue costs
 * seconds) and fail explicitly past their overall deadline.
 */
import type { DueJob, JobStore, Keyspace } from '@lingua/cluster';
import type { JobLifecycle, LifecycleLogger } from './job-lifecycle';

export interface TimeoutWorkerOptions {
  pollMs: number;
  batch?: number;
  /** a claimed job not handled within this is claimed again (its claimer died) */
  claimLeaseMs?: number;
}

export class TimeoutWorker {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly ks: Keyspace,
    private readonly store: JobStore,
    private readonly lifecycle: JobLifecycle,
    private readonly log: LifecycleLogger,
    private readonly opts: TimeoutWorkerOptions,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass over every shard; returns how many due jobs it handled. */
  async tick(): Promise<number> {
    if (this.busy) return 0;
    this.busy = true;
    let handled = 0;
    try {
      for (let shard = 0; shard < this.ks.shards; shard++) {
        const now = this.now();
        const due = await this.store.claimDue(
          shard,
          now,
          this.opts.batch ?? 100,
          this.opts.claimLeaseMs ?? 1000,
        );
        handled += due.length;
        // Independent jobs: handled concurrently (each is its own CAS chain).
        await Promise.all(due.map((d) => this.handle(d, now)));
      }
    } catch (err) {
      this.log.warn({ err }, 'timeout poll failed');
    } finally {
      this.busy = false;
    }
    return handled;
  }

  private async handle(d: DueJob, now: number): Promise<void> {
    try {
      if (d.kind === 'check') {
        // The node never confirmed this attempt: send it again (the dispatcher may have died).
        if (d.state === 'dispatched') await this.lifecycle.resendAssign(d.jobId, d.attempt);
      } else if (d.state === 'dispatched' || d.state === 'accepted' || d.state === 'running') {
        const r = await this.lifecycle.onAttemptFailed(d.jobId, d.attempt, d.node, 'timed_out', true, now);
        if (r !== 'stale' && d.node) await this.lifecycle.cancel(d.node, d.jobId, d.attempt, 'timeout');
      } else if (d.state === 'created' || d.state === 'retrying') {
        // Waiting for a node: the failover queue may have lost it (its enqueuer died), or the
        // overall deadline passed. Re-dispatch now; without a free node, back to the queue.
        const r = await this.lifecycle.redispatch(d.jobId, d.attempt, now);
        if (r === 'wait') await this.lifecycle.failover?.enqueue(d.jobId, d.attempt, now, 0);
      }
    } catch (err) {
      this.log.warn(
        { err, job: d.jobId },
        'timeout handling failed; the claim lease expires and it is retried',
      );
    }
  }
}
