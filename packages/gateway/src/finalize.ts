/**
 * Per-session finalize state machine: cuts a session's audio stream into utterances.
 *
 * Pure: no I/O, no timers. Every method takes `now` (ms) and returns the utterances it
 * finalized; the session actor turns each one into a job and calls `onTick` at `nextDeadline()`.
 *
 * Invariants the protocol relies on:
 * - Utterance indices increase by one per finalized utterance and are never reused.
 * - `lastChunkSeq` of an utterance is the highest seq whose audio is fully inside this or an
 *   earlier utterance, so after a resume the client resends from `lastAcceptedSeq + 1`.
 * - Empty audio never makes an utterance.
 */

export type FinalizeReason = 'is_final' | 'pause' | 'max_duration' | 'max_length' | 'session_close';

export interface FinalizeConfig {
  /** No new audio for this long → finalize with reason `pause`. */
  pauseMs: number;
  /** An utterance longer than this is cut (`max_duration`); only enforced when `bytesPerMs` is known. */
  maxDurationMs: number;
  /** Byte guard against abuse (`max_length`). */
  maxUtteranceBytes: number;
  /** pcm16: sample_rate * 2 / 1000. `null` when the duration is unknown → duration not enforced. */
  bytesPerMs: number | null;
  /** Cut alignment: 2 for pcm16 so a sample is never split, 1 otherwise. */
  frameBytes: number;
  /** At most this many chunks ahead of the expected seq are held while a gap is open. */
  maxReorder: number;
  /** ... and at most this many bytes of them (32 chunks × the largest frame was ~25 MB). */
  maxReorderBytes: number;
  /** Floor of a `max_duration` cut in ms of audio (default MIN_CUT_MS). */
  minCutMs: number;
}

/**
 * A `max_duration` cut is never shorter than this much audio, whatever `maxDurationMs` says:
 * the cut length follows the client's declared rate, and a tiny rate once made one 40 KB chunk
 * into 1,000 jobs. With this floor one frame makes at most frameBytes / (1 s of audio) cuts.
 */
export const MIN_CUT_MS = 1000;

export const FINALIZE_DEFAULTS = {
  pauseMs: 3000,
  maxDurationMs: 20_000,
  maxReorder: 32,
  maxReorderBytes: 1_048_576,
  minCutMs: MIN_CUT_MS,
} as const;

/** Config as callers pass it: the fields in `FINALIZE_DEFAULTS` are optional. */
export type FinalizeConfigInput = Omit<FinalizeConfig, keyof typeof FINALIZE_DEFAULTS> &
  Partial<Pick<FinalizeConfig, keyof typeof FINALIZE_DEFAULTS>>;

export interface Finalized {
  index: number;
  /** A fresh copy; never aliases the caller's chunk buffers. */
  audio: Uint8Array;
  reason: FinalizeReason;
  lastChunkSeq: number;
  /** `audio.length / bytesPerMs`, or null when the byte rate is unknown. */
  durationMs: number | null;
  /** When the first audio of this utterance was received. */
  firstChunkAt: number;
  finalizedAt: number;
}

/**
 * - `accepted`: seq was the expected one; it (and any held chunks now contiguous) were applied.
 * - `duplicate`: seq already applied or already held; dropped (resends after a resume overlap).
 * - `buffered`: seq ahead of the expected one; held until the gap fills.
 * - `gap_overflow`: seq ahead, but the reorder buffer is full; dropped. Tell the client
 *   SEQ_GAP with `expectedSeq` so it resends from there.
 */
export type ChunkStatus = 'accepted' | 'duplicate' | 'buffered' | 'gap_overflow';

export interface ChunkOutcome {
  status: ChunkStatus;
  expectedSeq: number;
  /** Utterances finalized by this call, in index order (may be non-empty for any status). */
  utterances: Finalized[];
}

export interface SegmenterStart {
  /** After a resume: the session's next_utterance_index. */
  nextIndex?: number;
  /** After a resume: last_accepted_seq + 1. */
  nextSeq?: number;
}

interface HeldChunk {
  data: Uint8Array;
  isFinal: boolean;
  receivedAt: number;
}

