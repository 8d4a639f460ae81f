/** Compute-node messages (`ws /ws/node`), docs/protocol.md "Node" sections. */
import { type Static, Type } from '@sinclair/typebox';
import {
  Attempt,
  AudioFormat,
  Base64,
  ErrorCodeString,
  FeaturesSchema,
  Id,
  LangCode,
  MAX_NODE_LANGS,
  NonNegInt,
  NonNegNumber,
  PoolName,
  PositiveInt,
  ResultText,
  SampleRate,
  ServiceSchema,
} from './common';

// ---- node → server ----

export const GpuSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  memory_mb: NonNegInt(),
});
export type Gpu = Static<typeof GpuSchema>;

/** Informational only (dashboard); every part is optional but typed when present. */
export const HardwareSchema = Type.Object({
  gpus: Type.Optional(Type.Array(GpuSchema, { maxItems: 64 })),
  cpu_cores: Type.Optional(NonNegInt()),
  memory_mb: Type.Optional(NonNegInt()),
});
export type Hardware = Static<typeof HardwareSchema>;

/** Most pairs a heartbeat's `models` may list (v1.7); the gateway's Lua enforces the same. */
export const MAX_MODELS = 256;

/** Most job ids a node may list in `job_ids` (v1.4); the gateway's Lua enforces the same bound. */
export const MAX_JOB_IDS = 4096;

/**
 * v1.2: the jobs the node is working on or holds an unsent answer for. The gateway keeps
 * these and fails over every other job it had assigned to the node (reconciliation).
 */
export const JobIdsSchema = Type.Array(Id(), { maxItems: MAX_JOB_IDS });

export const NodeRegisterSchema = Type.Object({
  type: Type.Literal('node_register'),
  node_id: Id(),
  /** Required only when the gateway is configured with node auth. */
  token: Type.Optional(Type.String({ maxLength: 4096 })),
  version: Type.Optional(Type.String({ maxLength: 64 })),
  platform: Type.Optional(Type.String({ maxLength: 64 })),
  hardware: Type.Optional(HardwareSchema),
  services: Type.Array(ServiceSchema, { minItems: 1, uniqueItems: true }),
  asr_langs: Type.Array(LangCode(), { maxItems: MAX_NODE_LANGS }),
  tts_langs: Type.Array(LangCode(), { maxItems: MAX_NODE_LANGS }),
  max_concurrent_jobs: Type.Integer({ minimum: 1, maximum: 1024 }),
  job_ids: Type.Optional(JobIdsSchema),
  /**
   * v1.7: false = still warming up (models loading): the node is selected for no job until
   * it sends `node_ready` (or a heartbeat with `ready: true`). Absent = true.
   */
  ready: Type.Optional(Type.Boolean()),
  /**
   * v1.12: true = send this node its `job_assign` frames as binary WebSocket frames, the audio
   * as raw bytes (docs/protocol.md "Binary job_assign"). Absent = false: JSON with base64.
   */
  binary_audio: Type.Optional(Type.Boolean()),
});
export type NodeRegister = Static<typeof NodeRegisterSchema>;

/** Utilization, conventionally 0..1; not capped so odd load metrics never fail a heartbeat. */
export const ResourceSchema = Type.Object({
  cpu: Type.Optional(NonNegNumber()),
  gpu: Type.Optional(NonNegNumber()),
  mem: Type.Optional(NonNegNumber()),
});
export type Resource = Static<typeof ResourceSchema>;

export const NodeHeartbeatSchema = Type.Object({
  type: Type.Literal('node_heartbeat'),
  running_jobs: NonNegInt(),
  resource: Type.Optional(ResourceSchema),
  job_ids: Type.Optional(JobIdsSchema),
  /** v1.7: true = ready for jobs (like `node_ready`); false = not (like `node_unavailable`). */
  ready: Type.Optional(Type.Boolean()),
  /**
   * v1.7: the pairs (`src:tgt`) whose models are loaded now. A pair the node left by answering
   * MODEL_NOT_AVAILABLE rejoins its pool when listed here; other pairs are not affected.
   */
  models: Type.Optional(Type.Array(PoolName(), { maxItems: MAX_MODELS })),
});
export type NodeHeartbeat = Static<typeof NodeHeartbeatSchema>;

export const JobAcceptedSchema = Type.Object({
  type: Type.Literal('job_accepted'),
  job_id: Id(),
  attempt: Attempt(),
});
export type JobAccepted = Static<typeof JobAcceptedSchema>;

export const JobProgressSchema = Type.Object({
  type: Type.Literal('job_progress'),
  job_id: Id(),
  attempt: Attempt(),
  /** The transcript so far (v1.8: forwarded as `partial_result.text_asr`). */
  partial_text: Type.Optional(ResultText()),
  /** v1.8: the translation so far (forwarded as `partial_result.text_translated`). */
  partial_translated: Type.Optional(ResultText()),
});
export type JobProgress = Static<typeof JobProgressSchema>;

