/**
 * LinguaSession: one client session over `ws /ws/session` (docs/protocol.md), resume-aware.
 *
 * Connection lifecycle: connect → session_init → session_init_ack → open. Any close the SDK did
 * not ask for → reconnect with backoff to the NEXT url (so the session can resume on another
 * gateway) with `resume: { session_id, resume_token, last_result_index }`. Chunks and whole
 * utterances share one seq counter, so on the ack exactly the items with seq > `last_accepted_seq`
 * are sent again, in their original order with their original seq (see unacked.ts).
 */
import {
  abandonTransport,
  type BackoffOptions,
  Connection,
  decodeServerFrame,
  Emitter,
  encodeBinaryAudio,
  type TransportFactory,
  toBase64,
} from '@lingua/protocol/sdk';
import { defaultTransportFactory } from '@lingua/protocol/sdk/ws';
import { UnackedAudio, type UnackedItem } from './unacked';
import type {
  ClientMessage,
  ErrorMessage,
  MissingResult,
  PartialResult,
  RoomJoined,
  RoomLeft,
  RoomMemberJoined,
  RoomMemberLeft,
  RoomMissingResult,
  RoomResult,
  ServerToClientMessage,
  SessionClosed,
  SessionInit,
  SessionInitAck,
  TranslationResult,
  UtteranceAccepted,
} from './wire';

export interface LinguaSessionOptions {
  /** Gateway session endpoints, e.g. `ws://127.0.0.1:8080/ws/session`; each reconnect tries the next one. */
  urls: string[];
  srcLang: string;
  tgtLang: string;
  /** Default `pcm16`. */
  audioFormat?: string;
  /** Default 16000. */
  sampleRate?: number;
  /**
   * v1.11 two-way (interpreter) mode: the speaker may use `srcLang` or `tgtLang`; each result's
   * `src_lang`/`tgt_lang` says which way that utterance was translated. Not with `features.tts`.
   */
  twoWay?: boolean;
  /** `partial` (protocol v1.8): receive `partial` events while utterances are worked on. */
  features?: { tts?: boolean; partial?: boolean };
  /** With auth on, the tenant comes from the token; sending a different one is refused. */
  tenantId?: string;
  /**
   * The session token (a JWT minted by your backend, docs/security.md), or a function called
   * on every (re)connect so an expiring token can be refreshed. Sent as `Authorization: Bearer`
   * in Node, as `?token=` in browsers (they cannot set headers on a WebSocket).
   */
  token?: string | (() => string);
  reconnect?: BackoffOptions;
  /** Bound on unacknowledged audio (raw bytes) kept for resume; default 8 MiB. */
  maxBufferedBytes?: number;
  /** Overrides `ack.config.heartbeat_interval_ms`. */
  heartbeatIntervalMs?: number;
  /** A connection that has no `session_init_ack` after this long is dropped and retried; default 10 s. */
  connectTimeoutMs?: number;
  /** How long `close()` waits for `session_closed`; default 5 s. */
  closeTimeoutMs?: number;
  /** Reconnect when no frame at all arrived for this long (checked at each heartbeat); 0 = off (default). */
  serverTimeoutMs?: number;
  transportFactory?: TransportFactory;
  /**
   * v1.13: send audio as binary frames (raw bytes, no base64: a third fewer bytes, less CPU on
   * both sides) on every connection whose gateway says it accepts them
   * (`session_init_ack.binary_audio`) and whose transport can (`sendBinary`); text frames
   * otherwise. Default true; false always sends JSON.
   */
  binaryAudio?: boolean;
}

export type SessionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed';

export interface SessionClosedInfo {
  /**
   * - `closed`: `close()` got `session_closed`
   * - `close_timeout`: `close()` gave up waiting (or the connection dropped meanwhile)
   * - `local`: `close()` while not connected
   * - `server`: the server sent `session_closed` unasked
   * - `error`: a fatal error (UNAUTHORIZED, RESUME_REJECTED, SESSION_NOT_FOUND, an init error, ...)
   */
  reason: 'closed' | 'close_timeout' | 'local' | 'server' | 'error';
  lastResultIndex: number;
  frame?: SessionClosed;
  error?: LinguaSessionError;
}

