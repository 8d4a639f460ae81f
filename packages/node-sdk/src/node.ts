/**
 * LinguaNode: a compute node over `ws /ws/node` (docs/protocol.md).
 *
 * connect → node_register → node_register_ack → heartbeats + jobs. Every job_assign is answered
 * with job_accepted at once; handlers run at most `maxConcurrentJobs` at a time (extra
 * assignments wait locally, in arrival order). A cancelled job's signal is aborted and nothing
 * is sent for it. A result that cannot be sent (socket down) is kept and sent after the next
 * registration; whether it still counts is the gateway's decision (stale attempts are dropped).
 * node_register and every heartbeat list the jobs held and the unsent results (`job_ids`,
 * protocol v1.4), so the gateway fails over at once whatever this node no longer has.
 */
import {
  type BackoffOptions,
  Connection,
  decodeBinaryJobAssign,
  decodeServerFrame,
  Emitter,
  encodeBinaryTts,
  fromBase64,
  type Transport,
  type TransportFactory,
  toBase64,
} from '@lingua/protocol/sdk';
import { defaultTransportFactory } from '@lingua/protocol/sdk/ws';
import type {
  ErrorMessage,
  JobAssign,
  JobCancel,
  JobResult,
  NodeHeartbeat,
  NodeMessage,
  NodeRegister,
  NodeRegisterAck,
  ServerToNodeMessage,
} from './wire';

export type Service = NodeRegister['services'][number];
export type Hardware = NonNullable<NodeRegister['hardware']>;
export type Resource = NonNullable<NodeHeartbeat['resource']>;
export interface JobError {
  code: string;
  message: string;
  retryable?: boolean;
}

export type JobOutcome =
  | {
      success: true;
      text_asr: string;
      text_translated: string;
      /**
       * The speech: base64 (sent as it is, in a text job_result), or the bytes (v1.13: sent as
       * a binary job_result to a gateway that takes it with `binaryAudio`, else as base64).
       */
      tts_audio?: string | Uint8Array;
      tts_format?: string;
      /** Filled with the measured handler time when absent. */
      processing_ms?: number;
      /**
       * v1.11, required for a two-way job (`job.features.two_way`): the direction the node's
       * language ID chose — (job.src_lang, job.tgt_lang) or the reverse. Ignored otherwise.
       */
      src_lang?: string;
      tgt_lang?: string;
    }
  | { success: false; error: JobError; processing_ms?: number };

export interface JobContext {
  /** Aborted on job_cancel and on close(); the outcome of an aborted job is never sent. */
  signal: AbortSignal;
  /**
   * Sends job_progress (best effort; dropped while disconnected or after cancel). A string is
   * the transcript so far (`partial_text`); protocol v1.8 also takes the translation so far.
   * Sessions that asked for `features.partial` see them as `partial_result`.
   */
  progress(partial: string | PartialTexts): void;
}

/** What a job has so far (protocol v1.8 `job_progress.partial_text` / `partial_translated`). */
export interface PartialTexts {
  text_asr?: string;
  text_translated?: string;
}

export type JobHandler = (job: JobAssign, ctx: JobContext) => Promise<JobOutcome>;

/** The audio of jobs that came as binary frames (v1.12): their `audio` field is ''. */
const binaryAudio = new WeakMap<JobAssign, Uint8Array>();

/** The decoded audio bytes of a job (from a binary frame as they came, else from base64). */
export function jobAudio(job: JobAssign): Uint8Array {
  return binaryAudio.get(job) ?? fromBase64(job.audio);
}

/** The TTS of results whose handler returned bytes (v1.13): their `tts_audio` field is ''. */
const binaryTts = new WeakMap<JobResult, Uint8Array>();

/**
 * The TTS bytes of a job_result (the `result` event's): the bytes a handler returned, or the
 * decoded base64; undefined without TTS.
 */
export function resultTts(result: JobResult): Uint8Array | undefined {
  if (!result.success) return undefined;
  return binaryTts.get(result) ?? (result.tts_audio ? fromBase64(result.tts_audio) : undefined);
}

