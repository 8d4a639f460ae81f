/**
 * Typed wrappers for the session and job scripts of a session shard (lua/job-*.lua,
 * lua/session-*.lua). Pure argument plumbing: the rules live in Lua and job-fsm.ts.
 */
import { randomUUID } from 'node:crypto';
import type { ContextUtterance } from '@lingua/protocol';
import type { Cluster, Redis } from 'ioredis';
import { decode, encode, parseJsonObject } from './codec';
import type { JobState } from './job-fsm';
import { jobIdFor, parseJobId } from './job-fsm';
import { JOB_FIELDS } from './job-model';
import type { Keyspace } from './keys';
import { SCRIPTS } from './script-defs.gen';
import { runScript, runScriptBuffer, type ScriptArgs, type ScriptKeys } from './scripts';
import type { selectNodeCall } from './select-node';

type RedisClient = Redis | Cluster;

export interface JobStoreConfig {
  maxAttempts: number;
  resultLogMaxLen: number;
  resultLogTtlMs: number;
  jobTtlMs: number;
  sessionTtlMs: number;
  /** a dispatched job the node has not confirmed (job_accepted) this long is re-sent */
  assignCheckMs?: number;
  /** a job waiting for a node is checked by the timeout worker this often */
  waitingCheckMs?: number;
}

/**
 * How long the resume token a rotation replaced still works: the client may never have received
 * the rotation (its connection, or Redis, died between the script and the ack; a command that
 * timed out may still run when Redis comes back). docs/security.md "Tenants and resume".
 */
export const RESUME_TOKEN_GRACE_MS = 30_000;
export const DEFAULT_ASSIGN_CHECK_MS = 2000;
export const DEFAULT_WAITING_CHECK_MS = 1000;

export interface SessionRecordInit {
  sessionId: string;
  tenant: string;
  src: string;
  tgt: string;
  audioFormat: string;
  sampleRate: number;
  features: Record<string, unknown>;
  owner: string;
  conn: string;
  resumeToken: string;
  now: number;
}

export interface ResumedSession {
  oldOwner: string;
  oldConn: string;
  nextIndex: number;
  lastAcceptedSeq: number;
  tenant: string;
  src: string;
  tgt: string;
  audioFormat: string;
  sampleRate: number;
  features: Record<string, unknown>;
}

export interface CreateJobInit {
  jobId: string;
  sessionId: string;
  index: number;
  tenant: string;
  src: string;
  tgt: string;
  audioFormat: string;
  sampleRate: number;
  features: Record<string, unknown>;
  audio: Uint8Array;
  /** protocol v1.8 `job_assign.context` (kept for every attempt of the job) */
  context?: ContextUtterance[];
  lastChunkSeq: number;
  reason: string;
  now: number;
  overallDeadline: number;
  owner: string;
  conn: string;
  /** the node already selected for attempt 1, if any */
  node?: { nodeId: string; instance: string; deadline: number };
}

export interface OwnerRef {
  owner: string;
  conn: string;
  index: number;
  sessionId: string;
}

export type FailOutcome =
  | { kind: 'retry'; attempt: number; tried: string[]; overallDeadline: number }
  | (OwnerRef & {
      kind: 'failed';
      reason: MissingReason;
      /** the missing marker is the index's logged outcome: deliver it (again, on a re-send) */
      appended: boolean;
    });

export interface CreateJobResult {
  status: 'created' | 'exists';
  state: JobState;
  attempt: number;
  /** the node of the current attempt ('' while waiting) */
  node: string;
}

export interface DispatchResult {
  /**
   * 'already': this call made the attempt before (a re-send: send the assignment again);
   * 'concurrent': another call made it on the same node (it sends the assignment);
   * 'taken': another call made it on another node (release this call's reservation)
   */
  status: 'dispatched' | 'already' | 'concurrent' | 'taken';
  attempt: number;
  node: string;
}