export type SessionEvents = {
  result: (result: TranslationResult) => void;
  missing: (missing: MissingResult) => void;
  /**
   * v1.8 (`features.partial`): what a node has of an utterance so far; each replaces the
   * previous one of its index, none comes after the index's `result` / `missing`. Best effort.
   */
  partial: (partial: PartialResult) => void;
  accepted: (accepted: UtteranceAccepted) => void;
  /** Every server `error` frame (and malformed server frames as code `BAD_SERVER_FRAME`). */
  error: (error: ErrorMessage) => void;
  reconnected: (ack: SessionInitAck) => void;
  disconnected: (info: { code: number; reason: string }) => void;
  closed: (info: SessionClosedInfo) => void;
  /**
   * v1.6 rooms: another member's utterance in this session's listen language. v1.10: with
   * `features.tts`, it carries `tts_audio`/`tts_format` or `tts_skipped` (why there is none).
   */
  roomResult: (result: RoomResult) => void;
  /** v1.6 rooms: another member's utterance whose translation for us failed */
  roomMissing: (missing: RoomMissingResult) => void;
  roomMember: (event: RoomMemberJoined | RoomMemberLeft) => void;
};

export class LinguaSessionError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /**
     * The field the server named, when it did: e.g. `features` on NO_POOL_FOR_LANG_PAIR when
     * no node with text-to-speech serves the pair (protocol v1.9; start again without tts).
     */
    readonly field?: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'LinguaSessionError';
  }
}

/** Errors after which the session cannot continue. */
const FATAL_CODES: ReadonlySet<string> = new Set(['UNAUTHORIZED', 'RESUME_REJECTED', 'SESSION_NOT_FOUND']);
/** Errors answering session_init that are worth retrying (elsewhere) instead of giving up. */
const TRANSIENT_INIT_CODES: ReadonlySet<string> = new Set([
  'RATE_LIMITED',
  'BACKPRESSURE',
  'INTERNAL',
  'UNAVAILABLE',
  'DRAINING',
]);

const DEFAULT_MAX_BUFFERED = 8 * 1024 * 1024;

export class LinguaSession extends Emitter<SessionEvents> {
  private readonly opts: LinguaSessionOptions;
  private readonly conn: Connection;
  private readonly unacked: UnackedAudio;

  private currentState: SessionState = 'idle';
  private acked = false;
  /** this connection's gateway takes binary audio and the transport can send it (v1.13) */
  private binaryAudio = false;
  private latestAck: SessionInitAck | null = null;
  private id: string | undefined;
  private token: string | undefined;

  private seq = 0;
  private lastResult = -1;
  private lastAccepted = -1;
  /** highest seq seen accepted (utterance_accepted.last_chunk_seq, resume acks) */
  private lastAcceptedSeq = -1;
  private duplicates = 0;
  /** rooms: highest utterance index delivered per speaker (a replayed one is not emitted twice) */
  private readonly roomHeard = new Map<string, number>();
  private roomWaiter: { type: string; resolve: (m: never) => void; reject: (e: Error) => void } | undefined;
  private lastFrameAt = 0;

  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** RATE_LIMITED: one pending re-send of the unaccepted audio (see onError) */
  private resendTimer: ReturnType<typeof setTimeout> | undefined;
  private resendDue = 0;

  private startPromise: Promise<SessionInitAck> | undefined;
  private startWaiter: { resolve: (ack: SessionInitAck) => void; reject: (err: Error) => void } | undefined;
  private closePromise: Promise<SessionClosed | null> | undefined;
  private closeWaiter: ((frame: SessionClosed | null) => void) | undefined;
  private closedFrame: SessionClosed | null = null;