type LimitReason = 'max_duration' | 'max_length';

/** Opaque state snapshot of an UtteranceSegmenter (see `checkpoint`). */
export interface SegmenterCheckpoint {
  readonly index: number;
  readonly expected: number;
  readonly accepted: number;
  readonly held: Map<number, HeldChunk> | null;
  readonly heldBytes: number;
  readonly parts: Uint8Array[];
  readonly partsLength: number;
  readonly bytes: number;
  readonly firstChunkAt: number;
  readonly lastAudioAt: number;
}

export class UtteranceSegmenter {
  private readonly cfg: FinalizeConfig;
  /** Byte size an utterance may reach, aligned down to frameBytes: min of both limits. */
  private readonly limitBytes: number;
  private readonly limitReason: LimitReason;

  private index: number;
  private expected: number;
  private accepted: number;
  /** chunks waiting for a gap below them; a Map only once one arrives out of order (idle sessions) */
  private held: Map<number, HeldChunk> | null = null;
  private heldBytes = 0;

  private parts: Uint8Array[] = [];
  private bytes = 0;
  private firstChunkAt = 0;
  private lastAudioAt = Number.NEGATIVE_INFINITY;

  constructor(config: FinalizeConfigInput, start: SegmenterStart = {}) {
    // One literal, not a spread of the defaults: a spread gave every session's config a
    // hidden class of its own (~300 B each, seen in `npm run bench:heap`).
    const D = FINALIZE_DEFAULTS;
    const cfg: FinalizeConfig = {
      pauseMs: config.pauseMs ?? D.pauseMs,
      maxDurationMs: config.maxDurationMs ?? D.maxDurationMs,
      maxUtteranceBytes: config.maxUtteranceBytes,
      bytesPerMs: config.bytesPerMs,
      frameBytes: config.frameBytes,
      maxReorder: config.maxReorder ?? D.maxReorder,
      maxReorderBytes: config.maxReorderBytes ?? D.maxReorderBytes,
      minCutMs: config.minCutMs ?? D.minCutMs,
    };
    const { frameBytes, bytesPerMs } = cfg;
    if (!Number.isInteger(frameBytes) || frameBytes < 1)
      throw new RangeError('frameBytes must be an integer >= 1');
    if (!(cfg.pauseMs > 0)) throw new RangeError('pauseMs must be > 0');
    if (!(cfg.maxDurationMs > 0)) throw new RangeError('maxDurationMs must be > 0');
    if (bytesPerMs !== null && !(bytesPerMs > 0)) throw new RangeError('bytesPerMs must be > 0 or null');
    if (!Number.isInteger(cfg.maxReorder) || cfg.maxReorder < 0) {
      throw new RangeError('maxReorder must be an integer >= 0');
    }
    if (!(cfg.maxReorderBytes >= 0)) throw new RangeError('maxReorderBytes must be >= 0');
    if (!(cfg.minCutMs >= 0)) throw new RangeError('minCutMs must be >= 0');
    const lengthLimit = alignDown(cfg.maxUtteranceBytes, frameBytes);
    const durationLimit =
      bytesPerMs === null
        ? Number.POSITIVE_INFINITY
        : alignDown(Math.max(cfg.maxDurationMs, cfg.minCutMs) * bytesPerMs, frameBytes);
    if (!(lengthLimit >= frameBytes)) throw new RangeError('maxUtteranceBytes must be >= frameBytes');
    if (!(durationLimit >= frameBytes))
      throw new RangeError('maxDurationMs * bytesPerMs must be >= frameBytes');
    // Both limits are byte sizes once the rate is known, so the smaller one is always hit
    // first; on a tie max_length wins (the abuse guard is the stricter statement).
    this.limitBytes = Math.min(lengthLimit, durationLimit);
    this.limitReason = lengthLimit <= durationLimit ? 'max_length' : 'max_duration';
    this.cfg = cfg;

    const nextIndex = start.nextIndex ?? 0;
    const nextSeq = start.nextSeq ?? 0;
    if (!Number.isInteger(nextIndex) || nextIndex < 0)
      throw new RangeError('nextIndex must be an integer >= 0');
    if (!Number.isInteger(nextSeq) || nextSeq < 0) throw new RangeError('nextSeq must be an integer >= 0');
    this.index = nextIndex;
    this.expected = nextSeq;
    this.accepted = nextSeq - 1;
  }

