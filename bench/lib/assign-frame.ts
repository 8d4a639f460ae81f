/**
 * The message both hop benchmarks carry: Lingua's `job_assign` (node-conn.ts sendAssign) for
 * one utterance of 640 bytes of audio, plus `sent_at` (the sender's wall clock, see pace.ts)
 * so the receiving client can time the hop.
 */
import type { AssignPayload } from '@lingua/cluster';
import { jobAssignFrame } from '@lingua/gateway';
import { encodeBinaryJobAssign } from '@lingua/protocol';

export const SESSION_ID = '3f0c9a52-8d2e-4c4b-9f0e-2a6f1b7d9c10';

/** The envelope payload Lingua's inbox carries (audio stays binary inside Redis). */
export function assignPayload(i: number, audio: Uint8Array, sentAt: number): AssignPayload {
  return {
    job_id: `${SESSION_ID}.${i}`,
    attempt: 1,
    session_id: SESSION_ID,
    utterance_index: i,
    src_lang: 'fr',
    tgt_lang: 'en',
    audio,
    audio_format: 'pcm16',
    sample_rate: 16000,
    features: {},
    deadline_ms: Math.round(sentAt) + 30_000,
    finalized_at: sentAt,
  };
}

/** The JSON frame a node receives for that payload (the gateway's own builder) + `sent_at`. */
export function assignFrame(job: AssignPayload): Record<string, unknown> {
  return { ...jobAssignFrame(job), sent_at: job.finalized_at };
}

/** The same as a v1.12 binary frame (what a node with `binary_audio` gets). */
export function assignBinary(job: AssignPayload): Uint8Array {
  return encodeBinaryJobAssign({ ...jobAssignFrame(job, ''), sent_at: job.finalized_at }, job.audio);
}
