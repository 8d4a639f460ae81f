/**
 * One compute node's socket on this instance: registration (with the node's owner recorded
 * in its cell), heartbeats, job delivery and the node's answers. The node's identity comes
 * from this connection's registration, never from a field in a later frame.
 *
 * Reconciliation (protocol v1.4 `job_ids`): the jobs a node lists on register and in its
 * heartbeats are the ones it still works on. On register, every other job the cluster holds
 * for it fails over (`node_lost`) at once (a node that sends no list gets
 * LINGUA_NODE_RECONNECT_GRACE_MS to answer them). On heartbeats, a job this connection sent
 * that the node has not listed in two heartbeats at least that grace apart fails over; jobs
 * never sent on this connection (an assignment still on its way, or lost with a dying
 * dispatcher) are left to the assignment check, which re-sends them.
 */
import { randomUUID } from 'node:crypto';
import {
  type AssignPayload,
  type HeldReservation,
  isHot,
  isScriptError,
  JOB_FIELDS,
  nodeHeartbeat,
  nodeModelLost,
  nodeOffline,
  parseJobId,
  parseJsonObject,
  registerNode,
  ScriptErrorCode,
  type StoredResult,
  setDraining,
  setNodeReadiness,
  takeModelLossToken,
} from '@lingua/cluster';
import {
  encodeBinaryJobAssign,
  type JobProgress,
  type NodeMessage,
  type NodeRegister,
} from '@lingua/protocol';
import type { GatewayContext, Transport } from './context';
import { checkJobResult, checkNodeRegister, type LimitProblem, storedHardware } from './limits';
import { LocalBucket } from './local-bucket';
import type { Logger } from './logger';
import { type PendingProgress, ProgressCoalescer } from './progress-coalescer';
import { resultDirection } from './two-way';

interface InFlight {
  jobId: string;
  attempt: number;
  sentAt: number;
  finalizedAt: number;
  index: number;
  src: string;
  tgt: string;
  sessionId: string;
  /** the session asked for partial results (protocol v1.8) */
  partial: boolean;
  /** a two-way job (protocol v1.11): the result must carry the detected direction */
  twoWay: boolean;
  /** the session owner's instance (from the assignment, else looked up once) */
  owner?: string;
  /** a job_progress of this attempt went to Redis (after it, a frame over the rate is dropped) */
  progressed?: boolean;
  /** job_progress frames of this attempt: LINGUA_PARTIAL_RATE per second */
  progressBucket?: LocalBucket;
  /** first heartbeat (after the send) that did not list the job */
  unlistedSince?: number;
}

/** Jobs remembered per connection: the protocol bounds max_concurrent_jobs to 1024. */
const MAX_INFLIGHT = 4096;

