/**
 * What happens to a job between the Lua FSM steps: first dispatch, results, failures,
 * re-dispatch and delivery of outcomes to the session's owner. Used by the gateway (session
 * actor, node connections, inbox) and by the workers (timeout, failover, sweeps), so every
 * path that touches a job goes through the same code.
 *
 * Every step is a script followed by a follow-up (send the assignment, release the slot,
 * deliver, enqueue the failover). A script re-sent by ioredis answers "already done" with what
 * the follow-up needs, and the follow-up runs again (each one is idempotent); a process dying
 * between a script and its follow-up is covered by the deadline index (assignment check,
 * waiting check), the lost-node sweep and the session's result check, within seconds.
 */
import {
  type AssignPayload,
  type ContextUtterance,
  type CreateJobInit,
  type CreateJobResult,
  type FailCause,
  type InboxBus,
  isScriptError,
  isWaitingState,
  type JobStore,
  type Keyspace,
  type LinguaScriptError,
  type LoggedOutcome,
  parseJobRecord,
  parseJsonObject,
  type RedisClient,
  releaseSlot,
  releaseSlotKeys,
  ScriptErrorCode,
  type SelectNodeParams,
  type StoredResult,
  sameServer,
  selectNode,
  selectNodeCall,
} from '@lingua/cluster';

export interface LifecycleConfig {
  jobTimeoutMs: number;
  jobOverallTimeoutMs: number;
  /** grace added to an attempt's slot reservation beyond its deadline */
  leaseMs: number;
  /**
   * On a single Redis (not Cluster): select+create and complete+release as one script each
   * (select-create-10, complete-release-10). Default true; Cluster always runs them apart.
   */
  fusedScripts?: boolean;
}

