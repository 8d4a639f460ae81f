/** The answer of a 0-ms bench node: the simulated node's output (sha256 of the audio), at once. */
import { createHash } from 'node:crypto';
import type WebSocket from 'ws';

export interface AssignFrame {
  job_id: string;
  attempt: number;
  audio: string;
  src_lang: string;
  tgt_lang: string;
}

/** `confirm`: send job_accepted first, as SDK nodes do. */
export function answerAssign(ws: WebSocket, f: AssignFrame, confirm: boolean): void {
  if (confirm) ws.send(JSON.stringify({ type: 'job_accepted', job_id: f.job_id, attempt: f.attempt }));
  const h = createHash('sha256').update(Buffer.from(f.audio, 'base64')).digest('hex').slice(0, 16);
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
    }),
  );
  await acked;
  const hb = setInterval(() => ws.send(JSON.stringify({ type: 'node_heartbeat', running_jobs: 0 })), 2000);
  ws.on('close', () => clearInterval(hb));
}
