/**
 * Typed wrappers for the session and job scripts of a session shard (lua/job-*.lua,
 * lua/session-*.lua). Pure argument plumbing: the rules live in Lua and job-fsm.ts.
 */
import type { Cluster, Redis } from 'ioredis';
import { decode, encode, parseJsonObject } from './codec';
import type { JobState } from './job-fsm';
import { parseJobId } from './job-fsm';
import { type Keyspace, LUA_KEY_SUFFIXES } from './keys';
import { runScript, runScriptBuffer } from './scripts';

type RedisClient = Redis | Cluster;

export interface JobStoreConfig {
  maxAttempts: number;
  resultLogMaxLen: number;
  resultLogTtlMs: number;
  jobTtlMs: number;
  sessionTtlMs: number;
}

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
  | (OwnerRef & { kind: 'failed'; reason: MissingReason; appended: boolean });

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
}

export class JobStore {
  constructor(
    readonly redis: RedisClient,
    readonly ks: Keyspace,
    readonly cfg: JobStoreConfig,
  ) {}

  private shardOfJob(jobId: string): string {
    const parsed = parseJobId(jobId);
    if (!parsed) throw new Error(`malformed job id ${jobId}`);
    return this.ks.shardOfSession(parsed.sessionId);
  }

  jobKey(jobId: string): string {
    return this.shardOfJob(jobId) + LUA_KEY_SUFFIXES.job + jobId;
  }

  async openSession(s: SessionRecordInit): Promise<'created' | 'exists'> {
    return runScript(
      this.redis,
      'sessionOpen',
      [this.ks.shardOfSession(s.sessionId)],
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
      'sessionResume',
      [this.ks.shardOfSession(sessionId), this.ks.session(sessionId)],
      [sessionId, token, owner, conn, now, this.cfg.sessionTtlMs, rotate.newToken, rotate.tenant ?? ''],
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
      'sessionDetach',
      [this.ks.shardOfSession(sessionId)],
      [sessionId, conn, mode, now, this.cfg.sessionTtlMs],
    );
    return r === 1;
  }

  async getSession(sessionId: string): Promise<Record<string, string> | null> {
    const h = await this.redis.hgetall(this.ks.session(sessionId));
    return Object.keys(h).length ? h : null;
  }

  async createJob(
    j: CreateJobInit,
  ): Promise<{ status: 'created' | 'exists'; state: JobState; attempt: number }> {
    const r = await runScript<[string, JobState, number]>(
      this.redis,
      'jobCreate',
      [this.ks.shardOfSession(j.sessionId)],
      [
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
      ],
    );
    return { status: r[0] as 'created' | 'exists', state: r[1], attempt: Number(r[2]) };
  }

  async dispatch(
    jobId: string,
    expectedAttempt: number,
    nodeId: string,
    nodeInstance: string,
    now: number,
    deadline: number,
  ): Promise<{ status: 'dispatched' | 'already'; attempt: number }> {
    const r = await runScript<[string, number]>(
      this.redis,
      'jobDispatch',
      [this.shardOfJob(jobId)],
      [jobId, expectedAttempt, nodeId, nodeInstance, now, deadline],
    );
    return { status: r[0] as 'dispatched' | 'already', attempt: Number(r[1]) };
  }

  async progress(
    jobId: string,
    attempt: number,
    nodeId: string,
    to: 'accepted' | 'running',
    now: number,
  ): Promise<boolean> {
    const r = await runScript<number>(
      this.redis,
      'jobProgress',
      [this.shardOfJob(jobId)],
      [jobId, attempt, nodeId, to, now],
    );
    return r === 1;
  }

  async complete(
    jobId: string,
    attempt: number,
    nodeId: string,
    result: StoredResult,
    now: number,
  ): Promise<OwnerRef & { status: 'ok' | 'late' | 'dup' }> {
    const r = await runScript<[string, string, string, number, string]>(
      this.redis,
      'jobComplete',
      [this.shardOfJob(jobId)],
      [
        jobId,
        attempt,
        nodeId,
        now,
        encode(result),
        this.cfg.resultLogMaxLen,
        this.cfg.resultLogTtlMs,
        this.cfg.jobTtlMs,
      ],
    );
    return {
      status: r[0] as 'ok' | 'late' | 'dup',
      owner: r[1] ?? '',
      conn: r[2] ?? '',
      index: Number(r[3]),
      sessionId: r[4],
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
    const r = await runScript<(string | number)[]>(
      this.redis,
      'jobFail',
      [this.shardOfJob(jobId)],
      [
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
      ],
    );
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
    const jobId = `${sessionId}.${index}`;
    const r = await runScriptBuffer<[Buffer, Buffer, Buffer]>(
      this.redis,
      'jobDeclareMissing',
      [this.ks.shardOfSession(sessionId)],
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

  async claimDue(shard: number, now: number, limit: number, leaseMs: number): Promise<DueJob[]> {
    const r = await runScript<string[]>(
      this.redis,
      'jobClaimDue',
      [this.ks.shard(shard)],
      [now, limit, leaseMs],
    );
    const out: DueJob[] = [];
    for (let i = 0; i + 3 < r.length; i += 4) {
      out.push({
        jobId: r[i]!,
        state: r[i + 1] as JobState,
        attempt: Number(r[i + 2]),
        node: r[i + 3] ?? '',
      });
    }
    return out;
  }

  /**
   * One job, read in one round trip: its fields as text and its audio (binary) apart. The
   * result blob is left out; the audio is present only until the job is done.
   */
  async getJobRecord(
    jobId: string,
  ): Promise<{ fields: Record<string, string>; audio: Buffer | null } | null> {
    const raw = (await this.redis.hgetallBuffer(this.jobKey(jobId))) as Record<string, Buffer>;
    const fields: Record<string, string> = {};
    let audio: Buffer | null = null;
    for (const [k, v] of Object.entries(raw)) {
      if (k === 'audio') audio = v;
      else if (k !== 'oblob') fields[k] = v.toString();
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