export type CompleteResult = OwnerRef & {
  status: 'ok' | 'late' | 'dup';
  /** 'dup' only: the logged result of the index (the winner), to deliver again */
  logged?: StoredResult;
};

export type MissingReason = 'timeout' | 'failed' | 'no_node';
export type FailCause = 'timed_out' | 'node_lost' | 'failed' | 'no_node';

/** A result as stored in the result log and carried between instances (msgpack). */
export interface StoredResult {
  job_id: string;
  utterance_index: number;
  src_lang: string;
  tgt_lang: string;
  text_asr: string;
  text_translated: string;
  tts_audio?: Uint8Array;
  tts_format?: string;
  node_id: string;
  timings: { queue_ms: number; node_ms: number; total_ms: number };
}

export type LoggedOutcome =
  | { index: number; kind: 'result'; result: StoredResult }
  | { index: number; kind: 'missing'; reason: MissingReason; jobId: string };

export interface DueJob {
  jobId: string;
  state: JobState;
  attempt: number;
  node: string;
  /** 'check': a dispatched job not confirmed by its node yet; 'timeout': a deadline passed */
  kind: 'check' | 'timeout';
}

export class JobStore {
  constructor(
    readonly redis: RedisClient,
    readonly ks: Keyspace,
    readonly cfg: JobStoreConfig,
  ) {}

  private sessionOfJob(jobId: string): string {
    const parsed = parseJobId(jobId);
    if (!parsed) throw new Error(`malformed job id ${jobId}`);
    return parsed.sessionId;
  }

  jobKey(jobId: string): string {
    return this.ks.job(jobId);
  }

  /** The keys every FSM step of a job declares: job, deadlines, events, jobcounts. */
  private fsmKeys(jobId: string): [string, string, string, string] {
    const shard = this.ks.shardOf(this.sessionOfJob(jobId));
    return [this.ks.job(jobId), this.ks.deadlines(shard), this.ks.events(shard), this.ks.jobCounts(shard)];
  }

  /** fsmKeys plus the session hash and its result log (steps that may decide an outcome). */
  private outcomeKeys(jobId: string): [string, string, string, string, string, string] {
    const sid = this.sessionOfJob(jobId);
    const [job, deadlines, events, counts] = this.fsmKeys(jobId);
    return [job, this.ks.session(sid), deadlines, events, counts, this.ks.results(sid)];
  }

  async openSession(s: SessionRecordInit): Promise<'created' | 'exists'> {
    return runScript(
      this.redis,
      SCRIPTS.sessionOpen,
      [this.ks.session(s.sessionId)],
      [
        s.sessionId,
        s.tenant,
        s.src,
        s.tgt,
        s.audioFormat,
        s.sampleRate,
        JSON.stringify(s.features),
        s.owner,
        s.conn,
        s.resumeToken,
        s.now,
        this.cfg.sessionTtlMs,
      ],
    );
  }

  /**
   * Re-binds the session to (owner, conn) if `token` is its resume token and (with auth on)
   * `rotate.tenant` its tenant; the resume token becomes `rotate.newToken` (the old one stops
   * working). A re-send with the same new token and connection answers the same.
   */
  async resumeSession(
    sessionId: string,
    token: string,
    owner: string,
    conn: string,
    now: number,
    rotate: { newToken: string; tenant?: string },
  ): Promise<ResumedSession> {
    const r = await runScript<
      [string, string, number, number, string, string, string, string, string, string]
    >(
      this.redis,
      SCRIPTS.sessionResume,
      [this.ks.session(sessionId)],
      [
        sessionId,
        token,
        owner,
        conn,
        now,
        this.cfg.sessionTtlMs,
        rotate.newToken,
        rotate.tenant ?? '',
        RESUME_TOKEN_GRACE_MS,
      ],
    );
    return {
      oldOwner: r[0] ?? '',
      oldConn: r[1] ?? '',
      nextIndex: Number(r[2]),
      lastAcceptedSeq: Number(r[3]),
      tenant: r[4],
      src: r[5],
      tgt: r[6],
      audioFormat: r[7],
      sampleRate: Number(r[8]),
      features: parseJsonObject(r[9]),
    };
  }

