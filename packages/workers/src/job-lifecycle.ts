/**
 * What happens to a job between the Lua FSM steps: first dispatch, results, failures,
 * re-dispatch and delivery of outcomes to the session's owner. Used by the gateway (session
 * actor, node connections, inbox) and by the workers (timeout, failover, sweeps), so every
 * path that touches a job goes through the same code.
 */
import {
  type AssignPayload,
  type CreateJobInit,
  confirmLease,
  type FailCause,
  type InboxBus,
  isScriptError,
  type JobStore,
  type Keyspace,
  type LoggedOutcome,
  parseJsonObject,
  type RedisClient,
  releaseSlot,
  ScriptErrorCode,
  type StoredResult,
  selectNode,
} from '@lingua/cluster';

export interface LifecycleConfig {
  jobTimeoutMs: number;
  jobOverallTimeoutMs: number;
  leaseMs: number;
}

export interface LifecycleHooks {
  onDispatch?(kind: 'initial' | 'failover', finalizedAt: number): void;
  onFailover?(cause: FailCause | 'no_node_yet', detectedAt: number | null): void;
  onTransition?(to: string): void;
  onDropped?(reason: string): void;
  onSelect?(seconds: number): void;
}

export interface LifecycleLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Where retries go: a durable queue (bullmq in production, see failover-queue.ts). */
export interface FailoverSink {
  enqueue(jobId: string, attempt: number, detectedAt: number, delayMs?: number): Promise<void>;
}

export type ResultOutcome = 'ok' | 'late' | 'dup' | 'stale';

export type RedispatchOutcome = 'dispatched' | 'stale' | 'wait' | 'failed';

export class JobLifecycle {
  failover: FailoverSink | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly ks: Keyspace,
    private readonly store: JobStore,
    private readonly inbox: InboxBus,
    private readonly cfg: LifecycleConfig,
    private readonly log: LifecycleLogger,
    private readonly hooks: LifecycleHooks = {},
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * First attempt of a freshly finalized utterance: reserve a node (affinity first), record the
   * job (idempotent) dispatched to it, then route the assignment. With no free node the job is
   * recorded as `created` and handed to the failover queue, which retries with backoff.
   * Returns once the job is durable (the caller may then send `utterance_accepted`).
   */
  async dispatchNew(
    init: Omit<CreateJobInit, 'node' | 'overallDeadline'>,
    affinityNodeId: string | undefined,
    finalizedAt: number,
  ): Promise<{ status: 'created' | 'exists'; nodeId: string | null; noPool: boolean }> {
    const now = init.now;
    const deadline = now + this.cfg.jobTimeoutMs;
    let node: { nodeId: string; instance: string } | null = null;
    let noPool = false;
    const t0 = performance.now();
    try {
      node = await selectNode(this.redis, this.ks, {
        src: init.src,
        tgt: init.tgt,
        jobId: init.jobId,
        attempt: 1,
        affinityNodeId,
        exclude: [],
        now,
        leaseMs: this.cfg.leaseMs,
      });
    } catch (err) {
      if (isScriptError(err, ScriptErrorCode.NO_POOL_FOR_LANG_PAIR)) noPool = true;
      else if (!isScriptError(err, ScriptErrorCode.NO_AVAILABLE_NODE)) throw err;
    }
    this.hooks.onSelect?.((performance.now() - t0) / 1000);
    const created = await this.store.createJob({
      ...init,
      overallDeadline: now + this.cfg.jobOverallTimeoutMs,
      node: node ? { nodeId: node.nodeId, instance: node.instance, deadline } : undefined,
    });
    if (created.status === 'exists') {
      // A repeat of an already recorded utterance: the original dispatch stands.
      return { status: 'exists', nodeId: null, noPool };
    }
    this.hooks.onTransition?.('created');
    if (!node) {
      // No free node (or the pool is empty right now, e.g. its nodes are restarting): the
      // failover queue retries with backoff until the overall deadline, then `no_node`.
      this.hooks.onFailover?.('no_node_yet', null);
      await this.requireFailover().enqueue(init.jobId, 0, now, 0);
      return { status: 'created', nodeId: null, noPool };
    }
    this.hooks.onTransition?.('dispatched');
    await Promise.all([
      confirmLease(this.redis, this.ks, {
        nodeId: node.nodeId,
        jobId: init.jobId,
        attempt: 1,
        expiresAt: deadline + this.cfg.leaseMs,
      }).catch((err) =>
        this.log.warn({ err, job: init.jobId }, 'confirm lease failed (the sweep keeps it safe)'),
      ),
      this.sendAssign(node.instance, node.nodeId, {
        job_id: init.jobId,
        attempt: 1,
        session_id: init.sessionId,
        utterance_index: init.index,
        src_lang: init.src,
        tgt_lang: init.tgt,
        audio: init.audio,
        audio_format: init.audioFormat,
        sample_rate: init.sampleRate,
        features: init.features,
        deadline_ms: deadline,
        finalized_at: finalizedAt,
      }),
    ]);
    this.hooks.onDispatch?.('initial', finalizedAt);
    return { status: 'created', nodeId: node.nodeId, noPool };
  }

