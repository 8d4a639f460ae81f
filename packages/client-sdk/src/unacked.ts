/**
 * Audio the gateway has not yet confirmed as part of a finalized utterance: what the client
 * must send again after a resume. Pure bookkeeping, no I/O.
 *
 * Every item carries a seq from the session's one audio counter: chunks, and whole utterances
 * too (an `utterance` with `seq` is an `audio_chunk` with `is_final`, a protocol extension). So
 * one rule covers both: an item is covered once an `utterance_accepted` (any reason) carries
 * `last_chunk_seq >= seq`, or a resume ack carries `last_accepted_seq >= seq`. What remains is
 * re-sent in the original order with its original seq: an accepted utterance is never re-sent
 * (no duplicate index), an unaccepted one always is (none lost).
 */

/** One `audio_chunk`, or with `whole` one `utterance` message (then `isFinal` is true). */
export interface UnackedItem {
  kind: 'chunk';
  seq: number;
  /** the audio (the SDK's own copy), encoded per connection: binary frame or base64 */
  data: Uint8Array;
  isFinal: boolean;
  /** Raw (decoded) bytes. */
  bytes: number;
  whole?: boolean;
}

export interface AcceptedInfo {
  reason: string;
  last_chunk_seq?: number;
}

export class BufferFullError extends Error {
  readonly code = 'BUFFER_FULL';
  constructor(
    readonly bufferedBytes: number,
    readonly maxBufferedBytes: number,
    readonly requestedBytes: number,
  ) {
    super(
      `unacknowledged audio would exceed maxBufferedBytes (${bufferedBytes} + ${requestedBytes} > ${maxBufferedBytes}); ` +
        'wait for utterance_accepted or reconnect before sending more',
    );
    this.name = 'BufferFullError';
  }
}

export class UnackedAudio {
  private items: UnackedItem[] = [];
  private total = 0;

  constructor(readonly maxBytes: number) {}

  /** Raw (decoded) bytes kept. */
  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.items.length;
  }

  /** Items in send order. */
  list(): readonly UnackedItem[] {
    return this.items;
  }

  /** Throws BufferFullError when `bytes` more would exceed the bound. */
  reserve(bytes: number): void {
    if (this.total + bytes > this.maxBytes) throw new BufferFullError(this.total, this.maxBytes, bytes);
  }

  add(item: UnackedItem): void {
    this.reserve(item.bytes);
    this.items.push(item);
    this.total += item.bytes;
  }

  /** Any reason: the frame's utterance ends at `last_chunk_seq`, so everything up to it is in. */
  onAccepted(frame: AcceptedInfo): void {
    if (frame.last_chunk_seq !== undefined) this.coverThrough(frame.last_chunk_seq);
  }

  /** Prunes what a resume ack covers and returns what must be sent again, in the original order. */
  onResume(lastAcceptedSeq: number): readonly UnackedItem[] {
    this.coverThrough(lastAcceptedSeq);
    return this.items;
  }

  clear(): void {
    this.items = [];
    this.total = 0;
  }

  private coverThrough(seq: number): void {
    const keep: UnackedItem[] = [];
    for (const it of this.items) {
      if (it.seq <= seq) this.total -= it.bytes;
      else keep.push(it);
    }
    this.items = keep;
  }
}
