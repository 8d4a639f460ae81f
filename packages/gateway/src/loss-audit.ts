/**
 * Loss audit: finds accepted utterances whose job Redis no longer has, and gives each one an
 * outcome (`missing_result` `failed`) at once instead of leaving the client waiting.
 *
 * Why: a Sentinel or Cluster failover promotes a replica that may lack the last writes
 * (replication is asynchronous), and a restart of a Redis without `appendfsync always` loses
 * the last second. An utterance the client saw accepted can then have no job hash, no
 * deadline and no assignment: nothing would ever decide it. The session's gap timer would
 * catch it only behind a *later* result and only after the gap timeout (overall job timeout +
 * 2 s: 97 s with production settings), a trailing one never. So each gateway audits its own
 * sessions: on every Redis reconnect (a failover or restart always drops the connections) a
 * few times in quick succession, and periodically as a safety net. An audit reads `state` and
 * `outcome` of the accepted-but-undelivered jobs (one pipelined HMGET each):
 *  - no job hash          → lost: declare missing (first writer wins) and deliver the winner;
 *  - an outcome exists    → the outcome envelope may be lost: re-read the session's result log
 *                           (the orderer drops what it already delivered);
 *  - live                 → the timeout worker owns it (a reverted transition is retried there).
 * Pure decision in `classify`; the I/O is in SessionActor.auditLoss and here.
 */
import type { RedisClient } from '@lingua/cluster';
import type { Logger } from './logger';

export type AuditVerdict = 'lost' | 'decided' | 'live';

/** From HMGET job `state`, `outcome`. */
export function classify(state: string | null, outcome: string | null): AuditVerdict {
  if (state === null) return 'lost';
  return outcome ? 'decided' : 'live';
}

export interface AuditTarget {
  /** accepted indexes without an outcome, accepted at or before `cutoff` */
  auditLoss(cutoff: number): Promise<number>;
}

export interface LossAuditOptions {
  /** periodic audit period; jobs accepted longer ago than this are looked at (0 = off) */
  intervalMs: number;
  /** audits after a reconnect, ms after it (the failover may still be settling) */
  afterReconnectMs?: number[];
  now?: () => number;
}

export class LossAudit {
  private timer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<NodeJS.Timeout>();
  private running = false;
  private readonly now: () => number;
  lost = 0;
  audits = 0;

  constructor(
    private readonly sessions: () => Iterable<AuditTarget>,
    private readonly log: Logger,
    private readonly opts: LossAuditOptions,
    private readonly onLost: (n: number, why: string) => void = () => {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Periodic audit, plus audits after every reconnect of `redis` (not the first connect). */
  start(redis: RedisClient): void {
    if (this.opts.intervalMs > 0) {
      this.timer = setInterval(
        () => void this.run(this.now() - this.opts.intervalMs, 'periodic'),
        this.opts.intervalMs,
      );
      this.timer.unref();
    }
    let connectedOnce = false;
    const onReady = () => {
      if (!connectedOnce) {
        connectedOnce = true;
        return;
      }
      this.afterReconnect();
    };
    redis.on('ready', onReady);
    // Redis Cluster: a failover changes the node set rather than re-readying the client.
    redis.on('+node', () => connectedOnce && this.afterReconnect());
    redis.on('-node', () => connectedOnce && this.afterReconnect());
    if ((redis as { status?: string }).status === 'ready') connectedOnce = true;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }

  /** A reconnect: every accepted job may have been lost, however young. */
  afterReconnect(): void {
    for (const delay of this.opts.afterReconnectMs ?? [500, 2000, 5000]) {
      const t = setTimeout(() => {
        this.pending.delete(t);
        void this.run(this.now(), 'reconnect');
      }, delay);
      t.unref();
      this.pending.add(t);
    }
  }

  async run(cutoff: number, why: string): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    this.audits++;
    let lost = 0;
    try {
      for (const s of this.sessions()) {
        lost += await s.auditLoss(cutoff).catch((err) => {
          this.log.debug({ err: String(err) }, 'loss audit of a session failed');
          return 0;
        });
      }
      if (lost > 0) {
        this.lost += lost;
        this.onLost(lost, why);
        this.log.warn(
          { lost, trigger: why },
          'accepted utterances whose job Redis lost (failover/restart): answered missing_result',
        );
      }
    } finally {
      this.running = false;
    }
    return lost;
  }
}

/** At most this many lost indexes are answered per resume (bounds what a client can make us write). */
export const MAX_LOST_ON_RESUME = 1024;

export interface ResumeClaim {
  next_utterance_index?: number;
  last_accepted_seq?: number;
}

/**
 * On resume, the client (protocol v1.3) says what it saw accepted. When that is ahead of the
 * session record, Redis lost the record's last updates together with those utterances' jobs
 * (one script writes both): answer each lost index with a missing marker in the result log
 * (replayed right after the ack) and continue numbering after them, so no index is handed
 * out twice and no audio the client already dropped is expected again. Bounded per resume.
 */
export async function recoverLostOnResume(
  declareMissing: (index: number) => Promise<unknown>,
  record: { nextIndex: number; lastAcceptedSeq: number },
  claim: ResumeClaim,
): Promise<{ nextIndex: number; lastAcceptedSeq: number; lost: number }> {
  let nextIndex = record.nextIndex;
  let lastAcceptedSeq = record.lastAcceptedSeq;
  let lost = 0;
  const claimed = claim.next_utterance_index;
  if (claimed !== undefined && claimed > nextIndex) {
    const upto = Math.min(claimed, nextIndex + MAX_LOST_ON_RESUME);
    for (let i = nextIndex; i < upto; i++) {
      await declareMissing(i);
      lost++;
    }
    nextIndex = upto;
    if (claim.last_accepted_seq !== undefined && claim.last_accepted_seq > lastAcceptedSeq) {
      lastAcceptedSeq = claim.last_accepted_seq;
    }
  }
  return { nextIndex, lastAcceptedSeq, lost };
}
