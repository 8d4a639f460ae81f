/**
 * Node frames of PROTOCOL.md v1 (`ws /ws/node`), field names exactly as on the wire.
 * Local stand-ins for the same-named types of `@lingua/protocol`; swap these for imports
 * once that package is in place.
 */

// ---- node → server ----

export interface NodeRegister {
  type: 'node_register';
  node_id: string;
  token?: string;
  version?: string;
  platform?: string;
  hardware?: {
    gpus?: Array<{ name: string; memory_mb: number }>;
    cpu_cores?: number;
    memory_mb?: number;
  };
  services: Array<'asr' | 'nmt' | 'tts'>;
  asr_langs: string[];
  tts_langs: string[];
  max_concurrent_jobs: number;
}

export interface NodeHeartbeat {
  type: 'node_heartbeat';
  running_jobs: number;
  resource?: { cpu?: number; gpu?: number; mem?: number };
}

export interface JobAccepted {
  type: 'job_accepted';
  job_id: string;
  attempt: number;
}

export interface JobProgress {
  type: 'job_progress';
  job_id: string;
  attempt: number;
  partial_text?: string;
}

export type JobResult =
  | {
      type: 'job_result';
      job_id: string;
      attempt: number;
      success: true;
      text_asr: string;
      text_translated: string;
      tts_audio?: string;
      tts_format?: string;
      processing_ms?: number;
    }
  | {
      type: 'job_result';
      job_id: string;
      attempt: number;
      success: false;
      error: { code: string; message: string; retryable?: boolean };
      processing_ms?: number;
    };

export interface NodeDrain {
  type: 'node_drain';
}

export type NodeMessage = NodeRegister | NodeHeartbeat | JobAccepted | JobProgress | JobResult | NodeDrain;

// ---- server → node ----

export interface NodeRegisterAck {
  type: 'node_register_ack';
  node_id: string;
  instance_id: string;
  heartbeat_interval_ms: number;
  pools: string[];
}

export interface JobAssign {
  type: 'job_assign';
  job_id: string;
  attempt: number;
  session_id: string;
  utterance_index: number;
  src_lang: string;
  tgt_lang: string;
  /** base64 */
  audio: string;
  audio_format: string;
  sample_rate: number;
  features?: { tts?: boolean };
  /** Epoch ms after which the server re-dispatches the job. */
  deadline_ms: number;
}

export interface JobCancel {
  type: 'job_cancel';
  job_id: string;
  attempt: number;
  reason: string;
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

export type ServerToNodeMessage = NodeRegisterAck | JobAssign | JobCancel | ErrorMessage | ServerHeartbeat;
