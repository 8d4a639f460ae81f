/**
 * Bounds on what nodes send that the schemas cannot express (docs/security.md, "Quotas and
 * bounds"): the size of the free-form `hardware` blob, the number of pools a registration
 * creates, the size of TTS audio. Pure: each check returns the problem (naming the field) or
 * null. Schema-level bounds (lengths, counts, rates) are in @lingua/protocol.
 */
import type { Features, Hardware, JobResult, NodeRegister } from '@lingua/protocol';

export interface LimitProblem {
  code: 'PAYLOAD_TOO_LARGE';
  field: string;
  message: string;
}

export interface NodeLimits {
  maxHardwareBytes: number;
  maxNodePools: number;
  maxTtsBytes: number;
}

/** JSON size of a value, or Infinity when it cannot be serialized (cycles, absurd nesting). */
function jsonBytes(v: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(v) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Directed pools a registration would join: asr × tts, src ≠ tgt, only with asr + nmt (as in Lua). */
export function poolCount(msg: Pick<NodeRegister, 'services' | 'asr_langs' | 'tts_langs'>): number {
  if (!msg.services.includes('asr') || !msg.services.includes('nmt')) return 0;
  const asr = new Set(msg.asr_langs);
  const tts = new Set(msg.tts_langs);
  let n = 0;
  for (const a of asr) n += tts.has(a) ? tts.size - 1 : tts.size;
  return n;
}

export function checkNodeRegister(msg: NodeRegister, lim: NodeLimits): LimitProblem | null {
  if (msg.hardware !== undefined) {
    const bytes = jsonBytes(msg.hardware);
    if (bytes > lim.maxHardwareBytes) {
      return {
        code: 'PAYLOAD_TOO_LARGE',
        field: 'hardware',
        message: `node_register: hardware is ${Number.isFinite(bytes) ? `${bytes} bytes` : 'not serializable'} as JSON, the limit is ${lim.maxHardwareBytes} (LINGUA_MAX_HARDWARE_BYTES)`,
      };
    }
  }
  const pools = poolCount(msg);
  if (pools > lim.maxNodePools) {
    return {
      code: 'PAYLOAD_TOO_LARGE',
      field: 'tts_langs',
      message: `node_register: asr_langs × tts_langs makes ${pools} language pairs, one node may serve at most ${lim.maxNodePools} (LINGUA_MAX_NODE_POOLS)`,
    };
  }
  return null;
}

/** What is stored of `hardware`: only the fields the protocol defines (unknown ones are ignored). */
export function storedHardware(hw: Hardware | undefined): Hardware | null {
  if (!hw) return null;
  const out: Hardware = {};
  if (hw.gpus) out.gpus = hw.gpus.map((g) => ({ name: g.name, memory_mb: g.memory_mb }));
  if (hw.cpu_cores !== undefined) out.cpu_cores = hw.cpu_cores;
  if (hw.memory_mb !== undefined) out.memory_mb = hw.memory_mb;
  return out;
}

/**
 * What is stored of a session's `features` (on the session and on every job): only the switches
 * the protocol defines. Unknown ones are ignored anyway, and storing them verbatim let one
 * session_init put up to a frame's worth of junk (or 100k levels of nesting) into every job.
 */
export function storedFeatures(f: Features | undefined): Features {
  const out: Features = {};
  if (f?.tts !== undefined) out.tts = f.tts;
  if (f?.partial !== undefined) out.partial = f.partial;
  return out;
}

/** Decoded size of a (valid) base64 string. */
export function base64Bytes(b64: string): number {
  let pad = 0;
  if (b64.endsWith('==')) pad = 2;
  else if (b64.endsWith('=')) pad = 1;
  return Math.floor((b64.length * 3) / 4) - pad;
}

/** `tts`: a binary job_result's TTS (v1.13), held to the same limit as decoded base64. */
export function checkJobResult(msg: JobResult, lim: NodeLimits, tts?: Uint8Array): LimitProblem | null {
  if (msg.success && (tts !== undefined || msg.tts_audio)) {
    const bytes = tts !== undefined ? tts.byteLength : base64Bytes(msg.tts_audio!);
    if (bytes > lim.maxTtsBytes) {
      return {
        code: 'PAYLOAD_TOO_LARGE',
        field: 'tts_audio',
        message: `job_result: tts_audio is ${bytes} bytes, the limit is ${lim.maxTtsBytes} (LINGUA_MAX_TTS_BYTES); the result is refused and the job goes to another node`,
      };
    }
  }
  return null;
}