  private requireFailover(): FailoverSink {
    if (!this.failover) throw new Error('JobLifecycle: no failover sink attached');
    return this.failover;
  }

  private async sendAssign(instance: string, nodeId: string, job: AssignPayload): Promise<void> {
    await this.inbox.send(instance, { t: 'assign', nodeId, job });
  }

  /** A node's successful result. Stale or foreign results are dropped, never delivered. */
  async onResult(
    nodeId: string,
    jobId: string,
    attempt: number,
    result: StoredResult,
  ): Promise<ResultOutcome> {
    let r: Awaited<ReturnType<JobStore['complete']>>;
    try {
      r = await this.store.complete(jobId, attempt, nodeId, result, this.now());
    } catch (err) {
      if (
        isScriptError(err, ScriptErrorCode.STALE_ATTEMPT) ||
        isScriptError(err, ScriptErrorCode.NODE_MISMATCH) ||
        isScriptError(err, ScriptErrorCode.NOT_FOUND) ||
        isScriptError(err, ScriptErrorCode.ILLEGAL_TRANSITION)
      ) {
        return 'stale'; // the caller (node connection) counts and answers JOB_NOT_HELD
      }
      throw err;
    }
    if (r.status !== 'ok') {
      await this.release(nodeId, jobId, attempt);
      this.hooks.onDropped?.(r.status);
      return r.status;
    }
    this.hooks.onTransition?.('completed');
    // Independent (cell vs. session owner's inbox): one round trip instead of two.
    await Promise.all([
      this.release(nodeId, jobId, attempt),
      this.deliver(r.owner, r.sessionId, { index: r.index, kind: 'result', result }),
    ]);
    return 'ok';
  }

  /**
   * An attempt ended without a result (node failure report, timeout, lost node, no node).
   * Frees the node's slot, then retries through the failover queue or delivers the missing.
   */
  async onAttemptFailed(
    jobId: string,
    attempt: number,
    nodeId: string,
    cause: FailCause,
    retryable: boolean,
    detectedAt: number,
  ): Promise<'retry' | 'failed' | 'stale'> {
    let r: Awaited<ReturnType<JobStore['fail']>>;
    try {
      r = await this.store.fail(jobId, attempt, nodeId, cause, this.now(), retryable);
    } catch (err) {
      if (
        isScriptError(err, ScriptErrorCode.STALE_ATTEMPT) ||
        isScriptError(err, ScriptErrorCode.NODE_MISMATCH) ||
        isScriptError(err, ScriptErrorCode.ILLEGAL_TRANSITION) ||
        isScriptError(err, ScriptErrorCode.NOT_FOUND)
      ) {
        return 'stale';
      }
      throw err;
    }
    if (nodeId) await this.release(nodeId, jobId, attempt);
    this.hooks.onTransition?.(cause === 'no_node' ? 'failed' : cause);
    if (r.kind === 'retry') {
      this.hooks.onTransition?.('retrying');
      this.hooks.onFailover?.(cause, detectedAt);
      await this.requireFailover().enqueue(jobId, attempt, detectedAt, 0);
      return 'retry';
    }
    this.hooks.onTransition?.('failed');
    if (r.appended) {
      await this.deliver(r.owner, r.sessionId, { index: r.index, kind: 'missing', reason: r.reason, jobId });
    }
    return 'failed';
  }

