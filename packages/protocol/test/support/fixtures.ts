/** One valid message per type (both job_result variants), for mutation-based tests. */

export const B64 = 'AAECAwQFBgc='; // bytes 0..7

type Msg = Record<string, unknown>;

export const clientFixtures: Record<string, Msg> = {
  session_init: {
    type: 'session_init',
    src_lang: 'zh',
    tgt_lang: 'en',
    audio_format: 'pcm16',
    sample_rate: 16000,
    features: { tts: true },
    tenant_id: 'acme',
    resume: { session_id: 's-1', resume_token: 'tok', last_result_index: 4 },
  },
  audio_chunk: { type: 'audio_chunk', seq: 0, data: B64, is_final: false },
  utterance: { type: 'utterance', data: B64 },
  client_heartbeat: { type: 'client_heartbeat', ts: 1732000000000 },
  session_close: { type: 'session_close' },
};

export const serverToClientFixtures: Record<string, Msg> = {
  session_init_ack: {
    type: 'session_init_ack',
    session_id: 's-1',
    resume_token: 'tok',
    instance_id: 'gw-2',
    next_utterance_index: 0,
    last_accepted_seq: -1,
    config: { pause_ms: 3000, max_duration_ms: 20000, heartbeat_interval_ms: 10000 },
  },
  utterance_accepted: {
    type: 'utterance_accepted',
    utterance_index: 0,
    job_id: 'j-1',
    reason: 'is_final',
    last_chunk_seq: 17,
  },
  translation_result: {
    type: 'translation_result',
    utterance_index: 0,
    job_id: 'j-1',
    src_lang: 'zh',
    tgt_lang: 'en',
    text_asr: 'zh:0123',
    text_translated: 'en:0123',
    tts_audio: B64,
    tts_format: 'pcm16',
    node_id: 'node-7',
    timings: { queue_ms: 1, node_ms: 120, total_ms: 131 },
  },
  missing_result: { type: 'missing_result', utterance_index: 3, job_id: 'j-3', reason: 'timeout' },
  session_closed: { type: 'session_closed', last_result_index: 9 },
  error: { type: 'error', code: 'NO_AVAILABLE_NODE', message: 'no node' },
  server_heartbeat: { type: 'server_heartbeat', ts: 1732000000000 },
};

export const nodeFixtures: Record<string, Msg> = {
  node_register: {
    type: 'node_register',
    node_id: 'node-7',
    token: 'secret',
    version: '1.0.0',
    platform: 'linux-x64',
    hardware: { gpus: [{ name: 'A100', memory_mb: 40960 }], cpu_cores: 16, memory_mb: 65536 },
    services: ['asr', 'nmt', 'tts'],
    asr_langs: ['zh', 'en'],
    tts_langs: ['zh', 'en', 'ja'],
    max_concurrent_jobs: 4,
  },
  node_heartbeat: { type: 'node_heartbeat', running_jobs: 2, resource: { cpu: 0.4, gpu: 0.7, mem: 0.5 } },
  job_accepted: { type: 'job_accepted', job_id: 'j-1', attempt: 1 },
  job_progress: { type: 'job_progress', job_id: 'j-1', attempt: 1, partial_text: 'he' },
  job_result: {
    type: 'job_result',
    job_id: 'j-1',
    attempt: 1,
    success: true,
    text_asr: 'zh:0123',
    text_translated: 'en:0123',
    tts_audio: B64,
    tts_format: 'pcm16',
    processing_ms: 118,
  },
  node_drain: { type: 'node_drain' },
  node_ready: { type: 'node_ready' },
  node_unavailable: { type: 'node_unavailable', reason: 'gpu overheated' },
};

export const jobResultFailure: Msg = {
  type: 'job_result',
  job_id: 'j-1',
  attempt: 2,
  success: false,
  error: { code: 'MODEL_NOT_AVAILABLE', message: 'no model', retryable: true },
};

export const serverToNodeFixtures: Record<string, Msg> = {
  node_register_ack: {
    type: 'node_register_ack',
    node_id: 'node-7',
    instance_id: 'gw-1',
    heartbeat_interval_ms: 5000,
    pools: ['zh:en', 'zh:ja', 'en:zh', 'en:ja'],
  },
  job_assign: {
    type: 'job_assign',
    job_id: 'j-1',
    attempt: 1,
    session_id: 's-1',
    utterance_index: 0,
    src_lang: 'zh',
    tgt_lang: 'en',
    audio: B64,
    audio_format: 'pcm16',
    sample_rate: 16000,
    features: { tts: false },
    deadline_ms: 1732000030000,
  },
  job_cancel: { type: 'job_cancel', job_id: 'j-1', attempt: 1, reason: 'timeout' },
  error: { type: 'error', code: 'JOB_NOT_HELD', message: 'not yours' },
  server_heartbeat: { type: 'server_heartbeat', ts: 1732000000000 },
};

/** Deep copy of `base` with `path` (dotted, numeric segments index arrays) set or deleted. */
export function mutate(base: Msg, path: string, value: unknown, remove = false): Msg {
  const copy = structuredClone(base);
  const keys = path.split('.');
  let node: Record<string, unknown> = copy;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = keys[keys.length - 1]!;
  if (remove) delete node[last];
  else node[last] = value;
  return copy;
}