export interface LinguaNodeOptions {
  /** Gateway node endpoints, e.g. `ws://127.0.0.1:8080/ws/node`; reconnects go round-robin. */
  urls: string[];
  nodeId: string;
  /**
   * The node token (a JWT whose `node_id` allows `nodeId`; docs/security.md), sent in
   * node_register, never in the URL. A function is called on every (re)registration, so an
   * expiring token can be refreshed.
   */
  token?: string | (() => string);
  services: Service[];
  asrLangs: string[];
  ttsLangs: string[];
  maxConcurrentJobs: number;
  hardware?: Hardware;
  version?: string;
  platform?: string;
  /** Overrides `node_register_ack.heartbeat_interval_ms`. */
  heartbeatIntervalMs?: number;
  reconnect?: BackoffOptions;
  handler: JobHandler;
  /**
   * false: register still warming up (protocol v1.7 `ready: false`); the node gets no job
   * until `markReady()`. Default true.
   */
  ready?: boolean;
  /**
   * The pairs (`src:tgt`) whose models are loaded now, for each heartbeat (protocol v1.7
   * `models`, at most 256): a pair this node left by answering MODEL_NOT_AVAILABLE rejoins its
   * pool once listed.
   */
  models?: () => string[] | undefined;
  /** Load figures for each heartbeat. */
  resource?: () => Resource | undefined;
  /** A connection without node_register_ack after this long is dropped and retried; default 10 s. */
  registerTimeoutMs?: number;
  /** Results kept while disconnected; the oldest are dropped beyond this (default 1000). */
  maxUnsentResults?: number;
  transportFactory?: TransportFactory;
  /**
   * v1.12: ask for `job_assign` as binary frames (raw audio, no base64). Then a job's `audio`
   * field is '' and handlers read the bytes with `jobAudio(job)`. Only asked when the transport
   * delivers binary frames. Default false.
   *
   * v1.13: also send results whose handler returned `tts_audio` as bytes as binary
   * `job_result` frames, when the gateway's `node_register_ack` says `binary_audio` and the
   * transport can send binary (a base64 string result is sent as text, as it is).
   */
  binaryAudio?: boolean;
}

export type NodeState = 'idle' | 'connecting' | 'registered' | 'reconnecting' | 'closed';

/** What the node tells the gateway about taking jobs (protocol v1.7). */
export type NodeReadiness = 'warmup' | 'ready' | 'unavailable';

export type NodeEvents = {
  /** Every successful registration, the first one included. */
  registered: (ack: NodeRegisterAck) => void;
  /** Registrations after a dropped connection. */
  reconnected: (ack: NodeRegisterAck) => void;
  disconnected: (info: { code: number; reason: string }) => void;
  job: (job: JobAssign) => void;
  cancel: (cancel: JobCancel) => void;
  /** A finished job's result: `sent` false means it is kept for the next registration. */
  result: (result: JobResult, sent: boolean) => void;
  /** Server `error` frames (malformed server frames as code `BAD_SERVER_FRAME`). */
  error: (error: ErrorMessage) => void;
  closed: (info: { reason: 'closed' | 'error'; error?: LinguaNodeError }) => void;
};

export class LinguaNodeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'LinguaNodeError';
  }
}

/** Errors answering node_register that are worth retrying instead of giving up. */
const TRANSIENT_REGISTER_CODES: ReadonlySet<string> = new Set([
  'RATE_LIMITED',
  'BACKPRESSURE',
  'INTERNAL',
  'UNAVAILABLE',
  'DRAINING',
]);

interface HeldJob {
  key: string;
  job: JobAssign;
  abort: AbortController;
  running: boolean;
}

const jobKey = (jobId: string, attempt: number) => `${jobId}#${attempt}`;

/** protocol v1.4 bound on `job_ids` */
const MAX_JOB_IDS = 4096;
/** protocol v1.7 bound on `node_heartbeat.models` */
const MAX_MODELS = 256;
/** protocol v1.7 bound on `node_unavailable.reason` */
const MAX_UNAVAILABLE_REASON = 256;

export class LinguaNode extends Emitter<NodeEvents> {
  private readonly opts: LinguaNodeOptions;
  private readonly conn: Connection;

