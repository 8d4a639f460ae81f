/**
 * One BullMQ worker process of the baseline: computes the same sha256-based simulated answer
 * as the bench's 0-ms Lingua nodes (bench/lib/load.ts) and returns it as the job's result.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'bullmq';
import { serveParent } from '../lib/ipc';

interface Utterance {
  session_id: string;
  utterance_index: number;
  src_lang: string;
  tgt_lang: string;
  audio: string;
}

const url = new URL(process.env.BENCH_REDIS_URL!);
const worker = new Worker<Utterance>(
  process.env.BENCH_QUEUE!,
  async (job) => {
    const h = createHash('sha256').update(Buffer.from(job.data.audio, 'base64')).digest('hex').slice(0, 16);
    return {
      text_asr: `${job.data.src_lang}:${h}`,
      text_translated: `${job.data.tgt_lang}:${h}`,
      processing_ms: 0,
    };
  },
  {
    connection: { host: url.hostname, port: Number(url.port) },
    concurrency: Number(process.env.BENCH_CONCURRENCY ?? 1),
  },
);
worker.on('error', (err) => console.error('bullmq worker:', err.message));

const ipc = serveParent({});
process.on('SIGTERM', () => {
  void worker.close(true).finally(() => process.exit(0));
});
worker.waitUntilReady().then(
  () => ipc.ready(),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