  /** Index the next finalized utterance will get. */
  get nextIndex(): number {
    return this.index;
  }

  /** Seq of the next chunk to apply; everything below it was applied (or is a duplicate). */
  get expectedSeq(): number {
    return this.expected;
  }

  /** Bytes in the current (not yet finalized) utterance. */
  get bufferedBytes(): number {
    return this.bytes;
  }

  /** Highest seq fully contained in an already-finalized utterance. */
  get lastAcceptedSeq(): number {
    return this.accepted;
  }

  /** Chunks held ahead of a seq gap. */
  get heldChunks(): number {
    return this.held?.size ?? 0;
  }

  /** Bytes of the chunks held ahead of a seq gap (bounded by maxReorderBytes). */
  get heldChunkBytes(): number {
    return this.heldBytes;
  }

  /**
   * Remembers the state so that `rollback` can undo the calls made after it: the session
   * actor feeds a frame, sees how many utterances it finalized, and refuses it (rate limit)
   * without any trace in the seq bookkeeping. O(1) unless chunks are held ahead of a gap.
   */
  checkpoint(): SegmenterCheckpoint {
    return {
      index: this.index,
      expected: this.expected,
      accepted: this.accepted,
      held: this.held?.size ? new Map(this.held) : null,
      heldBytes: this.heldBytes,
      parts: this.parts,
      partsLength: this.parts.length,
      bytes: this.bytes,
      firstChunkAt: this.firstChunkAt,
      lastAudioAt: this.lastAudioAt,
    };
  }

  /** Back to the state of `c` (the latest checkpoint; utterances finalized since are void). */
  rollback(c: SegmenterCheckpoint): void {
    this.index = c.index;
    this.expected = c.expected;
    this.accepted = c.accepted;
    this.held = c.held;
    this.heldBytes = c.heldBytes;
    // finalize() swaps in a new array and only ever pushes onto the current one, so the
    // remembered array plus its old length is exactly the old buffer.
    this.parts = c.parts;
    this.parts.length = c.partsLength;
    this.bytes = c.bytes;
    this.firstChunkAt = c.firstChunkAt;
    this.lastAudioAt = c.lastAudioAt;
  }

  /**
   * One `audio_chunk`. Every entry point first finalizes an overdue pause, so a late tick
   * gives the same utterances as an on-time one. The segmenter keeps references to `data`
   * until it is finalized: do not mutate it afterwards.
   */
  onChunk(seq: number, data: Uint8Array, isFinal: boolean, now: number): ChunkOutcome {
    if (!Number.isInteger(seq)) throw new RangeError(`seq must be an integer, got ${seq}`);
    const out: Finalized[] = [];
    this.finalizeOverduePause(now, out);

    if (seq < this.expected || this.held?.has(seq)) return this.outcome('duplicate', out);
    if (seq > this.expected) {
      this.held ??= new Map();
      if (this.held.size >= this.cfg.maxReorder || this.heldBytes + data.length > this.cfg.maxReorderBytes) {
        return this.outcome('gap_overflow', out);
      }
      this.held.set(seq, { data, isFinal, receivedAt: now });
      this.heldBytes += data.length;
      // Audio is still arriving, so the current utterance is not paused.
      if (data.length > 0) this.lastAudioAt = Math.max(this.lastAudioAt, now);
      return this.outcome('buffered', out);
    }

    this.apply(data, isFinal, now, now, out);
    for (let next = this.held?.get(this.expected); next; next = this.held?.get(this.expected)) {
      this.held!.delete(this.expected);
      this.heldBytes -= next.data.length;
      this.apply(next.data, next.isFinal, next.receivedAt, now, out);
    }
    return this.outcome('accepted', out);
  }