  private currentState: NodeState = 'idle';
  private ackd = false;
  /** this connection sends results with TTS bytes as binary frames (v1.13) */
  private binaryResults = false;
  private everRegistered = false;
  private latestAck: NodeRegisterAck | null = null;
  private isDraining = false;
  private readinessState: NodeReadiness;
  private unavailableReason: string | undefined;

  private readonly held = new Map<string, HeldJob>();
  private waiting: HeldJob[] = [];
  private active = 0;
  private unsent: JobResult[] = [];

  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;

  private startPromise: Promise<NodeRegisterAck> | undefined;
  private startWaiter: { resolve: (ack: NodeRegisterAck) => void; reject: (err: Error) => void } | undefined;
  private idleWaiters: Array<() => void> = [];
  private closePromise: Promise<void> | undefined;

  constructor(opts: LinguaNodeOptions) {
    super();
    if (!Array.isArray(opts.urls) || opts.urls.length === 0)
      throw new TypeError('urls must be a non-empty array');
    if (!Number.isInteger(opts.maxConcurrentJobs) || opts.maxConcurrentJobs < 1) {
      throw new RangeError('maxConcurrentJobs must be an integer >= 1');
    }
    this.opts = { ...opts, urls: [...opts.urls] };
    this.readinessState = opts.ready === false ? 'warmup' : 'ready';
    this.conn = new Connection(
      {
        urls: this.opts.urls,
        factory: opts.transportFactory ?? defaultTransportFactory,
        reconnect: opts.reconnect,
        handshakeTimeoutMs: opts.registerTimeoutMs ?? 10_000,
        handshakeTimeoutReason: 'register timeout',
      },
      {
        open: () => this.sendFrame(this.registerFrame()),
        text: (text) => this.onText(text),
        binary: (bytes) => this.onBinary(bytes),
        lost: (code, reason) => this.onDisconnect(code, reason),
        fatal: (err, url) =>
          void this.shutdown({
            reason: 'error',
            error: new LinguaNodeError('BAD_URL', `${url}: ${err.message}`),
          }),
      },
    );
  }

  get state(): NodeState {
    return this.currentState;
  }
  get nodeId(): string {
    return this.opts.nodeId;
  }
  /** The most recent node_register_ack. */
  get ack(): NodeRegisterAck | null {
    return this.latestAck;
  }
  /** Jobs held (running + waiting for a slot); what heartbeats report as running_jobs. */
  get heldJobs(): number {
    return this.held.size;
  }
  /** Handlers currently running (never above maxConcurrentJobs). */
  get runningJobs(): number {
    return this.active;
  }
  /** Results waiting for a connection. */
  get unsentResults(): number {
    return this.unsent.length;
  }
  get draining(): boolean {
    return this.isDraining;
  }
  get readiness(): NodeReadiness {
    return this.readinessState;
  }

  /**
   * Warm-up finished, or back from `markUnavailable`: the gateway selects this node again
   * (node_ready now; every heartbeat and re-registration repeats it).
   */
  markReady(): void {
    this.readinessState = 'ready';
    this.unavailableReason = undefined;
    if (this.ackd) this.sendFrame({ type: 'node_ready' });
  }

  /**
   * No new jobs for now (e.g. GPU overheated); jobs held are still run and answered. Until
   * `markReady()`, re-registrations say so too.
   */
  markUnavailable(reason?: string): void {
    this.readinessState = 'unavailable';
    this.unavailableReason = reason?.slice(0, MAX_UNAVAILABLE_REASON);
    if (this.ackd) this.sendFrame(this.unavailableFrame());
  }

  private unavailableFrame(): NodeMessage {
    const r = this.unavailableReason;
    return r === undefined ? { type: 'node_unavailable' } : { type: 'node_unavailable', reason: r };
  }

  /** Connects and registers; resolves with the first ack. Transport failures are retried forever. */
  start(): Promise<NodeRegisterAck> {
    if (this.startPromise) return this.startPromise;
    if (this.currentState !== 'idle') return Promise.reject(new LinguaNodeError('CLOSED', 'node is closed'));
    this.startPromise = new Promise((resolve, reject) => {
      this.startWaiter = { resolve, reject };
    });
    // Failures also arrive as the 'closed' event; a caller that does not await start() must not
    // get an unhandled rejection. Awaiting callers still see it.
    this.startPromise.catch(() => {});
    this.currentState = 'connecting';
    this.conn.connect();
    return this.startPromise;
  }

