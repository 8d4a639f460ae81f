/** The answer of a 0-ms bench node: the simulated node's output (sha256 of the audio), at once. */
import { createHash } from 'node:crypto';
import { decodeBinaryJobAssign } from '@lingua/protocol';
import type WebSocket from 'ws';

export interface AssignFrame {
  job_id: string;
  attempt: number;
  audio: string;
  src_lang: string;
  tgt_lang: string;
  session_id?: string;
  utterance_index?: number;
}

/**
 * BENCH_BINARY_AUDIO=1: bench nodes register with `binary_audio` (protocol v1.12) and get their
 * assignments as binary frames, and bench sessions send their audio as binary frames (v1.13,
 * load.ts); `nodes`: the nodes only (the two levers' A/B: `npm run bench` with 0, nodes, 1).
 */
export const BENCH_BINARY_AUDIO =
  process.env.BENCH_BINARY_AUDIO === '1' || process.env.BENCH_BINARY_AUDIO === 'nodes';
/** Bench sessions send v1.13 binary audio frames (BENCH_BINARY_AUDIO=1). */
export const BENCH_BINARY_CLIENT = process.env.BENCH_BINARY_AUDIO === '1';

/** A node socket's frame as a job_assign and its audio bytes (binary v1.12 or JSON), or null. */
export function readAssign(
  data: Buffer | ArrayBuffer | Buffer[],
  isBinary: boolean,
): { f: AssignFrame; audio: Uint8Array } | null {
  const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  if (isBinary && buf[0] === 0x01) {
    const d = decodeBinaryJobAssign(buf);
    return d.ok ? { f: d.frame as unknown as AssignFrame, audio: d.audio } : null;
  }
  const f = JSON.parse(buf.toString());
  return f.type === 'job_assign' ? { f, audio: Buffer.from(f.audio, 'base64') } : null;
}

/** `confirm`: send job_accepted first, as SDK nodes do. `audio`: the decoded audio (else f.audio). */
export function answerAssign(ws: WebSocket, f: AssignFrame, confirm: boolean, audio?: Uint8Array): void {
  if (confirm) ws.send(JSON.stringify({ type: 'job_accepted', job_id: f.job_id, attempt: f.attempt }));
  const h = createHash('sha256')
    .update(audio ?? Buffer.from(f.audio, 'base64'))
    .digest('hex')
    .slice(0, 16);
  ws.send(
    JSON.stringify({
      type: 'job_result',
      job_id: f.job_id,
      attempt: f.attempt,
      success: true,
      text_asr: `${f.src_lang}:${h}`,
      text_translated: `${f.tgt_lang}:${h}`,
      processing_ms: 0,
    }),
  );
}

/**
 * Registers a bench node on an open socket (asr + nmt), waits for the ack, then heartbeats like
 * a real node every 2 s (or the sweep takes it offline) until the socket closes.
 */
export async function registerBenchNode(
  ws: WebSocket,
  n: { nodeId: string; asrLangs: readonly string[]; ttsLangs: readonly string[]; maxJobs: number },
): Promise<void> {
  const acked = new Promise<void>((res) =>
    ws.on('message', (d) => {
      if (d.toString().includes('node_register_ack')) res();
    }),
  );
  ws.send(
    JSON.stringify({
      type: 'node_register',
      node_id: n.nodeId,
      services: ['asr', 'nmt'],
      asr_langs: n.asrLangs,
      tts_langs: n.ttsLangs,
      max_concurrent_jobs: n.maxJobs,
      ...(BENCH_BINARY_AUDIO ? { binary_audio: true } : {}),
    }),
  );
  await acked;
  const hb = setInterval(() => ws.send(JSON.stringify({ type: 'node_heartbeat', running_jobs: 0 })), 2000);
  ws.on('close', () => clearInterval(hb));
}