export const JobErrorSchema = Type.Object({
  code: ErrorCodeString(),
  message: Type.String({ maxLength: 4096 }),
  retryable: Type.Optional(Type.Boolean()),
});
export type JobError = Static<typeof JobErrorSchema>;

export const JobResultSuccessSchema = Type.Object({
  type: Type.Literal('job_result'),
  job_id: Id(),
  attempt: Attempt(),
  success: Type.Literal(true),
  text_asr: ResultText(),
  text_translated: ResultText(),
  tts_audio: Type.Optional(Base64()),
  tts_format: Type.Optional(AudioFormat()),
  processing_ms: Type.Optional(NonNegNumber()),
  /**
   * v1.11, required for a two-way job (`features.two_way`): the direction the node's language
   * ID chose, (src, tgt) of the assignment or reversed. Ignored for one-way jobs.
   */
  src_lang: Type.Optional(LangCode()),
  tgt_lang: Type.Optional(LangCode()),
});
export type JobResultSuccess = Static<typeof JobResultSuccessSchema>;

export const JobResultFailureSchema = Type.Object({
  type: Type.Literal('job_result'),
  job_id: Id(),
  attempt: Attempt(),
  success: Type.Literal(false),
  error: JobErrorSchema,
  processing_ms: Type.Optional(NonNegNumber()),
});
export type JobResultFailure = Static<typeof JobResultFailureSchema>;

/** Discriminated on `success`; the parser picks the variant before explaining errors. */
export const JobResultSchema = Type.Union([JobResultSuccessSchema, JobResultFailureSchema]);
export type JobResult = Static<typeof JobResultSchema>;

export const NodeDrainSchema = Type.Object({ type: Type.Literal('node_drain') });
export type NodeDrain = Static<typeof NodeDrainSchema>;

/** v1.7: warm-up finished, or back from `node_unavailable`: the node takes jobs again. */
export const NodeReadySchema = Type.Object({ type: Type.Literal('node_ready') });
export type NodeReady = Static<typeof NodeReadySchema>;

/** Most characters of `node_unavailable.reason` (v1.7). */
export const MAX_UNAVAILABLE_REASON = 256;

/**
 * v1.7: the node takes no new jobs until `node_ready` (e.g. GPU overheated); jobs it holds
 * are still answered. Unlike `node_drain`, it is meant to come back.
 */
export const NodeUnavailableSchema = Type.Object({
  type: Type.Literal('node_unavailable'),
  reason: Type.Optional(Type.String({ maxLength: MAX_UNAVAILABLE_REASON })),
});
export type NodeUnavailable = Static<typeof NodeUnavailableSchema>;

// ---- server → node ----

export const NodeRegisterAckSchema = Type.Object({
  type: Type.Literal('node_register_ack'),
  node_id: Id(),
  instance_id: Id(),
  heartbeat_interval_ms: PositiveInt(),
  pools: Type.Array(PoolName()),
  /**
   * v1.13: this gateway takes `job_result` as a binary frame, its TTS as raw bytes
   * (docs/protocol.md "Binary frames"). Per connection, like `session_init_ack.binary_audio`.
   */
  binary_audio: Type.Optional(Type.Boolean()),
});
export type NodeRegisterAck = Static<typeof NodeRegisterAckSchema>;

/** Most utterances in `job_assign.context` (v1.8; the gateway's default is 3). */
export const MAX_CONTEXT_UTTERANCES = 16;

/** v1.8: one earlier utterance of the session (its final texts), for the translator's context. */
export const ContextUtteranceSchema = Type.Object({
  utterance_index: NonNegInt(),
  text_asr: ResultText(),
  text_translated: ResultText(),
});
export type ContextUtterance = Static<typeof ContextUtteranceSchema>;

export const JobAssignSchema = Type.Object({
  type: Type.Literal('job_assign'),
  job_id: Id(),
  attempt: Attempt(),
  session_id: Id(),
  utterance_index: NonNegInt(),
  src_lang: LangCode(),
  tgt_lang: LangCode(),
  audio: Base64(),
  audio_format: AudioFormat(),
  sample_rate: SampleRate(),
  features: Type.Optional(FeaturesSchema),
  /** Epoch milliseconds after which the server re-dispatches the job. */
  deadline_ms: NonNegInt(),
  /**
   * v1.8: the session's previous final texts in this utterance's group, oldest first (bounded
   * in count and bytes by the gateway). Absent when there are none; a node may ignore it.
   */
  context: Type.Optional(Type.Array(ContextUtteranceSchema, { maxItems: MAX_CONTEXT_UTTERANCES })),
});
export type JobAssign = Static<typeof JobAssignSchema>;

export const JobCancelSchema = Type.Object({
  type: Type.Literal('job_cancel'),
  job_id: Id(),
  attempt: Attempt(),
  /** Open set, e.g. `timeout`, `session_closed`, `failover`. */
  reason: Type.String({ minLength: 1, maxLength: 64 }),
});
export type JobCancel = Static<typeof JobCancelSchema>;