  /**
   * One whole `utterance` message: appended to the current buffer and finalized as `is_final`.
   * It carries no seq, so its lastChunkSeq is the last applied seq. The byte limits still apply.
   */
  onUtterance(data: Uint8Array, now: number): Finalized[] {
    const out: Finalized[] = [];
    this.finalizeOverduePause(now, out);
    const lastSeq = this.expected - 1;
    this.append(data, now, lastSeq, now, out);
    if (this.bytes > 0) out.push(this.finalize('is_final', lastSeq, now));
    return out;
  }

  /** Call at `nextDeadline()`: finalizes `pause` once no audio arrived for pauseMs. */
  onTick(now: number): Finalized[] {
    const out: Finalized[] = [];
    this.finalizeOverduePause(now, out);
    return out;
  }

  /**
   * Session closes: finalize what is buffered as `session_close`. Held chunks beyond a seq
   * gap can never be applied and are discarded (check `heldChunks` first to log them).
   */
  onClose(now: number): Finalized[] {
    const out: Finalized[] = [];
    this.finalizeOverduePause(now, out);
    if (this.bytes > 0) out.push(this.finalize('session_close', this.expected - 1, now));
    this.held = null;
    this.heldBytes = 0;
    return out;
  }

  /** When `onTick` should run next; null while nothing is buffered. */
  nextDeadline(): number | null {
    return this.bytes > 0 ? this.lastAudioAt + this.cfg.pauseMs : null;
  }

  private outcome(status: ChunkStatus, utterances: Finalized[]): ChunkOutcome {
    return { status, expectedSeq: this.expected, utterances };
  }

  private finalizeOverduePause(now: number, out: Finalized[]): void {
    if (this.bytes > 0 && now - this.lastAudioAt >= this.cfg.pauseMs) {
      out.push(this.finalize('pause', this.expected - 1, now));
    }
  }

  /** Applies the chunk with seq === expected. */
  private apply(data: Uint8Array, isFinal: boolean, receivedAt: number, now: number, out: Finalized[]): void {
    const seq = this.expected;
    this.append(data, receivedAt, seq - 1, now, out);
    this.expected = seq + 1;
    if (isFinal && this.bytes > 0) out.push(this.finalize('is_final', seq, now));
  }

  /**
   * Appends audio, cutting at chunk boundaries: if `data` does not fit, the buffer is
   * finalized first and `data` starts the next utterance. Only `data` that alone exceeds the
   * limit is split into limit-sized pieces; the pieces before the remainder are finalized with
   * `seqBefore` (this chunk is not fully accepted yet) and the remainder stays buffered.
   */
  private append(
    data: Uint8Array,
    receivedAt: number,
    seqBefore: number,
    now: number,
    out: Finalized[],
  ): void {
    if (data.length === 0) return;
    this.lastAudioAt = Math.max(this.lastAudioAt, receivedAt);
    const limit = this.limitBytes;
    if (this.bytes > 0 && this.bytes + data.length > limit) {
      out.push(this.finalize(this.limitReason, seqBefore, now));
    }
    let offset = 0;
    while (data.length - offset > limit) {
      this.addPart(data.subarray(offset, offset + limit), receivedAt);
      out.push(this.finalize(this.limitReason, seqBefore, now));
      offset += limit;
    }
    this.addPart(offset === 0 ? data : data.subarray(offset), receivedAt);
  }

  private addPart(part: Uint8Array, receivedAt: number): void {
    if (this.bytes === 0) this.firstChunkAt = receivedAt;
    this.parts.push(part);
    this.bytes += part.length;
  }

  private finalize(reason: FinalizeReason, lastChunkSeq: number, now: number): Finalized {
    const audio = new Uint8Array(this.bytes);
    let offset = 0;
    for (const part of this.parts) {
      audio.set(part, offset);
      offset += part.length;
    }
    const bytesPerMs = this.cfg.bytesPerMs;
    const utterance: Finalized = {
      index: this.index++,
      audio,
      reason,
      lastChunkSeq,
      durationMs: bytesPerMs === null ? null : audio.length / bytesPerMs,
      firstChunkAt: this.firstChunkAt,
      finalizedAt: now,
    };
    this.accepted = Math.max(this.accepted, lastChunkSeq);
    this.parts = [];
    this.bytes = 0;
    return utterance;
  }
}

function alignDown(n: number, frame: number): number {
  return Math.floor(n / frame) * frame;
}
