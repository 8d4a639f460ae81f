/** Session messages (`ws /ws/session`), docs/protocol.md "Session" sections. */
import { type Static, Type } from '@sinclair/typebox';
import {
  AudioFormat,
  Base64,
  ByteRate,
  FeaturesSchema,
  FinalizeReasonSchema,
  Id,
  IndexOrNone,
  LangCode,
  MissingReasonSchema,
  NonNegInt,
  NonNegNumber,
  Opaque,
  PositiveInt,
  ResultText,
  SampleRate,
} from './common';

// ---- client → server ----

export const ResumeSchema = Type.Object({
  session_id: Id(),
  resume_token: Opaque(),
  /** Highest result index the client has; -1 when it has none. */
  last_result_index: IndexOrNone(),
  /**
   * v1.3: one above the highest `utterance_index` the client saw accepted. When Redis lost
   * accepted utterances (a failover), the server answers each missing one with
   * `missing_result` instead of reusing its index.
   */
  next_utterance_index: Type.Optional(NonNegInt()),
  /** v1.3: the highest `seq` the client saw accepted (`last_chunk_seq`, or a resume ack). */
  last_accepted_seq: Type.Optional(IndexOrNone()),
  /**
   * v1.6: in a meeting room, the highest `utterance_index` received per speaker; the server
   * replays each speaker's room results after it (speakers not listed: from the first one).
   */
  room_heard: Type.Optional(
    Type.Array(Type.Object({ session_id: Id(), utterance_index: NonNegInt() }), { maxItems: 1024 }),
  ),
});
export type Resume = Static<typeof ResumeSchema>;

export const SessionInitSchema = Type.Object({
  type: Type.Literal('session_init'),
  src_lang: LangCode(),
  tgt_lang: LangCode(),
  audio_format: AudioFormat(),
  sample_rate: SampleRate(),
  features: Type.Optional(FeaturesSchema),
  tenant_id: Type.Optional(Id()),
  resume: Type.Optional(ResumeSchema),
  /** v1.1, typed and bounded in v1.2: bytes/s of a non-pcm16 stream, for max_duration. */
  byte_rate: Type.Optional(ByteRate()),
  /**
   * v1.11: 'two_way' (interpreter mode): the speaker may talk in `lang_a` or `lang_b`; each
   * utterance is translated into the other one, and its result says which way in
   * `src_lang`/`tgt_lang`. Requires `lang_a`, `lang_b` (distinct) and `src_lang` = lang_a,
   * `tgt_lang` = lang_b. Absent = 'one_way'.
   */
  mode: Type.Optional(Type.Union([Type.Literal('one_way'), Type.Literal('two_way')])),
  lang_a: Type.Optional(LangCode()),
  lang_b: Type.Optional(LangCode()),
});
export type SessionInit = Static<typeof SessionInitSchema>;

export const AudioChunkSchema = Type.Object({
  type: Type.Literal('audio_chunk'),
  seq: NonNegInt(),
  data: Base64(),
  /** Absent means false. */
  is_final: Type.Optional(Type.Boolean()),
});
export type AudioChunk = Static<typeof AudioChunkSchema>;

/**
 * Extension (optional `seq`): a whole utterance that takes the next number of the session's
 * audio `seq` counter behaves exactly like an `audio_chunk` with `is_final: true`, so
 * `last_accepted_seq` covers it on resume and a re-sent utterance is never doubled.
 */
export const UtteranceMsgSchema = Type.Object({
  type: Type.Literal('utterance'),
  data: Base64(),
  seq: Type.Optional(NonNegInt()),
});
export type UtteranceMsg = Static<typeof UtteranceMsgSchema>;

export const ClientHeartbeatSchema = Type.Object({
  type: Type.Literal('client_heartbeat'),
  ts: Type.Optional(NonNegNumber()),
});
export type ClientHeartbeat = Static<typeof ClientHeartbeatSchema>;

export const SessionCloseSchema = Type.Object({ type: Type.Literal('session_close') });
export type SessionClose = Static<typeof SessionCloseSchema>;

// ---- server → client ----

export const SessionConfigSchema = Type.Object({
  pause_ms: PositiveInt(),
  max_duration_ms: PositiveInt(),
  heartbeat_interval_ms: PositiveInt(),
});
export type SessionConfig = Static<typeof SessionConfigSchema>;

export const SessionInitAckSchema = Type.Object({
  type: Type.Literal('session_init_ack'),
  session_id: Id(),
  resume_token: Opaque(),
  instance_id: Id(),
  next_utterance_index: NonNegInt(),
  /** Client must resend every chunk with a greater seq; -1 when none was accepted. */
  last_accepted_seq: IndexOrNone(),
  config: SessionConfigSchema,
  /**
   * v1.13: this gateway accepts `audio_chunk` and `utterance` as binary frames (docs/protocol.md
   * "Binary frames"). Per connection: during a rolling upgrade a resume may land on an older
   * gateway, whose ack does not say so.
   */
  binary_audio: Type.Optional(Type.Boolean()),
});
export type SessionInitAck = Static<typeof SessionInitAckSchema>;

export const UtteranceAcceptedSchema = Type.Object({
  type: Type.Literal('utterance_accepted'),
  utterance_index: NonNegInt(),
  job_id: Id(),
  reason: FinalizeReasonSchema,
  /** Seq of the last chunk in this utterance; absent for a whole `utterance` message. */
  last_chunk_seq: Type.Optional(NonNegInt()),
});
export type UtteranceAccepted = Static<typeof UtteranceAcceptedSchema>;

export const TimingsSchema = Type.Object({
  queue_ms: NonNegNumber(),
  node_ms: NonNegNumber(),
  total_ms: NonNegNumber(),
});
export type Timings = Static<typeof TimingsSchema>;

export const TranslationResultSchema = Type.Object({
  type: Type.Literal('translation_result'),
  utterance_index: NonNegInt(),
  job_id: Id(),
  src_lang: LangCode(),
  tgt_lang: LangCode(),
  text_asr: ResultText(),
  text_translated: ResultText(),
  /** Present when the session asked for `features.tts`. */
  tts_audio: Type.Optional(Base64()),
  tts_format: Type.Optional(AudioFormat()),
  node_id: Id(),
  timings: TimingsSchema,
});
export type TranslationResult = Static<typeof TranslationResultSchema>;

/**
 * v1.8: what a node has of an utterance before its final result (sessions with
 * `features.partial`). Best effort: each replaces the previous one of its index; none comes
 * after the index's `translation_result` / `missing_result`.
 */
export const PartialResultSchema = Type.Object({
  type: Type.Literal('partial_result'),
  utterance_index: NonNegInt(),
  text_asr: Type.Optional(ResultText()),
  text_translated: Type.Optional(ResultText()),
});
export type PartialResult = Static<typeof PartialResultSchema>;

export const MissingResultSchema = Type.Object({
  type: Type.Literal('missing_result'),
  utterance_index: NonNegInt(),
  job_id: Id(),
  reason: MissingReasonSchema,
});
export type MissingResult = Static<typeof MissingResultSchema>;

export const SessionClosedSchema = Type.Object({
  type: Type.Literal('session_closed'),
  /** -1 when the session closed before any result. */
  last_result_index: IndexOrNone(),
});
export type SessionClosed = Static<typeof SessionClosedSchema>;
