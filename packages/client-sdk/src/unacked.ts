/**
 * Audio the gateway has not yet confirmed as part of a finalized utterance: what the client
 * must send again after a resume. Pure bookkeeping, no I/O.
 *
 * Chunks: a chunk is covered once an `utterance_accepted` (any reason) carries
 * `last_chunk_seq >= seq`; on a resume ack, chunks with `seq <= last_accepted_seq` are covered.
 *
 * Whole `utterance` messages carry no seq, so each is tagged with `afterSeq`, the last chunk
 * seq sent before it. The gateway processes frames in order, and a non-empty utterance always
 * finalizes with reason `is_final` and `last_chunk_seq` = the last applied seq (= its afterSeq;
 * the field may also be absent). The rule, in order:
 *  1. `is_final` without `last_chunk_seq`: the oldest pending utterance is covered.
 *  2. `is_final` with `last_chunk_seq = L`: walk the pending items oldest first; the first one
 *     that can finalize with L decides: an `is_final` chunk with seq L (then that chunk caused
 *     it, no utterance is dropped) or an utterance with afterSeq L (that utterance is covered).
 *  3. Any frame with `last_chunk_seq = L`: utterances with afterSeq < L are covered too, because
 *     chunk afterSeq+1 was sent after them and has been applied. A resume ack with
 *     last_accepted_seq = A covers utterances with afterSeq < A the same way.
 * Whatever is still ambiguous stays pending and is resent: a resume may then duplicate an
 * utterance (a new index, translated twice) but never loses one.
 */

export type UnackedItem =
  | { kind: 'chunk'; seq: number; data: string; isFinal: boolean; bytes: number }
  | { kind: 'utterance'; afterSeq: number; data: string; bytes: number };

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

  onAccepted(frame: AcceptedInfo): void {
    const L = frame.last_chunk_seq;
    if (frame.reason === 'is_final') {
      if (L === undefined) {
        this.removeAt(this.items.findIndex((it) => it.kind === 'utterance'));
      } else {
        const i = this.items.findIndex(
          (it) => (it.kind === 'chunk' && it.isFinal && it.seq === L) || (it.kind === 'utterance' && it.afterSeq === L),
        );
        if (i >= 0 && this.items[i]!.kind === 'utterance') this.removeAt(i);
      }
    }
    if (L !== undefined) this.coverThrough(L);
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

  /** Chunks with seq <= seq and utterances sent before chunk `seq` are covered. */
  private coverThrough(seq: number): void {
    const keep: UnackedItem[] = [];
    for (const it of this.items) {
      const covered = it.kind === 'chunk' ? it.seq <= seq : it.afterSeq < seq;
      if (covered) this.total -= it.bytes;
      else keep.push(it);
    }
    this.items = keep;
  }

  private removeAt(i: number): void {
    if (i < 0) return;
    this.total -= this.items[i]!.bytes;
    this.items.splice(i, 1);
  }
}
