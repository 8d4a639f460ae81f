/**
 * Typed builders of the frames a session socket sends (docs/protocol.md, "Session"). One place
 * for each frame's shape, checked against the protocol's types, so the actor only decides *when*.
 */
import type { Envelope, LoggedOutcome, StoredResult } from '@lingua/cluster';
import type {
  MissingResult,
  PartialResult,
  SessionConfig,
  SessionInitAck,
  TranslationResult,
  UtteranceAccepted,
} from '@lingua/protocol';
import type { Finalized } from './finalize';

export function sessionInitAck(a: {
  sessionId: string;
  resumeToken: string;
  instanceId: string;
  nextIndex: number;
  lastAcceptedSeq: number;
  config: SessionConfig;
}): SessionInitAck {
  return {
    type: 'session_init_ack',
    session_id: a.sessionId,
    resume_token: a.resumeToken,
    instance_id: a.instanceId,
    next_utterance_index: a.nextIndex,
    last_accepted_seq: a.lastAcceptedSeq,
    config: a.config,
    binary_audio: true,
  };
}

export function utteranceAccepted(u: Finalized, jobId: string): UtteranceAccepted {
  return {
    type: 'utterance_accepted',
    utterance_index: u.index,
    job_id: jobId,
    reason: u.reason,
    // absent when no sequenced audio was accepted yet (the schema has it >= 0)
    ...(u.lastChunkSeq >= 0 ? { last_chunk_seq: u.lastChunkSeq } : {}),
  };
}

export function translationResult(index: number, r: StoredResult): TranslationResult {
  const frame: TranslationResult = {
    type: 'translation_result',
    utterance_index: index,
    job_id: r.job_id,
    src_lang: r.src_lang,
    tgt_lang: r.tgt_lang,
    text_asr: r.text_asr,
    text_translated: r.text_translated,
    node_id: r.node_id,
    timings: r.timings,
  };
  if (r.tts_audio) {
    frame.tts_audio = Buffer.from(r.tts_audio).toString('base64');
    frame.tts_format = r.tts_format ?? 'pcm16';
  }
  return frame;
}

export function missingResult(o: Extract<LoggedOutcome, { kind: 'missing' }>): MissingResult {
  return { type: 'missing_result', utterance_index: o.index, job_id: o.jobId, reason: o.reason };
}

/** The frame of one logged outcome: a translation or its explicit missing marker. */
export function outcomeFrame(o: LoggedOutcome): TranslationResult | MissingResult {
  return o.kind === 'result' ? translationResult(o.index, o.result) : missingResult(o);
}

/** A node's partial result for the client (protocol v1.8). */
export function partialResult(p: Extract<Envelope, { t: 'partial' }>): PartialResult {
  return {
    type: 'partial_result',
    utterance_index: p.index,
    ...(p.asr !== undefined ? { text_asr: p.asr } : {}),
    ...(p.translated !== undefined ? { text_translated: p.translated } : {}),
  };
}
