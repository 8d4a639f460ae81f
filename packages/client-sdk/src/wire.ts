/**
 * Session frames of PROTOCOL.md v1 (`ws /ws/session`), field names exactly as on the wire.
 * Local stand-ins for the same-named types of `@lingua/protocol`; swap these for imports
 * once that package is in place.
 */

// ---- client → server ----

export interface SessionInit {
  type: 'session_init';
  src_lang: string;
  tgt_lang: string;
  audio_format: string;
  sample_rate: number;
  features?: { tts?: boolean };
  tenant_id?: string;
  resume?: { session_id: string; resume_token: string; last_result_index: number };
}

export interface AudioChunk {
  type: 'audio_chunk';
  seq: number;
  /** base64 */
  data: string;
  is_final?: boolean;
}

export interface UtteranceMsg {
  type: 'utterance';
  /** base64 */
  data: string;
}

export interface ClientHeartbeat {
  type: 'client_heartbeat';
  ts?: number;
}

export interface SessionClose {
  type: 'session_close';
}

export type ClientMessage = SessionInit | AudioChunk | UtteranceMsg | ClientHeartbeat | SessionClose;

// ---- server → client ----

export interface SessionInitAck {
  type: 'session_init_ack';
  session_id: string;
  resume_token: string;
  instance_id: string;
  next_utterance_index: number;
  /** The client resends every chunk with a greater seq; -1 when none was accepted. */
  last_accepted_seq: number;
  config: { pause_ms: number; max_duration_ms: number; heartbeat_interval_ms: number };
}

export interface UtteranceAccepted {
  type: 'utterance_accepted';
  utterance_index: number;
  job_id: string;
  reason: 'is_final' | 'pause' | 'max_duration' | 'max_length' | 'session_close';
  last_chunk_seq?: number;
}

export interface TranslationResult {
  type: 'translation_result';
  utterance_index: number;
  job_id: string;
  src_lang: string;
  tgt_lang: string;
  text_asr: string;
  text_translated: string;
  tts_audio?: string;
  tts_format?: string;
  node_id: string;
  timings: { queue_ms: number; node_ms: number; total_ms: number };
}

export interface MissingResult {
  type: 'missing_result';
  utterance_index: number;
  job_id: string;
  reason: 'timeout' | 'failed' | 'no_node';
}

export interface SessionClosed {
  type: 'session_closed';
  last_result_index: number;
}

export interface ErrorMessage {
  type: 'error';
  code: string;
  message: string;
  field?: string;
}

export interface ServerHeartbeat {
  type: 'server_heartbeat';
  ts: number;
}

export type ServerToClientMessage =
  | SessionInitAck
  | UtteranceAccepted
  | TranslationResult
  | MissingResult
  | SessionClosed
  | ErrorMessage
  | ServerHeartbeat;
