/**
 * Failover work on a bullmq queue: durable in Redis, retried with capped exponential backoff
 * while no node is free, bounded by the job's overall deadline (JobLifecycle.redispatch fails
 * the job once it passes). One bullmq job per (job id, attempt) — bullmq ignores duplicates.
 */
import type { RedisClient } from '@lingua/cluster';
import { type Job, Queue, Worker } from 'bullmq';
import type { FailoverSink, JobLifecycle } from './job-lifecycle';

export const FAILOVER_QUEUE = 'failover';

interface FailoverData {
  jobId: string;
  attempt: number;
  detectedAt: number;
}

export interface FailoverQueueOptions {
  connection: RedisClient;
  prefix: string;
  concurrency?: number;
  maxBackoffMs?: number;
}

export class FailoverQueue implements FailoverSink {
  readonly queue: Queue<FailoverData>;
  private worker: Worker<FailoverData> | undefined;

  constructor(private readonly opts: FailoverQueueOptions) {
    this.queue = new Queue<FailoverData>(FAILOVER_QUEUE, {
      connection: opts.connection,
      prefix: opts.prefix,
    });
    // Without a listener bullmq console.errors the raw error, whose `command` may carry AUTH's
    // password; connection errors are logged, redacted, where the connection is made (server.ts),
    // and a failed enqueue rejects to its caller.
    this.queue.on('error', () => {});
  }

  async enqueue(jobId: string, attempt: number, detectedAt: number, delayMs = 0): Promise<void> {
    await this.queue.add(
      'redispatch',
      { jobId, attempt, detectedAt },
      {
        jobId: `${jobId}|${attempt}`,
        delay: delayMs,
        attempts: 100_000,
        backoff: { type: 'capped' },
        removeOnComplete: true,
        removeOnFail: 1000,
      },
    );
  }

  startWorker(lifecycle: JobLifecycle, onError: (err: unknown) => void): void {
    // Short cap: a job waiting for a free slot should notice one soon after it frees.
    const maxBackoff = this.opts.maxBackoffMs ?? 250;
    this.worker = new Worker<FailoverData>(
      FAILOVER_QUEUE,
      async (job: Job<FailoverData>) => {
        const { jobId, attempt, detectedAt } = job.data;
        const r = await lifecycle.redispatch(jobId, attempt, detectedAt);
        // 'wait': no node free yet; throwing makes bullmq retry after the backoff.
        if (r === 'wait') throw new Error(`no node free for ${jobId}`);
        return r;
      },
      {
        connection: this.opts.connection,
        prefix: this.opts.prefix,
        concurrency: this.opts.concurrency ?? 32,
        settings: { backoffStrategy: (attemptsMade: number) => Math.min(25 * 2 ** attemptsMade, maxBackoff) },
      },
    );
    this.worker.on('error', onError);
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
