/**
 * The context a session's next job carries to its node (protocol v1.8 `job_assign.context`):
 * the session's previous final texts within its utterance group, oldest first.
 *
 * An utterance group is a run of utterances each begun within `windowMs` of the end of the one
 * before (`firstChunkAt` of the next − `finalizedAt` of the previous). A job's context is the
 * final results delivered so far of its group's earlier utterances: the newest
 * `maxUtterances`, as many as fit `maxBytes` (UTF-8 of both texts), contiguous back from the
 * newest. An utterance still being translated when the next one is dispatched is not in it.
 *
 * Pure (no I/O, no clock): fed by the session actor, which owns the session's delivered results
 * in order, so the hot path needs no Redis read. A new actor (a resume, here or on another
 * instance) starts empty: its first utterance begins a new group.
 */
import type { ContextUtterance } from '@lingua/protocol';

export interface ContextOptions {
  /** utterances per context; 0 = no context */
  maxUtterances: number;
  /** most ms between one utterance's end and the next one's start within a group */
  windowMs: number;
  /** UTF-8 bytes of the texts of one context */
  maxBytes: number;
}

export class ConversationContext {
  private groupStart = 0;
  private lastEnd: number | null = null;
  /** delivered final results, ascending index, the newest maxUtterances */
  private readonly finals: ContextUtterance[] = [];

  constructor(private readonly opts: ContextOptions) {}

  /** An utterance was finalized: its group is settled, and this is its job's context. */
  next(u: { index: number; firstChunkAt: number; finalizedAt: number }): ContextUtterance[] {
    if (this.lastEnd === null || u.firstChunkAt - this.lastEnd > this.opts.windowMs) {
      this.groupStart = u.index;
    }
    this.lastEnd = Math.max(this.lastEnd ?? u.finalizedAt, u.finalizedAt);
    const out: ContextUtterance[] = [];
    let bytes = 0;
    for (let i = this.finals.length - 1; i >= 0 && out.length < this.opts.maxUtterances; i--) {
      const f = this.finals[i]!;
      if (f.utterance_index >= u.index) continue;
      if (f.utterance_index < this.groupStart) break;
      bytes += Buffer.byteLength(f.text_asr) + Buffer.byteLength(f.text_translated);
      if (bytes > this.opts.maxBytes) break;
      out.push(f);
    }
    return out.reverse();
  }

  /** A final result was delivered to the client (in index order). */
  delivered(index: number, textAsr: string, textTranslated: string): void {
    if (this.opts.maxUtterances <= 0) return;
    this.finals.push({ utterance_index: index, text_asr: textAsr, text_translated: textTranslated });
    if (this.finals.length > this.opts.maxUtterances) this.finals.shift();
  }
}