  /**
   * Failover worker body: re-select excluding every node that already had this job, CAS the
   * dispatch, route the assignment. 'wait' means no node is free yet (the queue retries with
   * backoff); past the overall deadline the job fails with `no_node` / `timeout`.
   */
  async redispatch(jobId: string, expectedAttempt: number, detectedAt: number): Promise<RedispatchOutcome> {
    const record = await this.store.getJobRecord(jobId);
    if (!record) return 'stale';
    const job = record.fields;
    if ((job.state !== 'created' && job.state !== 'retrying') || Number(job.attempt) !== expectedAttempt) {
      return 'stale';
    }
    const now = this.now();
    const overall = Number(job.overall);
    if (now >= overall) {
      const cause: FailCause = expectedAttempt === 0 ? 'no_node' : 'timed_out';
      const r = await this.onAttemptFailed(jobId, expectedAttempt, '', cause, false, detectedAt);
      return r === 'stale' ? 'stale' : 'failed';
    }
    const nextAttempt = expectedAttempt + 1;
    const tried = (job.tried ?? '').split(',').filter(Boolean);
    let node: { nodeId: string; instance: string };
    const t0 = performance.now();
    try {
      node = await selectNode(this.redis, this.ks, {
        src: job.src!,
        tgt: job.tgt!,
        jobId,
        attempt: nextAttempt,
        affinityNodeId: undefined,
        exclude: tried,
        now,
        leaseMs: this.cfg.leaseMs,
      });
    } catch (err) {
      if (
        isScriptError(err, ScriptErrorCode.NO_AVAILABLE_NODE) ||
        isScriptError(err, ScriptErrorCode.NO_POOL_FOR_LANG_PAIR)
      ) {
        return 'wait';
      }
      throw err;
    } finally {
      this.hooks.onSelect?.((performance.now() - t0) / 1000);
    }
    const deadline = Math.min(now + this.cfg.jobTimeoutMs, overall);
    try {
      await this.store.dispatch(jobId, expectedAttempt, node.nodeId, node.instance, now, deadline);
    } catch (err) {
      await releaseSlot(this.redis, this.ks, { nodeId: node.nodeId, jobId, attempt: nextAttempt }).catch(
        () => {},
      );
      if (isScriptError(err)) return 'stale';
      throw err;
    }
    this.hooks.onTransition?.('dispatched');
    const audio = record.audio ?? Buffer.alloc(0);
    await Promise.all([
      confirmLease(this.redis, this.ks, {
        nodeId: node.nodeId,
        jobId,
        attempt: nextAttempt,
        expiresAt: deadline + this.cfg.leaseMs,
      }).catch(() => {}),
      this.sendAssign(node.instance, node.nodeId, {
        job_id: jobId,
        attempt: nextAttempt,
        session_id: job.sid!,
        utterance_index: Number(job.idx),
        src_lang: job.src!,
        tgt_lang: job.tgt!,
        audio,
        audio_format: job.fmt ?? 'pcm16',
        sample_rate: Number(job.rate ?? 16000),
        features: parseJsonObject(job.feat),
        deadline_ms: deadline,
        finalized_at: Number(job.created ?? now),
      }),
    ]);
    this.hooks.onDispatch?.('failover', Number(job.created ?? now));
    // Only a real failover (an attempt had failed) counts: a first dispatch that waited for a
    // free slot is queueing, not failover.
    if (expectedAttempt > 0) this.hooks.onFailover?.('dispatched' as FailCause, detectedAt);
    return 'dispatched';
  }

  /** Best-effort cancel of an attempt that was given up on (the node may still be working). */
  async cancel(nodeId: string, jobId: string, attempt: number, reason: string): Promise<void> {
    const node = await this.redis.hget(this.ks.node(nodeId), 'instance');
    if (!node) return;
    await this.inbox.send(node, { t: 'cancel', nodeId, jobId, attempt, reason }).catch(() => {});
  }

  /** Routes a logged outcome to the session's owner; a detached session gets it on resume. */
  async deliver(owner: string, sessionId: string, outcome: LoggedOutcome): Promise<void> {
    if (!owner) return;
    await this.inbox.send(owner, { t: 'outcome', sessionId, outcome });
  }

  private async release(nodeId: string, jobId: string, attempt: number): Promise<void> {
    try {
      await releaseSlot(this.redis, this.ks, { nodeId, jobId, attempt });
    } catch (err) {
      // NODE_MISMATCH / already released: the reservation is not this attempt's any more.
      if (!isScriptError(err)) throw err;
    }
  }
}