  constructor(opts: LinguaSessionOptions) {
    super();
    if (!Array.isArray(opts.urls) || opts.urls.length === 0)
      throw new TypeError('urls must be a non-empty array');
    this.opts = { ...opts, urls: [...opts.urls] };
    this.conn = new Connection(
      {
        urls: this.opts.urls,
        factory: opts.transportFactory ?? defaultTransportFactory,
        transportOptions: () => {
          const token = typeof this.opts.token === 'function' ? this.opts.token() : this.opts.token;
          return token === undefined ? {} : { token };
        },
        reconnect: opts.reconnect,
        handshakeTimeoutMs: opts.connectTimeoutMs ?? 10_000,
        handshakeTimeoutReason: 'connect timeout',
      },
      {
        open: () => this.sendFrame(this.initFrame()),
        text: (text) => this.onText(text),
        lost: (code, reason) => this.onDisconnect(code, reason),
        fatal: (err, url) => this.fail('BAD_URL', `cannot open ${url}: ${err.message}`),
      },
    );
    this.unacked = new UnackedAudio(opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED);
  }

  get state(): SessionState {
    return this.currentState;
  }
  get sessionId(): string | undefined {
    return this.id;
  }
  get resumeToken(): string | undefined {
    return this.token;
  }
  /** The most recent session_init_ack (first start or resume). */
  get ack(): SessionInitAck | null {
    return this.latestAck;
  }
  /** Highest utterance_index delivered as `result` or `missing`; -1 before any. */
  get lastResultIndex(): number {
    return this.lastResult;
  }
  /** Results/missing frames dropped because their index was not above lastResultIndex. */
  get duplicateResults(): number {
    return this.duplicates;
  }
  /** Seq the next `sendAudio` or `sendUtterance` gets. */
  get nextSeq(): number {
    return this.seq;
  }
  /** Raw bytes of audio not yet covered by an `utterance_accepted`. */
  get bufferedBytes(): number {
    return this.unacked.bytes;
  }
  /** Chunks and whole utterances kept for resend. */
  get bufferedItems(): readonly UnackedItem[] {
    return this.unacked.list();
  }

