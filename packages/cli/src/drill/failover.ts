/**
 * Failover timing measured directly from the job FSM's `events` streams (one per session
 * shard; every transition carries the gateway's clock in `ts`). A tap reads them while the
 * drill runs; `analyzeFailovers` pairs each failure detection with the re-dispatch it caused.
 */
import { type JobEvent, parseJobEvent, type RedisClient } from '@lingua/cluster';
import { type Summary, summarize } from './stats';

export type { JobEvent };

const LIVE = new Set(['dispatched', 'accepted', 'running']);
const DETECTED = new Set(['node_lost', 'timed_out', 'failed']);

/** Transitions the analysis needs: dispatches and the end of live attempts. */
function relevant(e: JobEvent): boolean {
  return e.to === 'dispatched' || (LIVE.has(e.from) && DETECTED.has(e.to));
}

const decode = parseJobEvent;

/** Polls the events streams from a start time; tolerates Redis outages (retries next tick). */
export class EventTap {
  readonly events: JobEvent[] = [];
  private readonly last = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  errors = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: string[],
    startMs: number,
    private readonly everyMs = 250,
  ) {
    for (const k of keys) this.last.set(k, `${startMs}-0`);
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.busy ??= this.poll().finally(() => {
        this.busy = undefined;
      });
    }, this.everyMs);
  }

  /** Stops polling after one final read. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.busy;
    await this.poll();
  }

  private async poll(): Promise<void> {
    for (const key of this.keys) {
      try {
        for (;;) {
          const from = this.last.get(key)!;
          const batch = (await this.redis.xrange(key, `(${from}`, '+', 'COUNT', 1000)) as [
            string,
            string[],
          ][];
          for (const [id, fields] of batch) {
            this.last.set(key, id);
            const e = decode(fields);
            if (relevant(e)) this.events.push(e);
          }
          if (batch.length < 1000) break;
        }
      } catch {
        this.errors++;
      }
    }
  }
}

/** One failed attempt; times in ms relative to the fault (null: not seen). */
export interface FailedAttempt {
  job: string;
  attempt: number;
  node: string;
  cause: string;
  dispatched_ms: number | null;
  detected_ms: number;
  redispatched_ms: number | null;
}

/** Failed attempts listed in a report (the summaries cover all of them). */
export const MAX_LISTED_ATTEMPTS = 50;

export interface FailoverStats {
  /** live attempts that ended without a result after the fault (detections) */
  detections: number;
  by_cause: Record<string, number>;
  /** detections followed by a dispatch of the next attempt */
  redispatched: number;
  /** failed attempts per node */
  by_node: Record<string, number>;
  /** detection → re-dispatch, ms (what lingua_failover_seconds measures) */
  detection_to_redispatch_ms: Summary | null;
  /** fault → detection, ms */
  fault_to_detection_ms: Summary | null;
  /**
   * How long each failed-over job sat on the failed node after the failure began:
   * re-dispatch − max(fault, dispatch of the failed attempt), ms. Covers both jobs the node
   * held at the fault and jobs dispatched to it before the failure was detected.
   */
  stuck_ms: Summary | null;
  /** the first failed attempts, for tracing in logs and Redis */
  attempts: FailedAttempt[];
}

/** Pairs detections after `faultAt` with their re-dispatch (optionally only on `node`). */
export function analyzeFailovers(events: JobEvent[], faultAt: number, node?: string): FailoverStats {
  const dispatches = new Map<string, number>();
  for (const e of events) {
    if (e.to !== 'dispatched') continue;
    const key = `${e.job}#${e.attempt}`;
    if (!dispatches.has(key)) dispatches.set(key, e.ts);
  }
  const byCause: Record<string, number> = {};
  const byNode: Record<string, number> = {};
  const det: number[] = [];
  const faultToDet: number[] = [];
  const stuck: number[] = [];
  const attempts: FailedAttempt[] = [];
  let detections = 0;
  let redispatched = 0;
  for (const e of events) {
    if (!(LIVE.has(e.from) && DETECTED.has(e.to)) || e.ts < faultAt) continue;
    if (node !== undefined && e.node !== node) continue;
    detections++;
    byCause[e.to] = (byCause[e.to] ?? 0) + 1;
    byNode[e.node] = (byNode[e.node] ?? 0) + 1;
    faultToDet.push(e.ts - faultAt);
    const next = dispatches.get(`${e.job}#${e.attempt + 1}`);
    // A first attempt dispatched at once records no event: its failure carries the dispatch time.
    const sent = dispatches.get(`${e.job}#${e.attempt}`) ?? (e.since || undefined);
    if (attempts.length < MAX_LISTED_ATTEMPTS) {
      attempts.push({
        job: e.job,
        attempt: e.attempt,
        node: e.node,
        cause: e.to,
        dispatched_ms: sent === undefined ? null : sent - faultAt,
        detected_ms: e.ts - faultAt,
        redispatched_ms: next === undefined ? null : next - faultAt,
      });
    }
    if (next === undefined) continue;
    redispatched++;
    det.push(next - e.ts);
    const began = Math.max(faultAt, sent ?? faultAt);
    stuck.push(next - began);
  }
  return {
    detections,
    by_cause: byCause,
    redispatched,
    by_node: byNode,
    detection_to_redispatch_ms: summarize(det),
    fault_to_detection_ms: summarize(faultToDet),
    stuck_ms: summarize(stuck),
    attempts,
  };
}