  /**
   * Sends node_drain (again after every re-registration) and resolves once no job is held and
   * every result was sent (or the node closed).
   */
  drain(): Promise<void> {
    this.isDraining = true;
    if (this.ackd) this.sendFrame({ type: 'node_drain' });
    const done = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.checkIdle();
    return done;
  }

  /** Stops reconnecting, aborts running handlers (their results are not sent) and closes the socket. */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.closePromise = this.shutdown({ reason: 'closed' });
    return this.closePromise;
  }

  // ---- connection ----

  private registerFrame(): NodeRegister {
    const o = this.opts;
    const frame: NodeRegister = {
      type: 'node_register',
      node_id: o.nodeId,
      services: o.services,
      asr_langs: o.asrLangs,
      tts_langs: o.ttsLangs,
      max_concurrent_jobs: o.maxConcurrentJobs,
    };
    const token = typeof o.token === 'function' ? o.token() : o.token;
    if (token !== undefined) frame.token = token;
    if (o.version !== undefined) frame.version = o.version;
    if (o.platform !== undefined) frame.platform = o.platform;
    if (o.hardware !== undefined) frame.hardware = o.hardware;
    frame.job_ids = this.jobIds();
    if (this.readinessState !== 'ready') frame.ready = false;
    if (o.binaryAudio && this.conn.binary) frame.binary_audio = true;
    return frame;
  }

  /** Jobs held (running or waiting for a slot) and results not sent yet, each job once. */
  private jobIds(): string[] {
    const ids = new Set<string>();
    for (const h of this.held.values()) ids.add(h.job.job_id);
    for (const r of this.unsent) ids.add(r.job_id);
    return [...ids].slice(0, MAX_JOB_IDS);
  }

  /** The connection dropped (Connection reconnects unless this closed the node). */
  private onDisconnect(code: number, reason: string): void {
    this.ackd = false;
    this.binaryResults = false;
    this.clearConnectionTimers();
    if (this.currentState === 'closed') return;
    if (this.currentState === 'registered') this.currentState = 'reconnecting';
    this.emit('disconnected', { code, reason });
  }

  // ---- frames ----

  /** v1.12: a binary `job_assign`; anything else binary is reported and ignored. */
  private onBinary(bytes: Uint8Array): void {
    const d = decodeBinaryJobAssign(bytes);
    if (!d.ok) {
      this.emit('error', { type: 'error', code: 'BAD_SERVER_FRAME', message: d.message });
      return;
    }
    const msg = d.frame as unknown as JobAssign;
    binaryAudio.set(msg, d.audio);
    this.onAssign(msg);
  }

  private onText(text: string): void {
    const decoded = decodeServerFrame<ServerToNodeMessage>(text);
    if ('error' in decoded) {
      this.emit('error', decoded.error);
      return;
    }
    const msg = decoded.msg;
    switch (msg.type) {
      case 'node_register_ack':
        this.onAck(msg);
        break;
      case 'job_assign':
        this.onAssign(msg);
        break;
      case 'job_cancel':
        this.onCancel(msg);
        break;
      case 'error':
        this.onError(msg);
        break;
      default:
        // server_heartbeat and message types added later.
        break;
    }
  }

  private onAck(ack: NodeRegisterAck): void {
    if (this.ackd || this.currentState === 'closed') return;
    this.conn.established();
    const first = !this.everRegistered;
    this.ackd = true;
    this.binaryResults = this.opts.binaryAudio === true && ack.binary_audio === true && this.conn.sendsBinary;
    this.everRegistered = true;
    this.latestAck = ack;
    this.currentState = 'registered';
    this.startHeartbeat(ack);
    if (this.isDraining) this.sendFrame({ type: 'node_drain' });
    // Registered with ready: false (warmup); say why, so operators see it.
    if (this.readinessState === 'unavailable') this.sendFrame(this.unavailableFrame());
    this.flushUnsent();
    this.emit('registered', ack);
    if (!first) this.emit('reconnected', ack);
    const waiter = this.startWaiter;
    this.startWaiter = undefined;
    waiter?.resolve(ack);
  }

  private onError(msg: ErrorMessage): void {
    this.emit('error', msg);
    if (this.currentState === 'closed') return;
    if (msg.code === 'UNAUTHORIZED' || (!this.ackd && !TRANSIENT_REGISTER_CODES.has(msg.code))) {
      void this.shutdown({ reason: 'error', error: new LinguaNodeError(msg.code, msg.message) });
    } else if (!this.ackd || msg.code === 'NODE_NOT_REGISTERED') {
      // Refused for now, or the gateway forgot this node: register again on a fresh connection.
      this.conn.drop(`re-register after ${msg.code}`);
    }
  }

  private onAssign(job: JobAssign): void {
    if (typeof job.job_id !== 'string' || !Number.isInteger(job.attempt)) {
      this.emit('error', {
        type: 'error',
        code: 'BAD_SERVER_FRAME',
        message: 'job_assign without job_id/attempt',
      });
      return;
    }
    if (this.currentState === 'closed') return;
    const accepted = { type: 'job_accepted', job_id: job.job_id, attempt: job.attempt } as const;
    const key = jobKey(job.job_id, job.attempt);
    if (this.held.has(key)) {
      // Redelivered assignment: confirm again, run once.
      this.sendFrame(accepted);
      return;
    }
    const h: HeldJob = { key, job, abort: new AbortController(), running: false };
    this.held.set(key, h);
    this.waiting.push(h);
    this.sendFrame(accepted);
    this.emit('job', job);
    this.pump();
  }

  private onCancel(cancel: JobCancel): void {
    const matches = (jobId: string, attempt: number) =>
      jobId === cancel.job_id && (cancel.attempt === undefined || attempt === cancel.attempt);
    for (const h of [...this.held.values()]) {
      if (!matches(h.job.job_id, h.job.attempt)) continue;
      h.abort.abort(abortError(`job cancelled: ${cancel.reason ?? 'cancel'}`));
      if (!h.running) {
        this.held.delete(h.key);
        this.waiting = this.waiting.filter((w) => w !== h);
      }
    }
    // A result still waiting for a connection is stale now.
    this.unsent = this.unsent.filter((r) => !matches(r.job_id, r.attempt));
    this.emit('cancel', cancel);
    this.checkIdle();
  }

  // ---- jobs ----

  private pump(): void {
    while (this.active < this.opts.maxConcurrentJobs && this.waiting.length > 0) {
      void this.run(this.waiting.shift()!);
    }
  }

  private async run(h: HeldJob): Promise<void> {
    h.running = true;
    this.active++;
    const { job, abort } = h;
    const started = performance.now();
    const ctx: JobContext = {
      signal: abort.signal,
      progress: (partial) => {
        if (abort.signal.aborted || !this.ackd) return;
        const p = typeof partial === 'string' ? { text_asr: partial } : partial;
        this.sendFrame({
          type: 'job_progress',
          job_id: job.job_id,
          attempt: job.attempt,
          ...(p.text_asr !== undefined ? { partial_text: p.text_asr } : {}),
          ...(p.text_translated !== undefined ? { partial_translated: p.text_translated } : {}),
        });
      },
    };
    let outcome: JobOutcome | undefined;
    try {
      outcome = await this.opts.handler(job, ctx);
      if (!outcome || typeof outcome !== 'object') throw new Error('handler returned no outcome');
    } catch (err) {
      outcome = {
        success: false,
        error: { code: 'HANDLER_ERROR', message: (err as Error)?.message ?? String(err), retryable: true },
      };
    }
    this.active--;
    this.held.delete(h.key);
    if (!abort.signal.aborted && this.currentState !== 'closed') {
      this.deliver(resultFrame(job, outcome, performance.now() - started));
    }
    this.pump();
    this.checkIdle();
  }

  private deliver(frame: JobResult): void {
    const sent = this.ackd && this.sendResult(frame);
    if (!sent) {
      this.unsent.push(frame);
      const max = this.opts.maxUnsentResults ?? 1000;
      if (this.unsent.length > max) this.unsent.splice(0, this.unsent.length - max);
    }
    this.emit('result', frame, sent);
  }

  private flushUnsent(): void {
    const pending = this.unsent;
    this.unsent = [];
    for (let i = 0; i < pending.length; i++) {
      if (!this.sendResult(pending[i]!)) {
        this.unsent = pending.slice(i).concat(this.unsent);
        return;
      }
    }
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.idleWaiters.length === 0) return;
    if (this.currentState !== 'closed' && (this.held.size > 0 || this.unsent.length > 0)) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  // ---- sending ----

  private sendFrame(frame: NodeMessage): boolean {
    return this.conn.send(JSON.stringify(frame));
  }

  /** A result whose handler returned TTS bytes goes binary when this connection allows it (v1.13). */
  private sendResult(frame: JobResult): boolean {
    const tts = binaryTts.get(frame);
    if (tts === undefined || !frame.success) return this.sendFrame(frame);
    if (this.binaryResults) return this.conn.sendBinary(encodeBinaryTts(frame, tts));
    return this.sendFrame({ ...frame, tts_audio: toBase64(tts) });
  }

  private startHeartbeat(ack: NodeRegisterAck): void {
    clearInterval(this.heartbeatTimer);
    const every = this.opts.heartbeatIntervalMs ?? ack.heartbeat_interval_ms ?? 5000;
    this.heartbeatTimer = setInterval(() => {
      const frame: NodeHeartbeat = {
        type: 'node_heartbeat',
        running_jobs: this.held.size,
        job_ids: this.jobIds(),
        // A level, so a node_ready lost with a connection is repaired by the next heartbeat.
        ready: this.readinessState === 'ready',
      };
      const resource = this.opts.resource?.();
      if (resource) frame.resource = resource;
      const models = this.opts.models?.();
      if (models) frame.models = models.slice(0, MAX_MODELS);
      this.sendFrame(frame);
    }, every);
    (this.heartbeatTimer as { unref?: () => void }).unref?.();
  }

  // ---- shutdown ----

  private async shutdown(info: { reason: 'closed' | 'error'; error?: LinguaNodeError }): Promise<void> {
    if (this.currentState === 'closed') return;
    this.currentState = 'closed';
    this.ackd = false;
    this.clearConnectionTimers();
    for (const h of this.held.values()) h.abort.abort(abortError('node closing'));
    this.held.clear();
    this.waiting = [];
    this.unsent = [];
    const t = this.conn.stop();
    if (t) await closeGracefully(t);
    const waiter = this.startWaiter;
    this.startWaiter = undefined;
    waiter?.reject(info.error ?? new LinguaNodeError('CLOSED', 'node closed before it registered'));
    this.checkIdle();
    this.emit('closed', info);
  }

  private clearConnectionTimers(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }
}

