/**
 * Timeout worker: every instance polls every shard's deadline index; `job-claim-due` hands each
 * due job to exactly one claimer (with a short lease, so a claimer that dies leaves it to the
 * next). Live attempts past their deadline are timed out (best-effort `job_cancel` to the old
 * node) and handed to failover; waiting jobs past their overall deadline fail explicitly.
 */
import type { JobStore, Keyspace } from '@lingua/cluster';
import type { JobLifecycle, LifecycleLogger } from './job-lifecycle';

export interface TimeoutWorkerOptions {
  pollMs: number;
  batch?: number;
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
          this.opts.claimLeaseMs ?? 5000,
        );
        for (const d of due) {
          handled++;
          try {
            if (d.state === 'dispatched' || d.state === 'accepted' || d.state === 'running') {
              const r = await this.lifecycle.onAttemptFailed(
                d.jobId,
                d.attempt,
                d.node,
                'timed_out',
                true,
                now,
              );
              if (r !== 'stale' && d.node) await this.lifecycle.cancel(d.node, d.jobId, d.attempt, 'timeout');
            } else if (d.state === 'created' || d.state === 'retrying') {
              // Overall deadline reached while waiting for a node (or the queue lost it).
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
    } catch (err) {
      this.log.warn({ err }, 'timeout poll failed');
    } finally {
      this.busy = false;
    }
    return handled;
  }
}
