/**
 * Watches every instance's dead-letter stream (listed in `{g}:dlqs`): reports each one's length
 * (→ `lingua_dlq_length`, the alert's input) and, only when an operator set a retention
 * (`LINGUA_DLQ_RETENTION_MS`, default off), removes entries older than it with XTRIM MINID,
 * counted and logged. Nothing else ever removes a dead letter except `lingua dlq replay/delete`.
 * Idempotent, so every gateway may run it: a trim that another instance already did removes 0.
 */
import type { Keyspace, RedisClient } from '@lingua/cluster';

export interface DlqMonitorOptions {
  intervalMs: number;
  /** 0 = keep dead letters until replayed or deleted */
  retentionMs: number;
  onLength: (instance: string, length: number) => void;
  onExpired: (instance: string, removed: number) => void;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  /** at most this many DLQs per round (the registry is bounded by the instances ever seen) */
  maxDlqs?: number;
}

export class DlqMonitor {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly ks: Keyspace,
    private readonly o: DlqMonitorOptions,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    const tick = () =>
      void this.round().catch((err) => this.o.log.warn({ err: String(err) }, 'DLQ monitor failed'));
    this.timer = setInterval(tick, this.o.intervalMs);
    this.timer.unref();
    tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass over every DLQ; returns entries removed by retention. */
  async round(): Promise<number> {
    const instances = (await this.redis.smembers(this.ks.dlqIndex())).slice(0, this.o.maxDlqs ?? 1000);
    let removed = 0;
    for (const inst of instances) {
      const key = this.ks.dlq(inst);
      if (this.o.retentionMs > 0) {
        // Stream ids start with the ms time the entry was dead-lettered.
        const n = Number(await this.redis.xtrim(key, 'MINID', this.now() - this.o.retentionMs));
        if (n > 0) {
          removed += n;
          this.o.onExpired(inst, n);
          this.o.log.info(
            { dlq: inst, removed: n, retention_ms: this.o.retentionMs },
            'dead letters older than the retention removed (LINGUA_DLQ_RETENTION_MS)',
          );
        }
      }
      this.o.onLength(inst, await this.redis.xlen(key));
    }
    return removed;
  }
}