function resultFrame(job: JobAssign, outcome: JobOutcome, elapsedMs: number): JobResult {
  const processing_ms = outcome.processing_ms ?? Math.round(elapsedMs);
  const ids = { type: 'job_result', job_id: job.job_id, attempt: job.attempt } as const;
  if (!outcome.success) {
    return { ...ids, success: false, error: { ...outcome.error }, processing_ms };
  }
  const frame: JobResult = {
    ...ids,
    success: true,
    text_asr: outcome.text_asr,
    text_translated: outcome.text_translated,
    processing_ms,
  };
  if (typeof outcome.tts_audio === 'string') frame.tts_audio = outcome.tts_audio;
  else if (outcome.tts_audio !== undefined) {
    frame.tts_audio = '';
    binaryTts.set(frame, outcome.tts_audio);
  }
  if (outcome.tts_format !== undefined) frame.tts_format = outcome.tts_format;
  if (outcome.src_lang !== undefined) frame.src_lang = outcome.src_lang;
  if (outcome.tgt_lang !== undefined) frame.tgt_lang = outcome.tgt_lang;
  return frame;
}

function abortError(message: string): Error {
  const err = new Error(message);
  err.name = 'AbortError';
  return err;
}

/** Normal close; resolves on the close event or after a short grace period. */
function closeGracefully(t: Transport, graceMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, graceMs);
    function done() {
      clearTimeout(timer);
      t.onclose = null;
      resolve();
    }
    t.onopen = null;
    t.onmessage = null;
    t.onclose = done;
    try {
      t.close(1000, 'node closing');
    } catch {
      done();
    }
  });
}
