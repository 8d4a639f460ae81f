/** Messages that cross instances through the per-instance inbox streams (msgpack inside Redis). */
import type { ContextUtterance } from '@lingua/protocol';
import type { LoggedOutcome } from './jobs';

export type { ContextUtterance };

/** A job for a node, everything needed to build the `job_assign` frame (audio stays binary). */
export interface AssignPayload {
  job_id: string;
  attempt: number;
  session_id: string;
  utterance_index: number;
  src_lang: string;
  tgt_lang: string;
  audio: Uint8Array;
  audio_format: string;
  sample_rate: number;
  features: Record<string, unknown>;
  deadline_ms: number;
  /** ms timestamp when the utterance was finalized (dispatch latency metric) */
  finalized_at: number;
  /** the session's previous final texts in this utterance's group (protocol v1.8), oldest first */
  context?: ContextUtterance[];
  /**
   * The session owner's instance when the dispatcher knows it (the first attempt is dispatched
   * by the owner): where the node's partial results go without a lookup.
   */
  owner?: string;
}

export type Envelope =
  | { t: 'assign'; nodeId: string; job: AssignPayload }
  | { t: 'cancel'; nodeId: string; jobId: string; attempt: number; reason: string }
  | { t: 'outcome'; sessionId: string; outcome: LoggedOutcome }
  /**
   * A node's partial result (protocol v1.8) for the session's owner: best effort, never logged.
   * `attempt` lets the owner drop one of an attempt that was failed over after a later one spoke.
   */
  | {
      t: 'partial';
      sessionId: string;
      index: number;
      attempt: number;
      asr?: string;
      translated?: string;
    }
  | { t: 'kick'; sessionId: string; conn: string }
  /** the node registered again elsewhere: close its older connection here (if still that epoch) */
  | { t: 'kick-node'; nodeId: string; epoch: number }
  | { t: 'probe'; from: string; ts: number }
  /** one outcome of a room speaker's utterance for a listener (`lane`: where it is logged) */
  | {
      t: 'room-outcome';
      to: string;
      room: string;
      speaker: string;
      name: string;
      lane: string;
      first: number;
      /** ms when the speaker's utterance was finalized (room result latency) */
      at: number;
      outcome: LoggedOutcome;
      /** v1.10: the speaker's own session asks for speech (absent from older gateways: no) */
      stts?: boolean;
    }
  /** a member joined or left a room the listener `to` is in */
  | {
      t: 'room-member';
      to: string;
      room: string;
      event: 'joined' | 'left';
      member: string;
      name: string;
      speaks: string;
      listens: string;
    };

export type EnvelopeType = Envelope['t'];

/** Thrown by an inbox handler when an entry can never be delivered: dead-letter it now. */
export class DeadLetter extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DeadLetter';
  }
}
