/**
 * One client session on this instance: the single writer for its audio stream. Frames are
 * processed one at a time through a bounded queue (overflow → BACKPRESSURE). The pure parts
 * are UtteranceSegmenter (finalize.ts) and ResultOrderer (result-order.ts); this module only
 * wires them to Redis, the job lifecycle and the socket, driven by one timer.
 */
import { randomUUID } from 'node:crypto';
import {
  type Envelope,
  isScriptError,
  jobIdFor,
  LinguaScriptError,
  type LoggedOutcome,
  ScriptErrorCode,
  type TakeResult,
} from '@lingua/cluster';
import type { ClientMessage, SessionInit } from '@lingua/protocol';
import { pairAllowed, type SessionAuthContext } from './auth';
import type { GatewayContext, Transport } from './context';
import { ConversationContext } from './conversation-context';
import { type ChunkOutcome, type Finalized, UtteranceSegmenter } from './finalize';
import { LocalBucket } from './local-bucket';
import type { Logger } from './logger';
import { classify } from './loss-audit';
import { ResultOrderer } from './result-order';
import { RoomSeat } from './room-seat';
import { outcomeFrame, partialResult, sessionInitAck, utteranceAccepted } from './session-frames';
import { handshake, type SessionInfo } from './session-handshake';
import { checkSessionInit } from './session-init-check';

type State = 'new' | 'initializing' | 'open' | 'closing' | 'closed';

/** room_join/room_leave per connection: a burst, then this rate (each change reaches every member). */
const ROOM_CHANGE_BURST = 5;
const ROOM_CHANGES_PER_S = 0.5;