  async detachSession(
    sessionId: string,
    conn: string,
    mode: 'detach' | 'close',
    now: number,
  ): Promise<boolean> {
    const r = await runScript<number>(
      this.redis,
      SCRIPTS.sessionDetach,
      [this.ks.session(sessionId)],
      [sessionId, conn, mode, now, this.cfg.sessionTtlMs],
    );
    return r === 1;
  }

  async getSession(sessionId: string): Promise<Record<string, string> | null> {
    const h = await this.redis.hgetall(this.ks.session(sessionId));
    return Object.keys(h).length ? h : null;
  }

  private get assignCheckMs(): number {
    return this.cfg.assignCheckMs ?? DEFAULT_ASSIGN_CHECK_MS;
  }

  private get waitingCheckMs(): number {
    return this.cfg.waitingCheckMs ?? DEFAULT_WAITING_CHECK_MS;
  }

  async createJob(j: CreateJobInit): Promise<CreateJobResult> {
    const { keys, args } = this.createCall(j);
    const r = await runScript<[string, JobState, number, string]>(this.redis, SCRIPTS.jobCreate, keys, args);
    return { status: r[0] as 'created' | 'exists', state: r[1], attempt: Number(r[2]), node: r[3] ?? '' };
  }

  /**
   * select-create-10.lua: selection (select-node's `select`, one cell) and creation in one
   * script. Only where node cell and session shard share a server: see `sameServer`.
   * `selection` is 0 when a node was reserved (or, for 'exists', nothing was selected), else
   * NO_POOL_FOR_LANG_PAIR / NO_AVAILABLE_NODE's code and the job was created waiting.
   */
  async selectAndCreate(
    j: Omit<CreateJobInit, 'node'> & { attemptDeadline: number },
    select: ReturnType<typeof selectNodeCall>,
  ): Promise<CreateJobResult & { instance: string; selection: number }> {
    const { keys, args } = this.createCall({
      ...j,
      node: { nodeId: '', instance: '', deadline: j.attemptDeadline },
    });
    const r = await runScript<[string, JobState, number, string, string, number]>(
      this.redis,
      SCRIPTS.selectCreate,
      [...select.keys, ...keys],
      [...select.args, ...args],
    );
    return {
      status: r[0] as 'created' | 'exists',
      state: r[1],
      attempt: Number(r[2]),
      node: r[3] ?? '',
      instance: r[4] ?? '',
      selection: Number(r[5]),
    };
  }

  /** job-create-5.lua's KEYS and ARGV (also the second half of select-create-10). */
  private createCall(j: CreateJobInit) {
    const shard = this.ks.shardOf(j.sessionId);
    return {
      keys: [
        this.ks.session(j.sessionId),
        this.ks.job(j.jobId),
        this.ks.deadlines(shard),
        this.ks.events(shard),
        this.ks.jobCounts(shard),
      ] as ScriptKeys<typeof SCRIPTS.jobCreate>,
      args: [
        j.jobId,
        j.sessionId,
        j.index,
        j.tenant,
        j.src,
        j.tgt,
        j.audioFormat,
        j.sampleRate,
        JSON.stringify(j.features),
        Buffer.from(j.audio.buffer, j.audio.byteOffset, j.audio.byteLength),
        j.lastChunkSeq,
        j.reason,
        j.now,
        j.overallDeadline,
        j.owner,
        j.conn,
        j.node?.nodeId ?? '',
        j.node?.instance ?? '',
        j.node?.deadline ?? 0,
        this.cfg.sessionTtlMs,
        this.assignCheckMs,
        this.waitingCheckMs,
        j.context?.length ? JSON.stringify(j.context) : '',
      ] as ScriptArgs<typeof SCRIPTS.jobCreate>,
    };
  }