  /** Connects and sends session_init; resolves with the first ack. Retries transport failures. */
  start(): Promise<SessionInitAck> {
    if (this.startPromise) return this.startPromise;
    if (this.currentState !== 'idle')
      return Promise.reject(new LinguaSessionError('CLOSED', 'session is closed'));
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
   * Queues one chunk of the audio stream and returns its seq (0, 1, 2, ...). Sent at once when
   * connected, otherwise on the next (re)connect. Throws BufferFullError when the unacknowledged
   * audio would exceed maxBufferedBytes (the chunk is then not taken and consumes no seq).
   */
  sendAudio(data: Uint8Array, opts: { isFinal?: boolean } = {}): number {
    return this.enqueue(data, opts.isFinal === true, false);
  }

  /**
   * Sends one whole utterance (finalized at once by the gateway) and returns its seq. It takes
   * the next `seq` (protocol extension: an `utterance` with `seq` is an `audio_chunk` with
   * `is_final`), so it is kept and resent exactly like chunks: after a resume only when
   * `last_accepted_seq` says it was not accepted, never doubled. Throws BufferFullError like sendAudio.
   */
  sendUtterance(data: Uint8Array): number {
    return this.enqueue(data, true, true);
  }

  /**
   * v1.6: joins a meeting room (docs/protocol.md "Rooms"): this session's utterances are
   * translated for the other members and theirs arrive as `roomResult` / `roomMissing` in
   * `listenLang` (default: the session's tgt_lang). Resolves with `room_joined`.
   */
  joinRoom(roomId: string, opts: { displayName?: string; listenLang?: string } = {}): Promise<RoomJoined> {
    this.roomHeard.clear();
    return this.roomRequest<RoomJoined>('room_joined', {
      type: 'room_join',
      room_id: roomId,
      ...(opts.displayName !== undefined ? { display_name: opts.displayName } : {}),
      ...(opts.listenLang !== undefined ? { listen_lang: opts.listenLang } : {}),
    });
  }

  /** v1.6: leaves the room; resolves with `room_left`. */
  leaveRoom(): Promise<RoomLeft> {
    return this.roomRequest<RoomLeft>('room_left', { type: 'room_leave' });
  }

  private roomRequest<T>(type: string, frame: ClientMessage): Promise<T> {
    if (this.currentState !== 'open' || !this.conn.connected)
      return Promise.reject(new LinguaSessionError('NOT_OPEN', 'the session is not open'));
    if (this.roomWaiter) return Promise.reject(new LinguaSessionError('BUSY', 'a room request is pending'));
    return new Promise<T>((resolve, reject) => {
      this.roomWaiter = { type, resolve: resolve as (m: never) => void, reject };
      this.sendFrame(frame);
    });
  }

  private onRoomFrame(
    msg: RoomJoined | RoomLeft | RoomMemberJoined | RoomMemberLeft | RoomResult | RoomMissingResult,
  ): void {
    switch (msg.type) {
      case 'room_joined':
      case 'room_left': {
        if (msg.type === 'room_left') this.roomHeard.clear();
        const w = this.roomWaiter;
        if (w?.type === msg.type) {
          this.roomWaiter = undefined;
          (w.resolve as (m: typeof msg) => void)(msg);
        }
        return;
      }
      case 'room_member_joined':
      case 'room_member_left':
        this.emit('roomMember', msg);
        return;
      default: {
        const last = this.roomHeard.get(msg.speaker.session_id) ?? -1;
        if (!(msg.utterance_index > last)) {
          this.duplicates++;
          return;
        }
        this.roomHeard.set(msg.speaker.session_id, msg.utterance_index);
        if (msg.type === 'room_result') this.emit('roomResult', msg);
        else this.emit('roomMissing', msg);
      }
    }
  }

  /** Sends session_close and waits for session_closed (null on timeout or when not connected). */
  close(timeoutMs = this.opts.closeTimeoutMs ?? 5000): Promise<SessionClosed | null> {
    if (this.currentState === 'closed') return Promise.resolve(this.closedFrame);
    if (this.closePromise) return this.closePromise;
    if (this.currentState !== 'open' || !this.conn.connected) {
      this.finish({ reason: 'local' });
      return Promise.resolve(null);
    }
    this.currentState = 'closing';
    this.closePromise = new Promise((resolve) => {
      this.closeWaiter = resolve;
    });
    this.sendFrame({ type: 'session_close' });
    this.closeTimer = setTimeout(() => this.finish({ reason: 'close_timeout' }), timeoutMs);
    return this.closePromise;
  }

  // ---- connection ----

  private initFrame(): SessionInit {
    const o = this.opts;
    const frame: SessionInit = {
      type: 'session_init',
      src_lang: o.srcLang,
      tgt_lang: o.tgtLang,
      audio_format: o.audioFormat ?? 'pcm16',
      sample_rate: o.sampleRate ?? 16000,
    };
    if (o.features) frame.features = o.features;
    if (o.twoWay) {
      frame.mode = 'two_way';
      frame.lang_a = o.srcLang;
      frame.lang_b = o.tgtLang;
    }
    if (o.tenantId !== undefined) frame.tenant_id = o.tenantId;
    if (this.id !== undefined && this.token !== undefined) {
      // v1.3: what we saw accepted, so a server whose Redis lost it answers missing_result
      // for those indexes instead of handing them out again.
      frame.resume = {
        session_id: this.id,
        resume_token: this.token,
        last_result_index: this.lastResult,
        next_utterance_index: this.lastAccepted + 1,
        last_accepted_seq: this.lastAcceptedSeq,
        // v1.6: the server restores the room and replays each speaker after these
        ...(this.roomHeard.size
          ? {
              room_heard: [...this.roomHeard].map(([session_id, utterance_index]) => ({
                session_id,
                utterance_index,
              })),
            }
          : {}),
      };
    }
    return frame;
  }

  /** The connection dropped (Connection reconnects unless this closed the session). */
  private onDisconnect(code: number, reason: string): void {
    this.acked = false;
    this.binaryAudio = false;
    this.clearConnectionTimers();
    if (this.currentState === 'closing') {
      this.finish({ reason: 'close_timeout' });
      return;
    }
    if (this.currentState === 'closed') return;
    if (this.currentState === 'open') this.currentState = 'reconnecting';
    this.emit('disconnected', { code, reason });
  }

  // ---- frames ----

  private onText(text: string): void {
    const decoded = decodeServerFrame<ServerToClientMessage>(text);
    if ('error' in decoded) {
      this.emit('error', decoded.error);
      return;
    }
    const msg = decoded.msg;
    this.lastFrameAt = Date.now();
    switch (msg.type) {
      case 'session_init_ack':
        this.onAck(msg);
        break;
      case 'utterance_accepted':
        this.onAccepted(msg);
        break;
      case 'translation_result':
        if (this.admitResult(msg.utterance_index)) this.emit('result', msg);
        break;
      case 'missing_result':
        if (this.admitResult(msg.utterance_index)) this.emit('missing', msg);
        break;
      case 'partial_result':
        if (msg.utterance_index > this.lastResult) this.emit('partial', msg);
        break;
      case 'session_closed':
        this.closedFrame = msg;
        this.finish({ reason: this.currentState === 'closing' ? 'closed' : 'server', frame: msg });
        break;
      case 'error':
        this.onError(msg);
        break;
      case 'room_joined':
      case 'room_left':
      case 'room_member_joined':
      case 'room_member_left':
      case 'room_result':
      case 'room_missing_result':
        this.onRoomFrame(msg);
        break;
      default:
        // server_heartbeat, and message types added later: nothing to do.
        break;
    }
  }

  private onAck(ack: SessionInitAck): void {
    if (this.acked || (this.currentState !== 'connecting' && this.currentState !== 'reconnecting')) return;
    this.conn.established();
    const resumed = this.id !== undefined;
    this.acked = true;
    this.latestAck = ack;
    this.binaryAudio = this.opts.binaryAudio !== false && ack.binary_audio === true && this.conn.sendsBinary;
    this.id = ack.session_id;
    this.token = ack.resume_token;
    this.lastAccepted = Math.max(this.lastAccepted, ack.next_utterance_index - 1);
    this.lastAcceptedSeq = Math.max(this.lastAcceptedSeq, ack.last_accepted_seq);
    this.currentState = 'open';
    this.startHeartbeat(ack);

    const resend = this.unacked.onResume(ack.last_accepted_seq);
    const firstSeq = resend[0]?.seq ?? this.seq;
    if (firstSeq > ack.last_accepted_seq + 1) {
      // The gateway lost audio this client already saw accepted: it cannot be sent again.
      this.emit('error', {
        type: 'error',
        code: 'AUDIO_GAP',
        message: `gateway expects seq ${ack.last_accepted_seq + 1} but the oldest unacknowledged item is ${firstSeq}`,
      });
    }
    for (const item of [...resend]) this.sendItem(item);

    if (resumed) {
      this.emit('reconnected', ack);
    } else {
      const waiter = this.startWaiter;
      this.startWaiter = undefined;
      waiter?.resolve(ack);
    }
  }

  private onAccepted(msg: UtteranceAccepted): void {
    // A replayed frame (e.g. after a resume) is not emitted twice; releasing audio is idempotent.
    if (msg.utterance_index <= this.lastAccepted) return;
    this.lastAccepted = msg.utterance_index;
    if (msg.last_chunk_seq !== undefined)
      this.lastAcceptedSeq = Math.max(this.lastAcceptedSeq, msg.last_chunk_seq);
    this.unacked.onAccepted(msg);
    this.emit('accepted', msg);
  }

  private admitResult(index: number): boolean {
    if (!(index > this.lastResult)) {
      this.duplicates++;
      return false;
    }
    this.lastResult = index;
    return true;
  }

  private onError(msg: ErrorMessage): void {
    this.emit('error', msg);
    if (
      this.roomWaiter &&
      (msg.code.startsWith('ROOM_') || msg.code === 'NOT_IN_ROOM' || msg.field === 'room_id')
    ) {
      const w = this.roomWaiter;
      this.roomWaiter = undefined;
      w.reject(new LinguaSessionError(msg.code, msg.message));
    }
    if (this.currentState === 'closed') return;
    if (this.acked && msg.code === 'RATE_LIMITED') {
      // The gateway refused audio as if it never arrived (protocol v1.2): send what it has
      // not accepted again once the limit allows (duplicates of applied audio are dropped).
      this.scheduleResend(msg.retry_after_ms ?? 1000);
      return;
    }
    if (FATAL_CODES.has(msg.code) || (!this.acked && !TRANSIENT_INIT_CODES.has(msg.code))) {
      this.fail(msg.code, msg.message, msg.field);
    } else if (!this.acked) {
      this.conn.drop(`session_init refused: ${msg.code}`);
    }
  }

  private scheduleResend(delayMs: number): void {
    const due = Date.now() + delayMs;
    if (this.resendTimer !== undefined && this.resendDue >= due) return;
    clearTimeout(this.resendTimer);
    this.resendDue = due;
    this.resendTimer = setTimeout(() => {
      this.resendTimer = undefined;
      if (this.currentState !== 'open') return; // a reconnect re-sends on its own
      for (const item of [...this.unacked.list()]) this.sendItem(item);
    }, delayMs);
    (this.resendTimer as { unref?: () => void }).unref?.();
  }

  // ---- sending ----

  /** Keeps the item for resend (or throws BufferFullError, taking no seq) and sends it when open. */
  private enqueue(data: Uint8Array, isFinal: boolean, whole: boolean): number {
    this.assertWritable();
    this.unacked.reserve(data.byteLength);
    // A copy: the caller may reuse its buffer once this returns (a Buffer's `slice` would not copy).
    const item: UnackedItem = {
      kind: 'chunk',
      seq: this.seq,
      data: new Uint8Array(data),
      isFinal,
      bytes: data.byteLength,
    };
    if (whole) item.whole = true;
    this.unacked.add(item);
    this.seq++;
    if (this.currentState === 'open') this.sendItem(item);
    return item.seq;
  }

  private sendItem(item: UnackedItem): void {
    if (this.binaryAudio) {
      const frame = item.whole
        ? ({ type: 'utterance', seq: item.seq } as const)
        : ({ type: 'audio_chunk', seq: item.seq, is_final: item.isFinal } as const);
      this.conn.sendBinary(encodeBinaryAudio(frame, item.data)); // false: the close event follows
      return;
    }
    const data = toBase64(item.data);
    if (item.whole) this.sendFrame({ type: 'utterance', seq: item.seq, data });
    else this.sendFrame({ type: 'audio_chunk', seq: item.seq, data, is_final: item.isFinal });
  }

  /** Best effort: anything that matters is kept in `unacked` and resent after a reconnect. */
  private sendFrame(frame: ClientMessage): void {
    this.conn.send(JSON.stringify(frame)); // false: the close event follows
  }

  private startHeartbeat(ack: SessionInitAck): void {
    clearInterval(this.heartbeatTimer);
    const every = this.opts.heartbeatIntervalMs ?? ack.config?.heartbeat_interval_ms ?? 10_000;
    const timeout = this.opts.serverTimeoutMs ?? 0;
    this.heartbeatTimer = setInterval(() => {
      if (!this.conn.connected) return;
      if (timeout > 0 && Date.now() - this.lastFrameAt > timeout) {
        this.conn.drop('server timeout');
        return;
      }
      this.sendFrame({ type: 'client_heartbeat', ts: Date.now() });
    }, every);
    // The socket keeps a Node process alive; the heartbeat alone should not.
    (this.heartbeatTimer as { unref?: () => void }).unref?.();
  }

  // ---- shutdown ----

  private assertWritable(): void {
    if (this.currentState === 'closing' || this.currentState === 'closed') {
      throw new LinguaSessionError('CLOSED', 'session is closed');
    }
  }

  private fail(code: string, message: string, field?: string): void {
    this.finish({ reason: 'error', error: new LinguaSessionError(code, message, field) });
  }

  private finish(info: Omit<SessionClosedInfo, 'lastResultIndex'>): void {
    if (this.currentState === 'closed') return;
    this.currentState = 'closed';
    this.clearConnectionTimers();
    clearTimeout(this.closeTimer);
    const t = this.conn.stop();
    if (t) abandonTransport(t, 1000, 'session closed');
    this.unacked.clear();
    const startWaiter = this.startWaiter;
    this.startWaiter = undefined;
    startWaiter?.reject(info.error ?? new LinguaSessionError('CLOSED', 'session closed before it started'));
    const closeWaiter = this.closeWaiter;
    this.closeWaiter = undefined;
    closeWaiter?.(info.frame ?? null);
    this.emit('closed', { ...info, lastResultIndex: this.lastResult });
  }

  private clearConnectionTimers(): void {
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.resendTimer);
    this.resendTimer = undefined;
    this.heartbeatTimer = undefined;
  }
}