export interface LifecycleHooks {
  onDispatch?(kind: 'initial' | 'failover', finalizedAt: number): void;
  onFailover?(cause: FailCause | 'no_node_yet', detectedAt: number | null): void;
  onTransition?(to: string): void;
  onDropped?(reason: string): void;
  onSelect?(seconds: number): void;
  /**
   * An expected race was lost (a stale answer, a second report of the same failure, a
   * re-sent script): counted, never logged with a stack. `op` names the step, `code` why.
   */
  onRace?(op: string, code: string): void;
  /** an assignment was sent again (re-sent script, or the node never confirmed it) */
  onResend?(why: 'resent_script' | 'unconfirmed'): void;
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

/** Script errors that mean "someone else already decided": expected races, not failures. */
const RACE_CODES: ReadonlySet<ScriptErrorCode> = new Set([
  ScriptErrorCode.STALE_ATTEMPT,
  ScriptErrorCode.NODE_MISMATCH,
  ScriptErrorCode.NOT_FOUND,
  ScriptErrorCode.ILLEGAL_TRANSITION,
]);

function isRace(err: unknown): err is LinguaScriptError {
  return isScriptError(err) && RACE_CODES.has(err.code);
}

/** The job's stored context (job-create), for every later attempt's assignment. */
function contextOf(json: string): { context?: ContextUtterance[] } {
  if (!json) return {};
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) && v.length ? { context: v as ContextUtterance[] } : {};
  } catch {
    return {};
  }
}

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
  ) {
    const fused = cfg.fusedScripts !== false && sameServer(redis);
    this.fusedCreate = fused && ks.cells === 1;
    this.fusedRelease = fused;
  }

  /** select-create-10 instead of select-node + job-create (single Redis, one node cell) */
  private readonly fusedCreate: boolean;
  /** complete-release-10 instead of job-complete + release-slot (single Redis) */
  private readonly fusedRelease: boolean;

  /**
   * First attempt of a freshly finalized utterance: reserve a node (affinity first), record the
   * job (idempotent) dispatched to it, then route the assignment. With no free node the job is
   * recorded as `created` and handed to the failover queue, which retries with backoff.
   * `onRecorded` runs as soon as the job is durable and before the assignment leaves, so the
   * caller's `utterance_accepted` always precedes the index's result on its socket.
   */
  async dispatchNew(
    init: Omit<CreateJobInit, 'node' | 'overallDeadline'>,
    affinityNodeId: string | undefined,
    finalizedAt: number,
    onRecorded?: (r: CreateJobResult) => void,
  ): Promise<{ status: 'created' | 'exists'; nodeId: string | null; noPool: boolean }> {
    const now = init.now;
    const deadline = now + this.cfg.jobTimeoutMs;
    const overallDeadline = now + this.cfg.jobOverallTimeoutMs;
    const select: SelectNodeParams = {
      src: init.src,
      tgt: init.tgt,
      jobId: init.jobId,
      attempt: 1,
      affinityNodeId,
      exclude: [],
      now,
      leaseMs: this.cfg.jobTimeoutMs + this.cfg.leaseMs,
      tts: init.features?.tts === true,
      twoWay: init.features?.two_way === true,
    };
    let node: { nodeId: string; instance: string } | null = null;
    let noPool = false;
    let created: CreateJobResult;
    const t0 = performance.now();
    if (this.fusedCreate) {
      // One script: a re-send reserves nothing new and answers 'exists' with the job's node.
      const r = await this.store.selectAndCreate(
        { ...init, overallDeadline, attemptDeadline: deadline },
        selectNodeCall(this.ks, 0, select),
      );
      this.hooks.onSelect?.((performance.now() - t0) / 1000);
      created = r;
      noPool = r.selection === ScriptErrorCode.NO_POOL_FOR_LANG_PAIR;
      const live = r.status === 'created' || (r.state === 'dispatched' && r.attempt === 1);
      if (r.node && live) node = { nodeId: r.node, instance: r.instance };
    } else {
      try {
        node = await selectNode(this.redis, this.ks, select);
      } catch (err) {
        if (isScriptError(err, ScriptErrorCode.NO_POOL_FOR_LANG_PAIR)) noPool = true;
        else if (!isScriptError(err, ScriptErrorCode.NO_AVAILABLE_NODE)) throw err;
      }
      this.hooks.onSelect?.((performance.now() - t0) / 1000);
      created = await this.store.createJob({
        ...init,
        overallDeadline,
        node: node ? { nodeId: node.nodeId, instance: node.instance, deadline } : undefined,
      });
    }
    onRecorded?.(created);
    const assign = (n: { nodeId: string; instance: string }) =>
      this.sendAssign(n.instance, n.nodeId, {
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
        owner: init.owner,
        ...(init.context?.length ? { context: init.context } : {}),
      });
    if (created.status === 'exists') {
      // A re-sent create (the first answer was lost): redo the follow-up it needed.
      this.hooks.onRace?.('job_create', 'exists');
      const ours = node !== null && created.attempt === 1 && created.node === node.nodeId;
      if (node && !ours) await this.release(node.nodeId, init.jobId, 1);
      if (ours && created.state === 'dispatched') {
        this.hooks.onResend?.('resent_script');
        await assign(node!);
      } else if (created.state === 'created') {
        await this.requireFailover().enqueue(init.jobId, 0, now, 0);
      }
      return { status: 'exists', nodeId: ours ? node!.nodeId : null, noPool };
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
    await assign(node);
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
    // Fused: the script released the node's slot already, whatever it answered.
    const fused = this.fusedRelease;
    const release = () => (fused ? null : this.release(nodeId, jobId, attempt));
    try {
      r = await this.store.complete(
        jobId,
        attempt,
        nodeId,
        result,
        this.now(),
        fused ? releaseSlotKeys(this.ks, nodeId) : undefined,
      );
    } catch (err) {
      if (!isRace(err)) throw err;
      // Not (or no longer) this node's attempt; its reservation for it is garbage either way.
      this.hooks.onRace?.('job_result', err.codeName);
      await release();
      return 'stale'; // the caller (node connection) counts and answers JOB_NOT_HELD
    }
    if (r.status === 'ok') {
      this.hooks.onTransition?.('completed');
      // Independent (cell vs. session owner's inbox): one round trip instead of two.
      await Promise.all([
        release(),
        this.deliver(r.owner, r.sessionId, { index: r.index, kind: 'result', result }),
      ]);
      return 'ok';
    }
    this.hooks.onDropped?.(r.status);
    if (r.status === 'dup') this.hooks.onRace?.('job_result', 'dup');
    await Promise.all([
      release(),
      // A re-sent completion: deliver the logged winner again (the orderer drops an index twice).
      r.logged
        ? this.deliver(r.owner, r.sessionId, { index: r.index, kind: 'result', result: r.logged })
        : null,
    ]);
    return r.status;
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
      if (!isRace(err)) throw err;
      this.hooks.onRace?.('job_fail', err.codeName);
      // Decided already (completed, or a later attempt): this node's reservation is garbage.
      if (nodeId) await this.release(nodeId, jobId, attempt);
      return 'stale';
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
    const job = record ? parseJobRecord(record.fields) : null;
    if (!record || !job) return 'stale';
    if (!isWaitingState(job.state) || job.attempt !== expectedAttempt) return 'stale';
    const now = this.now();
    const overall = job.overallDeadline;
    if (now >= overall) {
      const cause: FailCause = expectedAttempt === 0 ? 'no_node' : 'timed_out';
      const r = await this.onAttemptFailed(jobId, expectedAttempt, '', cause, false, detectedAt);
      return r === 'stale' ? 'stale' : 'failed';
    }
    const nextAttempt = expectedAttempt + 1;
    const features = parseJsonObject(job.features);
    const deadline = Math.min(now + this.cfg.jobTimeoutMs, overall);
    let node: { nodeId: string; instance: string };
    const t0 = performance.now();
    try {
      node = await selectNode(this.redis, this.ks, {
        src: job.src,
        tgt: job.tgt,
        jobId,
        attempt: nextAttempt,
        affinityNodeId: undefined,
        exclude: job.tried,
        now,
        leaseMs: deadline - now + this.cfg.leaseMs,
        tts: features.tts === true,
        twoWay: features.two_way === true,
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
    let d: Awaited<ReturnType<JobStore['dispatch']>>;
    try {
      d = await this.store.dispatch(jobId, expectedAttempt, node.nodeId, node.instance, now, deadline);
    } catch (err) {
      await this.release(node.nodeId, jobId, nextAttempt);
      if (!isRace(err)) throw err;
      this.hooks.onRace?.('job_dispatch', err.codeName);
      return 'stale';
    }
    if (d.status === 'taken' || d.status === 'concurrent') {
      // A rival re-dispatch (the timeout worker's check and the queue) got there first and
      // sends the assignment; on another node our reservation (in another cell) is ours alone.
      this.hooks.onRace?.('job_dispatch', d.status);
      if (d.status === 'taken') await this.release(node.nodeId, jobId, nextAttempt);
      return 'stale';
    }
    if (d.status === 'already') {
      this.hooks.onRace?.('job_dispatch', 'already');
      this.hooks.onResend?.('resent_script');
    } else this.hooks.onTransition?.('dispatched');
    await this.sendAssign(
      node.instance,
      node.nodeId,
      this.assignPayload(job, record.audio, nextAttempt, deadline),
    );
    this.hooks.onDispatch?.('failover', job.createdAt || now);
    // Only a real failover (an attempt had failed) counts: a first dispatch that waited for a
    // free slot is queueing, not failover.
    if (expectedAttempt > 0 && d.status === 'dispatched')
      this.hooks.onFailover?.('dispatched' as FailCause, detectedAt);
    return 'dispatched';
  }

  /**
   * Sends a dispatched attempt's assignment again: its node has not confirmed it (the
   * dispatcher may have died before sending it, or the send was lost). The node treats a
   * repeated (job_id, attempt) as the same job. Routed to the node's current gateway.
   */
  async resendAssign(jobId: string, attempt: number): Promise<boolean> {
    const record = await this.store.getJobRecord(jobId);
    const job = record ? parseJobRecord(record.fields) : null;
    if (!record || !job || job.state !== 'dispatched' || job.attempt !== attempt || !job.node) return false;
    const instance = (await this.redis.hget(this.ks.node(job.node), 'instance')) || job.nodeInstance;
    this.hooks.onResend?.('unconfirmed');
    this.log.debug(
      { job: jobId, attempt, node: job.node },
      'assignment re-sent: the node had not confirmed it',
    );
    await this.sendAssign(instance, job.node, this.assignPayload(job, record.audio, attempt, job.deadline));
    return true;
  }

  private assignPayload(
    job: NonNullable<ReturnType<typeof parseJobRecord>>,
    audio: Buffer | null,
    attempt: number,
    deadline: number,
  ): AssignPayload {
    return {
      job_id: job.id,
      attempt,
      session_id: job.sessionId,
      utterance_index: job.index,
      src_lang: job.src,
      tgt_lang: job.tgt,
      audio: audio ?? Buffer.alloc(0),
      audio_format: job.audioFormat,
      sample_rate: job.sampleRate,
      features: parseJsonObject(job.features),
      deadline_ms: deadline,
      finalized_at: job.createdAt || this.now(),
      ...contextOf(job.context),
    };
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