  async dispatch(
    jobId: string,
    expectedAttempt: number,
    nodeId: string,
    nodeInstance: string,
    now: number,
    deadline: number,
    /** unique per re-dispatch call: tells a re-sent script from a rival dispatcher */
    token: string = randomUUID(),
  ): Promise<DispatchResult> {
    const r = await runScript<[string, number, string]>(
      this.redis,
      SCRIPTS.jobDispatch,
      this.fsmKeys(jobId),
      [jobId, expectedAttempt, nodeId, nodeInstance, now, deadline, this.assignCheckMs, token],
    );
    return { status: r[0] as DispatchResult['status'], attempt: Number(r[1]), node: r[2] ?? '' };
  }

  async progress(
    jobId: string,
    attempt: number,
    nodeId: string,
    to: 'accepted' | 'running',
    now: number,
  ): Promise<boolean> {
    const r = await runScript<number>(this.redis, SCRIPTS.jobProgress, this.fsmKeys(jobId), [
      jobId,
      attempt,
      nodeId,
      to,
      now,
    ]);
    return r === 1;
  }

  /**
   * job-complete-6.lua; with `release` (the node's release-slot keys), complete-release-10.lua:
   * the node's slot is released in the same script, whatever the completion answers. Only
   * where node cell and session shard share a server: see `sameServer`.
   */
  async complete(
    jobId: string,
    attempt: number,
    nodeId: string,
    result: StoredResult,
    now: number,
    release?: [string, string, string, string],
  ): Promise<CompleteResult> {
    type Reply = [Buffer, Buffer, Buffer, number, Buffer, Buffer?];
    const keys = this.outcomeKeys(jobId);
    const args: ScriptArgs<typeof SCRIPTS.jobComplete> = [
      jobId,
      attempt,
      nodeId,
      now,
      encode(result),
      this.cfg.resultLogMaxLen,
      this.cfg.resultLogTtlMs,
      this.cfg.jobTtlMs,
    ];
    const r = release
      ? await runScriptBuffer<Reply>(this.redis, SCRIPTS.completeRelease, [...keys, ...release], args)
      : await runScriptBuffer<Reply>(this.redis, SCRIPTS.jobComplete, keys, args);
    const status = r[0].toString() as CompleteResult['status'];
    const logged = status === 'dup' && r[5]?.length ? decode<StoredResult>(r[5]) : undefined;
    return {
      status,
      owner: r[1]?.toString() ?? '',
      conn: r[2]?.toString() ?? '',
      index: Number(r[3]),
      sessionId: r[4].toString(),
      ...(logged ? { logged } : {}),
    };
  }

  async fail(
    jobId: string,
    attempt: number,
    nodeId: string | '',
    cause: FailCause,
    now: number,
    retryable = true,
  ): Promise<FailOutcome> {
    const r = await runScript<(string | number)[]>(this.redis, SCRIPTS.jobFail, this.outcomeKeys(jobId), [
      jobId,
      attempt,
      nodeId,
      cause,
      now,
      this.cfg.maxAttempts,
      retryable ? 1 : 0,
      this.cfg.resultLogMaxLen,
      this.cfg.resultLogTtlMs,
      this.cfg.jobTtlMs,
      this.waitingCheckMs,
    ]);
    if (r[0] === 'retry') {
      return {
        kind: 'retry',
        attempt: Number(r[1]),
        tried: String(r[2] ?? '')
          .split(',')
          .filter(Boolean),
        overallDeadline: Number(r[3]),
      };
    }
    return {
      kind: 'failed',
      owner: String(r[1] ?? ''),
      conn: String(r[2] ?? ''),
      index: Number(r[3]),
      sessionId: String(r[4]),
      reason: r[5] as MissingReason,
      appended: Number(r[6]) === 1,
    };
  }