export class NodeConn {
  readonly conn = randomUUID();
  nodeId: string | undefined;
  private epoch = 0;
  private registrations = 0;
  private graceTimer: NodeJS.Timeout | undefined;
  private registration: NodeRegister | undefined;
  /** the node's latest word on readiness (protocol v1.7); kept for a re-registration */
  private ready = true;
  /** pair -> when this connection last acted on a MODEL_NOT_AVAILABLE for it (debounce) */
  private readonly modelLosses = new Map<string, number>();
  private registering: Promise<void> | undefined;
  private closed = false;
  private handedOff = false;
  /**
   * Jobs sent on this socket and not answered: timings, and what heartbeats reconcile with
   * (the job's truth is in Redis; a failover is always a CAS there).
   */
  private readonly inflight = new Map<string, InFlight>();
  /** job_accepted / job_progress records, written a moment later unless the answer comes first */
  private readonly progress: ProgressCoalescer;
  private log: Logger;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly transport: Transport,
    /** a node token presented as bearer at upgrade (already verified), for node_register without one */
    private readonly creds: { upgradeToken?: string } = {},
  ) {
    this.log = ctx.log.child({ conn: this.conn });
    this.progress = new ProgressCoalescer(ctx.cfg.progressCoalesceMs, (p) => this.writeProgress(p));
  }

  private async writeProgress(p: PendingProgress): Promise<void> {
    try {
      await this.ctx.store.progress(p.jobId, p.attempt, this.nodeId!, p.to, p.at);
    } catch (err) {
      if (isScriptError(err)) return this.dropped(p.jobId, p.attempt, err.codeName);
      this.ctx.metrics.redisErrors.inc({ op: 'node_job_progress' });
      this.log.warn({ err, node: this.nodeId, job: p.jobId }, 'job progress not recorded');
    }
  }

  /** `tts`: a binary job_result's TTS (v1.13), owned by this connection; then `msg.tts_audio` is "". */
  receive(msg: NodeMessage, tts?: Uint8Array): void {
    this.handle(msg, tts).catch((err) => {
      this.ctx.metrics.redisErrors.inc({ op: `node_${msg.type}` });
      this.log.warn({ err, node: this.nodeId, type: msg.type }, 'node frame failed');
      this.error('INTERNAL', `${msg.type} could not be processed; retry`);
    });
  }

  private error(code: string, message: string, field?: string): void {
    this.ctx.metrics.framesRejected.inc({ kind: 'node', code });
    this.transport.send({ type: 'error', code, message, ...(field ? { field } : {}) });
  }

  private refuse(p: LimitProblem, quota: string): void {
    this.ctx.metrics.quotaRefusals.inc({ quota });
    this.error(p.code, p.message, p.field);
  }

  private async handle(msg: NodeMessage, tts: Uint8Array | undefined): Promise<void> {
    if (msg.type === 'node_register') return this.register(msg);
    if (this.registering) await this.registering;
    if (!this.nodeId) {
      this.error('NODE_NOT_REGISTERED', `${msg.type}: send node_register first`);
      return;
    }
    const now = this.ctx.now();
    if ('job_id' in msg && !parseJobId(msg.job_id)) {
      // Not a job id this cluster ever issues (<session>.<index>): a clear answer, no lookup.
      this.error('JOB_NOT_HELD', `${msg.type}: job ${msg.job_id} is not a job of this cluster`, 'job_id');
      return;
    }
    switch (msg.type) {
      case 'node_heartbeat':
        try {
          await nodeHeartbeat(this.ctx.redis, this.ctx.ks, {
            nodeId: this.nodeId,
            epoch: this.epoch,
            instance: this.ctx.cfg.instanceId,
            now,
            runningJobs: msg.running_jobs ?? 0,
            cpu: msg.resource?.cpu,
            gpu: msg.resource?.gpu,
            mem: msg.resource?.mem,
            ready: msg.ready,
            models: msg.models,
            // v1.9: judged here (the threshold is this gateway's setting), stored as a flag.
            hot: isHot(msg.resource, this.ctx.cfg.nodeHotThreshold),
          });
          if (msg.ready !== undefined) this.ready = msg.ready;
          const lost = msg.job_ids ? this.unlisted(msg.job_ids, now) : [];
          if (lost.length) await this.failOver(lost, 'heartbeat_unlisted', now);
        } catch (err) {
          if (!isScriptError(err, ScriptErrorCode.NODE_OFFLINE) || !this.registration) throw err;
          // Declared offline while still connected (missed heartbeats): register again.
          this.log.info({ node: this.nodeId }, 'node was offline; re-registering on heartbeat');
          await this.register(this.registration, true);
        }
        return;
      case 'job_accepted':
        return this.progress.record({ jobId: msg.job_id, attempt: msg.attempt, to: 'accepted', at: now });
      case 'job_progress':
        return this.onProgress(msg, now);
      case 'job_result':
        return this.result(msg, tts);
      case 'node_ready':
      case 'node_unavailable':
        return this.readiness(
          msg.type === 'node_ready',
          msg.type === 'node_unavailable' ? msg.reason : undefined,
        );
      case 'node_drain':
        try {
          await setDraining(this.ctx.redis, this.ctx.ks, { nodeId: this.nodeId, epoch: this.epoch });
        } catch (err) {
          if (
            !isScriptError(err, ScriptErrorCode.NODE_OFFLINE) &&
            !isScriptError(err, ScriptErrorCode.NODE_MISMATCH)
          )
            throw err;
          this.error(
            'NODE_NOT_REGISTERED',
            'node_drain: this registration is no longer current; register again',
          );
          return;
        }
        this.log.info({ node: this.nodeId }, 'node draining: no new jobs');
        return;
    }
  }

  private async register(msg: NodeRegister, again = false): Promise<void> {
    if (this.nodeId && !again && msg.node_id !== this.nodeId) {
      this.error('BAD_MESSAGE', 'node_register: this connection is already registered as another node');
      return;
    }
    const tooBig = checkNodeRegister(msg, this.ctx.cfg);
    if (tooBig) {
      this.refuse(tooBig, `node_${tooBig.field}`);
      return;
    }
    const run = async () => {
      // Every registration needs a token allowing this very id, so the id of a connected node
      // cannot be taken over without a token for it (auth.ts). A re-registration of this same
      // connection (`again`) was authorized the first time.
      if (!again && !(await this.authorized(msg))) return;
      if (this.ctx.draining) {
        this.error('DRAINING', 'this instance is shutting down; connect to another one');
        this.transport.close(1012, 'draining');
        return;
      }
      const now = this.ctx.now();
      const r = await registerNode(this.ctx.redis, this.ctx.ks, {
        nodeId: msg.node_id,
        instance: this.ctx.cfg.instanceId,
        now,
        // Unique per registration (a re-registration of this socket is a new one).
        registrationId: `${this.conn}:${++this.registrations}`,
        // A re-registration after being taken offline: everything it held was failed over.
        jobIds: again ? [] : msg.job_ids,
        // A re-registration keeps what the node said since (node_ready / node_unavailable).
        ready: again ? this.ready : msg.ready !== false,
        capabilities: {
          services: msg.services,
          asrLangs: msg.asr_langs,
          ttsLangs: msg.tts_langs,
          maxConcurrentJobs: msg.max_concurrent_jobs,
          info: {
            hardware: storedHardware(msg.hardware),
            version: msg.version ?? null,
            platform: msg.platform ?? null,
          },
        },
      });
      if (this.closed) return;
      const previous = this.ctx.nodes.get(msg.node_id);
      if (previous && previous !== this) previous.replaced();
      this.nodeId = msg.node_id;
      this.epoch = r.epoch;
      this.registration = msg;
      if (!again) this.ready = msg.ready !== false;
      this.log = this.ctx.log.child({ conn: this.conn, node: msg.node_id });
      this.ctx.nodes.set(msg.node_id, this);
      this.log.info(
        { pools: r.pools, epoch: r.epoch, lost: r.lost.length, unconfirmed: r.unconfirmed.length },
        'node registered',
      );
      this.transport.send({
        type: 'node_register_ack',
        node_id: msg.node_id,
        instance_id: this.ctx.cfg.instanceId,
        heartbeat_interval_ms: this.ctx.cfg.nodeHeartbeatMs,
        pools: r.pools,
        binary_audio: true,
      });
      if (r.previous && r.previous.instance !== this.ctx.cfg.instanceId) {
        // Its earlier connection may linger half-open on that instance: close it there.
        const kick = { t: 'kick-node' as const, nodeId: msg.node_id, epoch: r.previous.epoch };
        await this.ctx.inbox.send(r.previous.instance, kick).catch(() => {});
      }
      if (r.lost.length) await this.failOver(r.lost, 'register_unlisted', now);
      if (r.unconfirmed.length) this.failOverUnanswered(r.unconfirmed, r.epoch);
    };
    this.registering = run();
    try {
      await this.registering;
    } catch (err) {
      if (isScriptError(err, ScriptErrorCode.BAD_ARGUMENT)) {
        this.error('BAD_MESSAGE', `node_register: ${err.message}`);
        return;
      }
      throw err;
    } finally {
      this.registering = undefined;
    }
  }

  /** node_ready / node_unavailable (v1.7): in or out of selection; the jobs it holds stay. */
  private async readiness(ready: boolean, reason: string | undefined): Promise<void> {
    this.ready = ready;
    try {
      const changed = await setNodeReadiness(this.ctx.redis, this.ctx.ks, {
        nodeId: this.nodeId!,
        epoch: this.epoch,
        instance: this.ctx.cfg.instanceId,
        ready,
        reason,
      });
      if (changed)
        this.log.info({ ready, reason }, ready ? 'node ready: takes jobs' : 'node unavailable: no new jobs');
    } catch (err) {
      if (!isScriptError(err, ScriptErrorCode.NODE_OFFLINE) || !this.registration) throw err;
      // Declared offline while connected (missed heartbeats): register again in this readiness.
      await this.register(this.registration, true);
    }
  }

  /**
   * Jobs sent on this connection that the heartbeat does not list: struck the first time,
   * lost when still unlisted at least the grace period later (two heartbeats in a row).
   */
  private unlisted(jobIds: readonly string[], now: number): HeldReservation[] {
    const listed = new Set(jobIds);
    const lost: HeldReservation[] = [];
    for (const [key, f] of this.inflight) {
      if (listed.has(f.jobId)) {
        f.unlistedSince = undefined;
      } else if (f.unlistedSince === undefined) {
        f.unlistedSince = now;
      } else if (now - f.unlistedSince >= this.ctx.cfg.nodeReconnectGraceMs) {
        this.inflight.delete(key);
        lost.push({ jobId: f.jobId, attempt: f.attempt });
      }
    }
    return lost;
  }

  /** The cluster held these jobs for this node, and the node does not: fail them over now. */
  private async failOver(held: HeldReservation[], how: string, now: number): Promise<void> {
    this.ctx.metrics.nodeReconciled.inc({ how }, held.length);
    this.log.info(
      { jobs: held.length, how },
      'node does not hold jobs the cluster gave it: failing them over',
    );
    for (const h of held) {
      await this.ctx.jobs.onAttemptFailed(h.jobId, h.attempt, this.nodeId!, 'node_lost', true, now);
    }
  }

  /**
   * A node that sent no job list (a v1.1 node) re-registered while holding jobs from an earlier
   * connection: whatever it has not answered after the grace period fails over (an answered
   * job is completed or failed already, so job-fail refuses it and nothing happens).
   */
  private failOverUnanswered(held: HeldReservation[], epoch: number): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      if (this.closed || this.epoch !== epoch) return; // closed: node-offline failed them over
      this.failOver(held, 'register_unanswered', this.ctx.now()).catch((err) =>
        this.log.warn({ err }, 'failing over unanswered jobs failed; their deadlines catch them'),
      );
    }, this.ctx.cfg.nodeReconnectGraceMs);
    this.graceTimer.unref();
  }

  /** True while this connection is the node's registration with that epoch. */
  registeredWith(epoch: number): boolean {
    return !this.closed && this.nodeId !== undefined && this.epoch === epoch;
  }

  /** The node_register credential check; false (after UNAUTHORIZED and close 1008) when refused. */
  private async authorized(msg: NodeRegister): Promise<boolean> {
    const v = await this.ctx.auth.authorizeNode(msg.node_id, msg.token, this.creds.upgradeToken);
    if (v.ok) return !this.closed && !this.transport.closed;
    this.ctx.metrics.authRefused.inc({ kind: 'node', reason: v.reason });
    this.log.warn({ node_id: msg.node_id, reason: v.reason }, 'node_register refused');
    this.error('UNAUTHORIZED', `node_register: ${v.message}`);
    this.transport.close(1008, 'unauthorized');
    return false;
  }

  private async result(msg: Extract<NodeMessage, { type: 'job_result' }>, tts?: Uint8Array): Promise<void> {
    const now = this.ctx.now();
    const tooBig = checkJobResult(msg, this.ctx.cfg, tts);
    if (tooBig) {
      this.refuse(tooBig, `result_${tooBig.field}`);
      // Refused, not lost: the attempt fails over now instead of waiting for its deadline.
      const r = await this.ctx.jobs.onAttemptFailed(
        msg.job_id,
        msg.attempt,
        this.nodeId!,
        'failed',
        true,
        now,
      );
      if (r === 'stale') this.dropped(msg.job_id, msg.attempt, 'not held');
      return;
    }
    const key = `${msg.job_id}|${msg.attempt}`;
    const flight = this.inflight.get(key);
    this.inflight.delete(key);
    this.progress.settled(msg.job_id, msg.attempt);
    const jobs = this.ctx.jobs;
    if (msg.success) {
      const sentAt = flight?.sentAt ?? now;
      const finalizedAt = flight?.finalizedAt ?? sentAt;
      // Only after a restart of this socket do we lack the job's facts locally.
      const job = flight ? null : await this.ctx.store.getJob(msg.job_id);
      const facts = flight ?? {
        index: Number(job?.idx ?? -1),
        src: job?.src ?? '',
        tgt: job?.tgt ?? '',
        twoWay: parseJsonObject(job?.[JOB_FIELDS.features]).two_way === true,
      };
      const dir = resultDirection(msg, facts.src, facts.tgt, facts.twoWay);
      if (!dir) {
        // v1.11: a two-way result must say which way it went; refused, it fails over now.
        this.error(
          'BAD_MESSAGE',
          'job_result: a two-way job needs src_lang/tgt_lang, the assigned pair or its reverse',
          'src_lang',
        );
        const r = await jobs.onAttemptFailed(msg.job_id, msg.attempt, this.nodeId!, 'failed', true, now);
        if (r === 'stale') this.dropped(msg.job_id, msg.attempt, 'not held');
        return;
      }
      const result: StoredResult = {
        job_id: msg.job_id,
        utterance_index: facts.index,
        src_lang: dir.src,
        tgt_lang: dir.tgt,
        text_asr: msg.text_asr ?? '',
        text_translated: msg.text_translated ?? '',
        node_id: this.nodeId!,
        timings: {
          queue_ms: Math.max(0, sentAt - finalizedAt),
          node_ms: msg.processing_ms ?? Math.max(0, now - sentAt),
          total_ms: Math.max(0, now - finalizedAt),
        },
      };
      // v1.13: a binary job_result's TTS as it came; else the base64 of a text one.
      const speech = tts ?? (msg.tts_audio ? Buffer.from(msg.tts_audio, 'base64') : undefined);
      if (speech?.byteLength) {
        result.tts_audio = speech;
        result.tts_format = msg.tts_format ?? 'pcm16';
      }
      const r = await jobs.onResult(this.nodeId!, msg.job_id, msg.attempt, result);
      if (r === 'stale') this.dropped(msg.job_id, msg.attempt, 'not held');
      return;
    }
    const modelLost = msg.error?.code === 'MODEL_NOT_AVAILABLE';
    if (modelLost) {
      // First out of the pool (no new job of this pair reaches it), then the failover.
      const pair = flight ? `${flight.src}:${flight.tgt}` : await this.pairOf(msg.job_id);
      if (pair) await this.modelLost(pair, `${msg.job_id}|${msg.attempt}`, now);
    }
    // A missing model says nothing about the job: it is always worth another node.
    const retryable = modelLost || msg.error?.retryable !== false;
    const r = await jobs.onAttemptFailed(msg.job_id, msg.attempt, this.nodeId!, 'failed', retryable, now);
    if (r === 'stale') this.dropped(msg.job_id, msg.attempt, 'not held');
  }

  /**
   * job_progress: the job is running (recorded like job_accepted, coalesced), and its partial
   * texts go to the session's owner when the session asked for them (protocol v1.8). A partial
   * needs the attempt confirmed now: its record is written at once, and the job-progress CAS on
   * attempt and node refuses a failed-over attempt. Bounded per attempt (LINGUA_PARTIAL_RATE per
   * second): past it a frame is dropped before anything else, so a flooding node costs only
   * itself. Partials of a job sent on an earlier connection of the node are not forwarded.
   */
  private async onProgress(msg: JobProgress, now: number): Promise<void> {
    const flight = this.inflight.get(`${msg.job_id}|${msg.attempt}`);
    const cfg = this.ctx.cfg;
    if (flight) {
      flight.progressBucket ??= new LocalBucket(cfg.partialRatePerS, cfg.partialRatePerS);
      if (flight.progressBucket.take(now) > 0 && flight.progressed) {
        this.ctx.metrics.partialResults.inc({ outcome: 'rate_limited' });
        return;
      }
      flight.progressed = true;
    }
    const asr = msg.partial_text;
    const translated = msg.partial_translated;
    const record = { jobId: msg.job_id, attempt: msg.attempt, to: 'running' as const, at: now };
    if (!flight?.partial || (asr === undefined && translated === undefined)) {
      return this.progress.record(record);
    }
    if ((asr?.length ?? 0) > cfg.partialMaxChars || (translated?.length ?? 0) > cfg.partialMaxChars) {
      this.ctx.metrics.partialResults.inc({ outcome: 'too_long' });
      return this.progress.record(record);
    }
    this.progress.settled(msg.job_id, msg.attempt); // this write supersedes a pending record
    try {
      await this.ctx.store.progress(msg.job_id, msg.attempt, this.nodeId!, 'running', now);
    } catch (err) {
      if (!isScriptError(err)) throw err;
      this.dropped(msg.job_id, msg.attempt, err.codeName);
      return;
    }
    flight.owner ||= (await this.ctx.store.getSession(flight.sessionId))?.owner ?? '';
    if (!flight.owner) return;
    await this.ctx.inbox.send(flight.owner, {
      t: 'partial',
      sessionId: flight.sessionId,
      index: flight.index,
      attempt: flight.attempt,
      ...(asr !== undefined ? { asr } : {}),
      ...(translated !== undefined ? { translated } : {}),
    });
    this.ctx.metrics.partialResults.inc({ outcome: 'forwarded' });
  }

  private async pairOf(jobId: string): Promise<string | null> {
    const job = await this.ctx.store.getJob(jobId);
    return job?.src && job.tgt ? `${job.src}:${job.tgt}` : null;
  }

  /**
   * MODEL_NOT_AVAILABLE (v1.7): the node leaves that pair's pool until a heartbeat lists the
   * pair in `models` or it registers again. Reports within LINGUA_MODEL_LOSS_DEBOUNCE_MS are
   * one event; removals take a token from the cluster-wide and the node's bucket, so a
   * flapping node cannot churn pools (past them the job still fails over, the pool stays).
   * A session's affinity needs its node in the pool's available index, so it ends here too.
   */
  private async modelLost(pair: string, requestId: string, now: number): Promise<void> {
    const cfg = this.ctx.cfg;
    const last = this.modelLosses.get(pair);
    if (last !== undefined && now - last < cfg.modelLossDebounceMs) return;
    this.modelLosses.set(pair, now);
    if (this.modelLosses.size > 256) this.modelLosses.delete(this.modelLosses.keys().next().value!);
    this.ctx.metrics.modelUnavailable.inc({ pair });
    const allowed = await takeModelLossToken(this.ctx.redis, this.ctx.ks, {
      nodeId: this.nodeId!,
      now,
      requestId,
      clusterPerMinute: cfg.modelLossRatePerMin,
      nodePerMinute: cfg.modelLossNodeRatePerMin,
    });
    if (!allowed) {
      this.log.warn({ pair }, 'MODEL_NOT_AVAILABLE: pool removal rate-limited; the node stays in the pool');
      return;
    }
    try {
      const r = await nodeModelLost(this.ctx.redis, this.ctx.ks, {
        nodeId: this.nodeId!,
        epoch: this.epoch,
        instance: cfg.instanceId,
        pair,
      });
      if (r.removed) this.log.info({ pair, pools: r.pools }, 'MODEL_NOT_AVAILABLE: node left the pool');
    } catch (err) {
      if (!isScriptError(err, ScriptErrorCode.NODE_OFFLINE)) throw err;
    }
  }

  private dropped(jobId: string, attempt: number, why: string): void {
    this.ctx.metrics.lateResultsDropped.inc({ reason: why.toLowerCase().replace(/\s+/g, '_') });
    this.log.info({ job: jobId, attempt, why }, 'dropped an answer for a job this node does not hold');
    this.error('JOB_NOT_HELD', `job ${jobId} attempt ${attempt} is not held by this node (${why}); dropped`);
  }

  /** Sends a job to this node; false when the socket is gone (the caller fails it over). */
  sendAssign(job: AssignPayload): boolean {
    if (this.closed) return false;
    const now = this.ctx.now();
    // v1.12: a node that asked for binary frames gets the audio as raw bytes, no base64.
    const ok =
      this.registration?.binary_audio === true
        ? this.transport.sendBinary(encodeBinaryJobAssign(jobAssignFrame(job, ''), job.audio))
        : this.transport.send(jobAssignFrame(job));
    if (ok) {
      const key = `${job.job_id}|${job.attempt}`;
      this.inflight.delete(key); // a re-sent assignment starts over
      this.inflight.set(key, {
        jobId: job.job_id,
        attempt: job.attempt,
        sentAt: now,
        finalizedAt: job.finalized_at,
        index: job.utterance_index,
        src: job.src_lang,
        tgt: job.tgt_lang,
        sessionId: job.session_id,
        partial: job.features.partial === true,
        twoWay: job.features.two_way === true,
        ...(job.owner ? { owner: job.owner } : {}),
      });
    }
    // Bounded: the oldest entries go first (their jobs' deadlines still guard them).
    for (const key of this.inflight.keys()) {
      if (this.inflight.size <= MAX_INFLIGHT) break;
      this.inflight.delete(key);
    }
    return ok;
  }

  sendCancel(jobId: string, attempt: number, reason: string): void {
    this.inflight.delete(`${jobId}|${attempt}`);
    this.transport.send({ type: 'job_cancel', job_id: jobId, attempt, reason });
  }

  /** The same node registered on a newer socket of ours: this one stops serving. */
  replaced(): void {
    this.closed = true;
    this.transport.close(4002, 'node registered on a newer connection');
  }

  /**
   * Graceful shutdown of this instance: the node stops getting new jobs at once (draining in
   * its cell), its socket stays open while jobs it holds here finish (bounded by `graceMs`) so
   * their results are not lost, then it is told to reconnect elsewhere. Its reservations are
   * kept: results that arrive on its next connection still complete (checked by node id and
   * attempt). A node that does not come back is taken offline by the heartbeat sweep.
   */
  async drainAndClose(graceMs: number): Promise<void> {
    if (this.closed) return;
    this.handedOff = true;
    if (this.nodeId) {
      await setDraining(this.ctx.redis, this.ctx.ks, { nodeId: this.nodeId, epoch: this.epoch }).catch(
        () => {},
      );
    }
    const end = this.ctx.now() + graceMs;
    while (!this.closed && this.inflight.size > 0 && this.ctx.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.transport.send({
      type: 'error',
      code: 'DRAINING',
      message: 'this instance is shutting down; reconnect',
    });
    this.transport.close(1012, 'instance draining; reconnect to another instance');
  }

  /** Socket closed: the node leaves its pools and its jobs fail over (unless it re-registered). */
  async onSocketClosed(): Promise<void> {
    const wasReplaced = this.closed;
    this.closed = true;
    clearTimeout(this.graceTimer);
    // Handed off (drain): its jobs live on with it elsewhere, so their progress is worth keeping;
    // otherwise they fail over below and a late record would only be refused.
    if (this.handedOff) void this.progress.flush();
    else this.progress.clear();
    const nodeId = this.nodeId;
    if (!nodeId) return;
    if (this.ctx.nodes.get(nodeId) === this) this.ctx.nodes.delete(nodeId);
    if (wasReplaced || this.handedOff) return;
    const now = this.ctx.now();
    try {
      const held = await nodeOffline(this.ctx.redis, this.ctx.ks, { nodeId, epoch: this.epoch, now });
      this.log.info({ jobs: held.length }, 'node disconnected: offline');
      for (const h of held) {
        await this.ctx.jobs.onAttemptFailed(h.jobId, h.attempt, nodeId, 'node_lost', true, now);
      }
    } catch (err) {
      if (isScriptError(err, ScriptErrorCode.NODE_MISMATCH)) return; // re-registered elsewhere
      // Redis unreachable: the heartbeat sweep takes the node offline later.
      this.log.warn({ err }, 'node offline failed; the heartbeat sweep will catch it');
    }
  }
}

/**
 * The `job_assign` frame for an assignment (audio travels binary in Redis, base64 in JSON on the
 * wire); `audio` given: that instead of the base64 (the binary frame's header has '').
 */
export function jobAssignFrame(job: AssignPayload, audio?: string): Record<string, unknown> {
  return {
    type: 'job_assign',
    job_id: job.job_id,
    attempt: job.attempt,
    session_id: job.session_id,
    utterance_index: job.utterance_index,
    src_lang: job.src_lang,
    tgt_lang: job.tgt_lang,
    audio:
      audio ?? Buffer.from(job.audio.buffer, job.audio.byteOffset, job.audio.byteLength).toString('base64'),
    audio_format: job.audio_format,
    sample_rate: job.sample_rate,
    features: job.features,
    deadline_ms: job.deadline_ms,
    ...(job.context?.length ? { context: job.context } : {}),
  };
}