export class SessionActor {
  readonly conn = randomUUID();
  sessionId: string | undefined;
  private state: State = 'new';
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private seg: UtteranceSegmenter | undefined;
  private order: ResultOrderer<LoggedOutcome> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private lastFrameAt: number;
  private closeBy = 0;
  private lastNode: string | undefined;
  /** numbers this connection's token takes (a re-sent take is then harmless) */
  private takes = 0;
  private readonly roomChanges = new LocalBucket(ROOM_CHANGES_PER_S, ROOM_CHANGE_BURST);
  /** the index the orderer waits on next, when it is checked next, and the check interval */
  private head = { index: -1, at: 0, every: 0 };
  private resumeToken = '';
  /** the previous final texts the next job carries (v1.8 job_assign.context) */
  private convo: ConversationContext | undefined;
  /** partial results (v1.8): the latest attempt heard per index without an outcome yet */
  private partialAttempts: Map<number, number> | undefined;
  /** accepted on this connection, no outcome delivered yet: index → accepted at (loss audit) */
  private readonly acceptedAt = new Map<number, number>();
  private info: SessionInfo = {
    tenant: 'default',
    src: '',
    tgt: '',
    fmt: 'pcm16',
    rate: 16000,
    features: {},
  };
  /** Created on first use: most sessions never log, and two pino children cost ~0.9 KB each session. */
  private logger: Logger | undefined;
  private logBindings: { conn: string; session?: string };
  /** the session's meeting room, once it sent room_join (room-seat.ts) */
  private room: RoomSeat | undefined;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly transport: Transport,
    /** what the connection's session token allows (auth.ts); {} when auth is off */
    readonly auth: SessionAuthContext,
  ) {
    this.logBindings = { conn: this.conn };
    this.lastFrameAt = ctx.now();
  }

  private get log(): Logger {
    this.logger ??= this.ctx.log.child(this.logBindings);
    return this.logger;
  }

  /**
   * A validated frame from the socket. Bounded: a client that floods gets BACKPRESSURE.
   * `audio`: a binary frame's audio (v1.13), owned by the actor; then `msg.data` is "".
   */
  receive(msg: ClientMessage, audio?: Uint8Array): void {
    this.lastFrameAt = this.ctx.now();
    if (this.pending >= this.ctx.cfg.sessionQueueMax) {
      this.error('BACKPRESSURE', `more than ${this.ctx.cfg.sessionQueueMax} frames pending; slow down`);
      return;
    }
    this.pending++;
    this.queue = this.queue
      .then(() => this.handle(msg, audio))
      .catch((err) => this.fail(err))
      .finally(() => {
        this.pending--;
      });
  }

  private run(fn: () => Promise<void>): void {
    this.queue = this.queue.then(fn).catch((err) => this.fail(err));
  }

  private fail(err: unknown): void {
    if (err instanceof LinguaScriptError && err.code === ScriptErrorCode.SESSION_MOVED) {
      this.transport.close(4001, 'session resumed on another connection');
      return;
    }
    this.ctx.metrics.redisErrors.inc({ op: 'session' });
    this.log.warn({ err, session: this.sessionId }, 'session frame failed');
    this.error(isUnavailable(err) ? 'UNAVAILABLE' : 'INTERNAL', 'the request could not be completed; resume');
    // Audio may have been cut into an utterance that is not recorded: close, so the client
    // resumes (from the last accepted seq) and re-sends it once Redis answers again.
    if (this.state === 'open' || this.state === 'closing') {
      this.state = 'closed';
      this.transport.close(1011, 'temporarily unavailable; resume');
    }
  }

  private error(
    code: string,
    message: string,
    extra: { field?: string; retry_after_ms?: number } = {},
  ): void {
    this.ctx.metrics.framesRejected.inc({ kind: 'session', code });
    this.transport.send({ type: 'error', code, message, ...extra });
  }

  private async handle(msg: ClientMessage, audio: Uint8Array | undefined): Promise<void> {
    if (this.state === 'closed') return;
    if (msg.type === 'session_init') return this.init(msg);
    if (msg.type === 'client_heartbeat') {
      this.transport.send({ type: 'server_heartbeat', ts: this.ctx.now() });
      return;
    }
    if (this.state !== 'open' && this.state !== 'closing') {
      this.error('NOT_INITIALIZED', 'send session_init first');
      return;
    }
    if (this.state === 'closing') {
      this.error('SESSION_CLOSED', 'session_close was received; no more audio is accepted');
      return;
    }
    const now = this.ctx.now();
    switch (msg.type) {
      case 'audio_chunk':
        await this.feed(msg.seq, () =>
          this.seg!.onChunk(msg.seq, audio ?? decodeB64(msg.data), msg.is_final === true, now),
        );
        break;
      case 'utterance': {
        const seq = msg.seq;
        if (seq !== undefined) {
          // Sequenced whole utterance (extension): exactly an audio_chunk with is_final.
          await this.feed(seq, () => this.seg!.onChunk(seq, audio ?? decodeB64(msg.data), true, now));
        } else {
          await this.feed(undefined, () => ({
            status: 'accepted',
            expectedSeq: this.seg!.expectedSeq,
            utterances: this.seg!.onUtterance(audio ?? decodeB64(msg.data), now),
          }));
        }
        break;
      }
      case 'room_join':
      case 'room_leave': {
        if (msg.type === 'room_join' && this.info.features.two_way === true) {
          // v1.11: a room lane translates from one language; a two-way speaker has two.
          this.error('BAD_MESSAGE', 'room_join: a two-way session cannot join a room', { field: 'type' });
          break;
        }
        // Each change is told to every member's instance: bounded per connection.
        const wait = this.roomChanges.take(now);
        if (wait > 0) {
          this.error(
            'RATE_LIMITED',
            `${msg.type}: at most ${ROOM_CHANGE_BURST} room changes at once, then one per ${1 / ROOM_CHANGES_PER_S} s`,
            { retry_after_ms: wait },
          );
          break;
        }
        if (msg.type === 'room_join') await this.seat().join(msg);
        else await this.seat().leave(true);
        break;
      }
      case 'session_close':
        this.state = 'closing';
        await this.accept(this.seg!.onClose(now), true);
        this.closeBy = now + this.ctx.cfg.gapTimeoutMs;
        await this.maybeFinishClose();
        break;
    }
    this.schedule();
  }

  /**
   * Feeds one audio frame to the segmenter. When the utterances it finalizes are over the
   * session's or the tenant's rate, the frame is refused as if it never arrived (the segmenter
   * is rolled back, so seq bookkeeping, resume and last_accepted_seq stay exact) and the client
   * is told which limit, which seq to resend and when.
   */
  private async feed(seq: number | undefined, step: () => ChunkOutcome): Promise<void> {
    const seg = this.seg!;
    const mark = seg.checkpoint();
    const out = step();
    if (out.utterances.length > 0) {
      let r: TakeResult;
      try {
        r = await this.ctx.quotas.takeUtterances(
          this.info.tenant,
          this.sessionId!,
          out.utterances.length,
          false,
          `${this.conn}:${++this.takes}`,
        );
      } catch (err) {
        seg.rollback(mark);
        throw err;
      }
      if (!r.ok) {
        seg.rollback(mark);
        this.rateLimited(seq, out.utterances.length, r);
        return;
      }
    }
    if (out.status === 'gap_overflow') {
      this.error('SEQ_GAP', `seq ${seq} is too far ahead; resend from seq ${out.expectedSeq}`);
    }
    await this.accept(out.utterances);
  }

  private rateLimited(seq: number | undefined, n: number, r: Extract<TakeResult, { ok: false }>): void {
    const cfg = this.ctx.cfg;
    const limit =
      r.scope === 'session'
        ? `${cfg.sessionUtteranceRate} utterances/s per session (burst ${cfg.sessionUtteranceBurst}, LINGUA_SESSION_UTTERANCE_RATE)`
        : `${cfg.tenantUtteranceRate} utterances/s for tenant "${this.info.tenant}" (burst ${cfg.tenantUtteranceBurst}, LINGUA_TENANT_UTTERANCE_RATE)`;
    const what =
      seq === undefined
        ? 'the utterance was not accepted; send it again'
        : `seq ${seq} was not accepted (nothing of it was kept); resend from seq ${this.seg!.expectedSeq}`;
    this.error(
      'RATE_LIMITED',
      `rate limit of ${limit} reached by ${n} utterance(s): ${what} in ${r.retryAfterMs} ms`,
      { ...(seq === undefined ? {} : { field: 'seq' }), retry_after_ms: r.retryAfterMs },
    );
  }

  private async init(msg: SessionInit): Promise<void> {
    if (this.state !== 'new') {
      this.error('BAD_MESSAGE', 'session_init: the session is already initialized');
      return;
    }
    const problem = checkSessionInit(msg);
    if (problem) {
      this.error('BAD_MESSAGE', problem.message, { field: problem.field });
      return;
    }
    if (this.ctx.draining) {
      this.error('DRAINING', 'this instance is shutting down; reconnect');
      this.transport.close(1012, 'draining');
      return;
    }
    // With auth on, the tenant is the token's: a different tenant_id is a spoofing attempt.
    const tenant = this.auth.tenant;
    if (tenant !== undefined && msg.tenant_id !== undefined && msg.tenant_id !== tenant) {
      this.unauthorized(`tenant_id "${msg.tenant_id}" is not the tenant of your token`);
      return;
    }
    if (!msg.resume && !pairAllowed(this.auth, msg.src_lang, msg.tgt_lang)) {
      this.unauthorized(`your token does not allow ${msg.src_lang}:${msg.tgt_lang}`);
      return;
    }
    // v1.11: a two-way session translates both ways; the token must allow both.
    if (!msg.resume && msg.mode === 'two_way' && !pairAllowed(this.auth, msg.tgt_lang, msg.src_lang)) {
      this.unauthorized(`your token does not allow ${msg.tgt_lang}:${msg.src_lang} (mode "two_way")`);
      return;
    }
    this.state = 'initializing';
    try {
      await this.initSession(msg);
    } catch (err) {
      // Never half-initialised: back to 'new' (the client may retry session_init), then
      // fail() answers INTERNAL / UNAVAILABLE. A session still bound (a resume that failed
      // after its script) leaves the tenant quota when the socket closes.
      if (this.state === 'initializing') this.state = 'new';
      throw err;
    }
  }

  private async initSession(msg: SessionInit): Promise<void> {
    const { cfg, store } = this.ctx;
    const h = await handshake(
      {
        ctx: this.ctx,
        conn: this.conn,
        log: this.log,
        tenant: this.auth.tenant,
        error: (code, message, field) => this.error(code, message, field ? { field } : {}),
        admit: (tenant, sessionId) => this.admit(tenant, sessionId),
        bind: (sessionId) => {
          this.sessionId = sessionId;
        },
      },
      msg,
    );
    if (!h) {
      this.state = 'new';
      return;
    }
    this.sessionId = h.sessionId;
    this.info = h.info;
    const { nextIndex, lastAcceptedSeq, lastResultIndex, resumeToken } = h;
    const pcm = this.info.fmt === 'pcm16';
    const declaredRate = Number((msg as { byte_rate?: unknown }).byte_rate);
    const bytesPerMs = pcm ? (this.info.rate * 2) / 1000 : declaredRate > 0 ? declaredRate / 1000 : null;
    this.seg = new UtteranceSegmenter(
      {
        pauseMs: cfg.pauseMs,
        maxDurationMs: cfg.maxDurationMs,
        maxUtteranceBytes: cfg.maxUtteranceBytes,
        bytesPerMs,
        frameBytes: pcm ? 2 : 1,
        maxReorder: cfg.maxReorder,
        maxReorderBytes: cfg.maxReorderBytes,
      },
      { nextIndex, nextSeq: lastAcceptedSeq + 1 },
    );
    this.order = new ResultOrderer<LoggedOutcome>({
      gapTimeoutMs: cfg.gapTimeoutMs,
      nextIndex: lastResultIndex + 1,
    });
    if (cfg.contextUtterances > 0)
      this.convo = new ConversationContext({
        maxUtterances: cfg.contextUtterances,
        windowMs: cfg.contextWindowMs,
        maxBytes: cfg.contextMaxBytes,
      });
    this.resumeToken = resumeToken;
    this.logBindings = { conn: this.conn, session: this.sessionId! };
    this.logger = undefined;
    this.ctx.sessions.get(this.sessionId!)?.kick(); // an older socket of ours for the same session
    this.ctx.sessions.set(this.sessionId!, this);
    this.state = 'open';
    this.transport.send(
      sessionInitAck({
        sessionId: h.sessionId,
        resumeToken,
        instanceId: cfg.instanceId,
        nextIndex,
        lastAcceptedSeq,
        config: {
          pause_ms: cfg.pauseMs,
          max_duration_ms: cfg.maxDurationMs,
          heartbeat_interval_ms: cfg.heartbeatIntervalMs,
        },
      }),
    );
    if (msg.resume) {
      // Replay every logged outcome after the client's last index, then live ones follow.
      for (const o of await store.readResults(this.sessionId!, lastResultIndex)) this.deliver(o);
      // Back into its meeting room, if any, and the room results it missed (room-seat.ts).
      await this.seat().restore(msg.resume.room_heard);
    }
    this.schedule();
  }

  /** Into the tenant's session quota; tells the client when it is full. */
  private async admit(tenant: string, sessionId: string): Promise<boolean> {
    const q = await this.ctx.quotas.admitSession(tenant, sessionId, this.conn, this.auth.maxSessions);
    if (q.ok) return true;
    this.error(
      'RATE_LIMITED',
      `tenant "${tenant}" has ${q.live} concurrent sessions, its limit is ${q.max} ` +
        "(LINGUA_TENANT_MAX_SESSIONS or the token's max_sessions): close a session or retry later",
      { retry_after_ms: this.ctx.cfg.sessionLeaseMs },
    );
    return false;
  }

  /** A credential problem at session_init: UNAUTHORIZED, then close 1008 (docs/protocol.md). */
  private unauthorized(message: string): void {
    this.ctx.metrics.authRefused.inc({ kind: 'session', reason: 'not_allowed' });
    this.error('UNAUTHORIZED', message);
    this.state = 'closed';
    this.transport.close(1008, 'unauthorized');
  }

  /**
   * Records each finalized utterance as a job (durable) before telling the client. `forced`:
   * finalized by the server (pause, close, idle), not by a frame it could refuse: the tokens
   * are debited anyway so these count toward the rate too.
   */
  private async accept(utterances: Finalized[], forced = false): Promise<void> {
    if (forced && utterances.length > 0) {
      await this.ctx.quotas.takeUtterances(
        this.info.tenant,
        this.sessionId!,
        utterances.length,
        true,
        `${this.conn}:${++this.takes}`,
      );
    }
    for (const u of utterances) {
      const jobId = jobIdFor(this.sessionId!, u.index);
      this.ctx.metrics.utterances.inc({ reason: u.reason });
      const listeners = (await this.room?.plan(u)) ?? null;
      // The room's lanes before the session's own job: once the utterance is accepted, its
      // translations for the room exist too. After it, an instance dying in between left the
      // listeners of other languages to the gap timeout (found by `lingua drill room`).
      if (listeners) await this.room!.fanout(u, listeners);
      const accepted = utteranceAccepted(u, jobId);
      const context = this.convo?.next(u) ?? [];
      const r = await this.restoringSession(() =>
        this.ctx.jobs.dispatchNew(
          {
            jobId,
            sessionId: this.sessionId!,
            index: u.index,
            tenant: this.info.tenant,
            src: this.info.src,
            tgt: this.info.tgt,
            audioFormat: this.info.fmt,
            sampleRate: this.info.rate,
            features: this.info.features,
            audio: u.audio,
            context,
            lastChunkSeq: u.lastChunkSeq,
            reason: u.reason,
            now: this.ctx.now(),
            owner: this.ctx.cfg.instanceId,
            conn: this.conn,
          },
          this.lastNode,
          u.finalizedAt,
          // Sent the moment the job is durable and before its assignment leaves, so on this
          // socket the acceptance of an index always precedes its result.
          () => {
            this.acceptedAt.set(u.index, this.ctx.now());
            this.transport.send(accepted);
          },
        ),
      );
      if (r.nodeId) this.lastNode = r.nodeId;
    }
  }

  /** The meeting room this session sits in, if any (room-leases.ts renews its membership). */
  get roomId(): string | undefined {
    return this.room?.roomId;
  }

  get tenant(): string {
    return this.info.tenant;
  }

  private seat(): RoomSeat {
    if (!this.room) {
      const self = this;
      this.room = new RoomSeat(this.ctx, {
        conn: this.conn,
        get sessionId() {
          return self.sessionId!;
        },
        get info() {
          return self.info;
        },
        get log() {
          return self.log;
        },
        send: (frame) => this.transport.send(frame),
        error: (code, message, extra) => this.error(code, message, extra),
      });
    }
    return this.room;
  }

  /** An outcome of one of this speaker's room lanes (router.ts). */
  onLaneOutcome(lang: string, outcome: LoggedOutcome): void {
    if (this.state === 'closed') return;
    this.room?.laneOutcome(lang, outcome);
  }

  /** A room frame for this session as a listener (router.ts). */
  onRoomEnvelope(env: Extract<Envelope, { t: 'room-outcome' | 'room-member' }>): void {
    if (!this.room || this.state === 'closed') return;
    if (env.t === 'room-member') this.room.onMember(env);
    else this.room.onOutcome(env);
    this.schedule();
  }

  /**
   * When the next index's outcome has not arrived for LINGUA_RESULT_CHECK_MS, look it up in
   * the result log: a delivery can die with the instance that decided it (between its script
   * and the send), and this finds it within seconds instead of at the gap timeout. While the
   * index is simply still being worked on, the interval doubles (up to 8×): one read per
   * waiting session every few seconds at most, so overload does not feed on itself.
   */
  private resultCheckAt(now: number): number | null {
    if (!this.seg || !this.order || this.order.nextIndex >= this.seg.nextIndex) return null;
    if (this.head.index !== this.order.nextIndex) {
      const every = this.ctx.cfg.resultCheckMs;
      this.head = { index: this.order.nextIndex, at: now + every, every };
    }
    return this.head.at;
  }

  private async checkResults(now: number): Promise<void> {
    const at = this.resultCheckAt(now);
    if (at === null || now < at || !this.order || !this.seg) return;
    this.head.every = Math.min(this.head.every * 2, this.ctx.cfg.resultCheckMs * 8);
    this.head.at = now + this.head.every;
    // The head, then each next index while found (several deliveries may have been lost).
    let found = 0;
    for (let i = this.order.nextIndex; i < this.seg.nextIndex && found < 64; i++) {
      const o = await this.ctx.store.outcomeOf(this.sessionId!, i);
      if (!o) break;
      found++;
      this.deliver(o);
    }
    this.ctx.metrics.resultChecks.inc({ found: found > 0 ? 'yes' : 'no' });
  }

  /** An outcome routed to us through the inbox (or replayed from the result log). */
  onOutcome(outcome: LoggedOutcome): void {
    if (!this.order || this.state === 'closed') return;
    this.deliver(outcome);
    this.schedule();
  }

  /**
   * A node's partial result (protocol v1.8, router.ts): sent only to a session that asked for
   * them, never once the index's outcome is here (delivered or held), and never for an
   * attempt older than one already heard (a failover raced it). Best effort: not logged.
   */
  onPartial(env: Extract<Envelope, { t: 'partial' }>): void {
    const order = this.order;
    if (!order || !this.seg || this.state === 'closed' || this.info.features.partial !== true) return;
    const m = this.ctx.metrics.partialResults;
    if (order.has(env.index) || env.index >= this.seg.nextIndex) {
      m.inc({ outcome: order.has(env.index) ? 'after_final' : 'unknown_index' });
      return;
    }
    this.partialAttempts ??= new Map();
    const heard = this.partialAttempts;
    if (env.attempt < (heard.get(env.index) ?? 0)) {
      m.inc({ outcome: 'stale_attempt' });
      return;
    }
    heard.set(env.index, env.attempt);
    if (heard.size > 64) for (const i of heard.keys()) if (order.has(i)) heard.delete(i);
    this.transport.send(partialResult(env));
    m.inc({ outcome: 'delivered' });
  }

  private deliver(outcome: LoggedOutcome): void {
    const out = this.order!.push(
      { index: outcome.index, kind: outcome.kind, payload: outcome },
      this.ctx.now(),
    );
    if (out.status === 'overflow') {
      // Far ahead of a gap: settle the gaps now, then the item comes again via the log.
      this.run(() => this.settleGaps(true));
      return;
    }
    for (const item of out.deliver) {
      this.acceptedAt.delete(item.index);
      this.sendOutcome(item.payload);
    }
    if (this.state === 'closing') this.run(() => this.maybeFinishClose());
  }

  private sendOutcome(o: LoggedOutcome): void {
    if (o.kind === 'result' && o.result.node_id) this.lastNode = o.result.node_id;
    if (o.kind === 'result') this.convo?.delivered(o.index, o.result.text_asr, o.result.text_translated);
    this.transport.send(outcomeFrame(o));
    this.room?.ownOutcome(o);
    this.ctx.metrics.resultsDelivered.inc({ kind: o.kind === 'result' ? 'result' : 'missing' });
  }

  /**
   * Redis lost this session's record (a failover to a replica that lagged, a restart without
   * fsync) while this connection still owns it: write it again from what this actor knows
   * (job-create then moves next_index / last_accepted_seq forward again) and retry once.
   */
  private async restoringSession<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!isScriptError(err, ScriptErrorCode.NOT_FOUND) || this.state !== 'open') throw err;
      const created = await this.ctx.store.openSession({
        sessionId: this.sessionId!,
        tenant: this.info.tenant,
        src: this.info.src,
        tgt: this.info.tgt,
        audioFormat: this.info.fmt,
        sampleRate: this.info.rate,
        features: this.info.features,
        owner: this.ctx.cfg.instanceId,
        conn: this.conn,
        resumeToken: this.resumeToken,
        now: this.ctx.now(),
      });
      this.log.warn(
        { session: this.sessionId, created },
        'session record lost by Redis: restored by its owner',
      );
      return fn();
    }
  }

  /**
   * Loss audit (loss-audit.ts): accepted indexes still without an outcome, accepted at or
   * before `cutoff`, whose job Redis no longer has get a missing marker now; those that have an
   * outcome we never received are re-read from the result log. Returns how many were lost.
   */
  auditLoss(cutoff: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.run(async () => {
        try {
          resolve(await this.auditLossNow(cutoff));
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  private async auditLossNow(cutoff: number): Promise<number> {
    const order = this.order;
    if (!order || !this.sessionId || this.state === 'closed') return 0;
    const indexes: number[] = [];
    for (const [index, at] of this.acceptedAt) {
      if (index < order.nextIndex) this.acceptedAt.delete(index);
      else if (at <= cutoff) indexes.push(index);
    }
    if (!indexes.length) return 0;
    const rows = await Promise.all(
      indexes.map((i) =>
        this.ctx.redis.hmget(this.ctx.store.jobKey(jobIdFor(this.sessionId!, i)), 'state', 'outcome'),
      ),
    );
    let lost = 0;
    let decided = false;
    const now = this.ctx.now();
    for (const [k, [state, outcome]] of rows.entries()) {
      const verdict = classify(state ?? null, outcome ?? null);
      if (verdict === 'lost') {
        lost++;
        this.deliver(await this.ctx.store.declareMissing(this.sessionId, indexes[k]!, 'failed', now));
      } else if (verdict === 'decided') decided = true;
    }
    if (decided) {
      for (const o of await this.ctx.store.readResults(this.sessionId, order.nextIndex - 1)) this.deliver(o);
    }
    this.schedule();
    return lost;
  }

  /** Gaps past their timeout: persist a missing marker (first writer wins) and deliver the winner. */
  private async settleGaps(force = false): Promise<void> {
    if (!this.order) return;
    const now = this.ctx.now();
    const due = force ? this.order.tick(now + this.ctx.cfg.gapTimeoutMs) : this.order.tick(now);
    for (const index of due.declareMissing) {
      const winner = await this.ctx.store.declareMissing(this.sessionId!, index, 'timeout', now);
      this.deliver(winner);
    }
    if (force) {
      for (const o of await this.ctx.store.readResults(this.sessionId!, this.order.nextIndex - 1))
        this.deliver(o);
    }
  }

  private async maybeFinishClose(): Promise<void> {
    if (this.state !== 'closing' || !this.seg || !this.order) return;
    const now = this.ctx.now();
    if (this.order.nextIndex < this.seg.nextIndex && now < this.closeBy) return;
    // Past the bound: every index still open is declared missing explicitly.
    for (let i = this.order.nextIndex; i < this.seg.nextIndex; i++) {
      this.deliver(await this.ctx.store.declareMissing(this.sessionId!, i, 'timeout', now));
    }
    if (this.state !== 'closing') return;
    this.state = 'closed';
    await this.room?.leave(false);
    await this.ctx.store.detachSession(this.sessionId!, this.conn, 'close', now);
    await this.ctx.quotas.releaseSession(this.sessionId!, this.conn);
    this.transport.send({ type: 'session_closed', last_result_index: this.order.nextIndex - 1 });
    this.transport.close(1000, 'session closed');
  }

  /** One timer for pause finalize, gap timeouts, close bound and idle timeout. */
  private schedule(): void {
    if (this.state === 'closed') return;
    const now = this.ctx.now();
    const candidates = [
      this.seg?.nextDeadline() ?? null,
      this.order?.nextDeadline() ?? null,
      this.state === 'closing' ? this.closeBy : null,
      this.resultCheckAt(now),
      this.room?.nextDeadline() ?? null,
      this.lastFrameAt + this.ctx.cfg.sessionIdleTimeoutMs,
    ].filter((t): t is number => t !== null);
    const at = Math.max(now, Math.min(...candidates));
    if (this.timer && this.timerAt === at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run(() => this.onTimer());
    }, at - now);
    this.timer.unref();
  }

  private async onTimer(): Promise<void> {
    if (this.state === 'closed') return;
    const now = this.ctx.now();
    if (this.seg && this.state === 'open') await this.accept(this.seg.onTick(now), true);
    await this.checkResults(now);
    await this.settleGaps();
    await this.room?.onTimer(now);
    if (this.state === 'closing') await this.maybeFinishClose();
    if (this.state === 'open' && now - this.lastFrameAt >= this.ctx.cfg.sessionIdleTimeoutMs) {
      this.log.info({ session: this.sessionId }, 'idle timeout: closing the session');
      this.state = 'closing';
      if (this.seg) await this.accept(this.seg.onClose(now), true);
      this.closeBy = now + this.ctx.cfg.gapTimeoutMs;
      await this.maybeFinishClose();
    }
    if (this.state === 'new' && now - this.lastFrameAt >= this.ctx.cfg.sessionIdleTimeoutMs) {
      this.transport.close(1000, 'idle');
    }
    this.schedule();
  }

  /** Another connection took over this session (resume): stop writing to this socket. */
  kick(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.transport.close(4001, 'session resumed on another connection');
    this.dispose();
  }

  /** Graceful shutdown of this instance: the client resumes on another one (results wait in the log). */
  handOff(): void {
    if (this.state === 'closed') return;
    this.transport.send({
      type: 'error',
      code: 'DRAINING',
      message: 'this instance is shutting down; resume elsewhere',
    });
    this.transport.close(1012, 'instance draining; resume on another instance');
  }

  /** The socket closed. Audio not yet finalized is dropped: the client resends it on resume. */
  onSocketClosed(): void {
    const wasOpen = this.state === 'open' || this.state === 'closing';
    this.dispose();
    if (wasOpen && this.sessionId) {
      this.ctx.store.detachSession(this.sessionId, this.conn, 'detach', this.ctx.now()).catch(() => {});
    }
    // Leaves the tenant quota (a no-op when another connection resumed it meanwhile).
    if (this.sessionId) this.ctx.quotas.releaseSession(this.sessionId, this.conn).catch(() => {});
    this.state = 'closed';
  }

  private dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.sessionId && this.ctx.sessions.get(this.sessionId) === this)
      this.ctx.sessions.delete(this.sessionId);
  }
}

function decodeB64(data: string): Uint8Array {
  return Buffer.from(data, 'base64');
}

function isUnavailable(err: unknown): boolean {
  const s = String(err);
  return /Connection is closed|ECONNREFUSED|Command timed out|MaxRetriesPerRequest|enableOfflineQueue/.test(
    s,
  );
}