  /** Gap declared by the result orderer: returns whichever outcome won for that index. */
  async declareMissing(
    sessionId: string,
    index: number,
    reason: MissingReason,
    now: number,
  ): Promise<LoggedOutcome> {
    const jobId = jobIdFor(sessionId, index);
    const r = await runScriptBuffer<[Buffer, Buffer, Buffer]>(
      this.redis,
      SCRIPTS.jobDeclareMissing,
      [this.ks.job(jobId), this.ks.results(sessionId), this.ks.jobCounts(this.ks.shardOf(sessionId))],
      [
        jobId,
        sessionId,
        index,
        reason,
        now,
        this.cfg.resultLogMaxLen,
        this.cfg.resultLogTtlMs,
        this.cfg.jobTtlMs,
      ],
    );
    return toOutcome(index, jobId, r[1].toString(), r[2]);
  }

  /** The logged outcome of one index, or null while it has none (job-outcome-2.lua). */
  async outcomeOf(sessionId: string, index: number): Promise<LoggedOutcome | null> {
    const jobId = jobIdFor(sessionId, index);
    const r = await runScriptBuffer<Buffer[]>(
      this.redis,
      SCRIPTS.jobOutcome,
      [this.ks.job(jobId), this.ks.results(sessionId)],
      [jobId],
    );
    if (r.length < 2) return null;
    return toOutcome(index, jobId, r[0]!.toString(), r[1]);
  }

  /** Every logged outcome of a session with index > afterIndex, sorted by index, each index once. */
  async readResults(sessionId: string, afterIndex: number): Promise<LoggedOutcome[]> {
    const entries = await this.redis.xrangeBuffer(this.ks.results(sessionId), '-', '+');
    const byIndex = new Map<number, LoggedOutcome>();
    for (const [, fields] of entries) {
      const f = fieldMap(fields);
      const index = Number(f.i?.toString());
      if (!(index > afterIndex) || byIndex.has(index)) continue;
      byIndex.set(index, toOutcome(index, `${sessionId}.${index}`, f.k?.toString() ?? '', f.d));
    }
    return [...byIndex.values()].sort((a, b) => a.index - b.index);
  }

  async claimDue(
    shard: number,
    now: number,
    limit: number,
    leaseMs: number,
    waitingRecheckMs = 5000,
  ): Promise<DueJob[]> {
    const r = await runScript<string[]>(
      this.redis,
      SCRIPTS.jobClaimDue,
      [this.ks.deadlines(shard)],
      [now, limit, leaseMs, waitingRecheckMs],
    );
    const out: DueJob[] = [];
    for (let i = 0; i + 4 < r.length; i += 5) {
      out.push({
        jobId: r[i]!,
        state: r[i + 1] as JobState,
        attempt: Number(r[i + 2]),
        node: r[i + 3] ?? '',
        kind: r[i + 4] as DueJob['kind'],
      });
    }
    return out;
  }

  /**
   * One job, read in one round trip: its fields as text and its audio (binary) apart. The
   * audio is present only until the job is done; the result is in the session's result log.
   */
  async getJobRecord(
    jobId: string,
  ): Promise<{ fields: Record<string, string>; audio: Buffer | null } | null> {
    const raw = (await this.redis.hgetallBuffer(this.jobKey(jobId))) as Record<string, Buffer>;
    const fields: Record<string, string> = {};
    let audio: Buffer | null = null;
    for (const [k, v] of Object.entries(raw)) {
      if (k === JOB_FIELDS.audio) audio = v;
      else fields[k] = v.toString();
    }
    return Object.keys(fields).length ? { fields, audio } : null;
  }

  async getJob(jobId: string): Promise<Record<string, string> | null> {
    return (await this.getJobRecord(jobId))?.fields ?? null;
  }
}

function fieldMap(fields: Buffer[]): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]!.toString()] = fields[i + 1]!;
  return out;
}

function toOutcome(index: number, jobId: string, kind: string, blob: Buffer | undefined): LoggedOutcome {
  if (kind === 'r' && blob) return { index, kind: 'result', result: decode<StoredResult>(blob) };
  return { index, kind: 'missing', reason: (blob?.toString() || 'failed') as MissingReason, jobId };
}
