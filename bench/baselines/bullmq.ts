/**
 * BullMQ baseline: the same work the way a user would build it with BullMQ alone. One job per
 * utterance (640 bytes of audio as base64 + language pair; jobId = session-index for
 * idempotent adds; removeOnComplete; 3 attempts), WORKERS worker processes with the same total
 * concurrency as Lingua's node slots, each computing the same sha256 answer, and results back
 * to the producer through QueueEvents 'completed' (returnvalue). Latency: producer-side
 * add → completed event, in this process's clock. Same open-loop pacing as LoadRig.
 */

import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { defer, deferProc } from '../lib/cleanup';
import { type BenchChild, spawnChild } from '../lib/ipc';
import { SERIAL_SAMPLES } from '../lib/lingua-e2e';
import { paced, waitFor } from '../lib/pace';
import { ramp, type Step } from '../lib/ramp';
import { type Summary, summarize } from '../lib/stats';
import { UsageProbe, usagePerMessage } from '../lib/usage';

const LANGS = ['fr', 'de', 'es', 'it', 'pt', 'nl', 'sv', 'pl'];

export interface BullmqOptions {
  redisUrl: string;
  admin: Redis;
  rates: number[];
  stepSeconds: number;
  workers: number;
  /** total concurrency, split evenly over the worker processes */
  concurrency: number;
  sessions: number;
  utteranceBytes: number;
  onStep: (s: Step) => void;
}

export async function bullmqBaseline(o: BullmqOptions): Promise<{ steps: Step[]; serial: Summary }> {
  const name = `bench-translate-${process.pid}`;
  const url = new URL(o.redisUrl);
  const connection = { host: url.hostname, port: Number(url.port) };
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  const closeClients = defer(async () => {
    await events.close();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  });
  const workers: BenchChild[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    for (let i = 0; i < o.workers; i++) {
      const w = spawnChild('bench/baselines/bullmq-worker.ts', {
        BENCH_REDIS_URL: o.redisUrl,
        BENCH_QUEUE: name,
        BENCH_CONCURRENCY: String(Math.ceil(o.concurrency / o.workers)),
      });
      workers.push(w);
      stops.push(deferProc(w.child, 5000));
    }
    await Promise.all([...workers.map((w) => w.ready), queue.waitUntilReady(), events.waitUntilReady()]);

    const sentAt = new Map<string, number>();
    let lat: number[] = [];
    let completed = 0;
    let failed = 0;
    let addErrors = 0;
    let answered: (() => void) | undefined;
    events.on('completed', ({ jobId, returnvalue }) => {
      const t = sentAt.get(jobId);
      if (t === undefined) return;
      sentAt.delete(jobId);
      // the user's code reads the answer; count only real ones
      if ((returnvalue as unknown as { text_translated?: string })?.text_translated) {
        completed++;
        lat.push(performance.now() - t);
      }
      answered?.();
    });
    events.on('failed', () => {
      failed++;
    });
    const sessions = Array.from({ length: o.sessions }, (_, i) => ({
      id: `bench-s${i}`,
      src: LANGS[(i % 3) + 1]!,
      next: 0,
    }));
    const audio = Buffer.alloc(o.utteranceBytes, 7).toString('base64');
    let rr = 0;
    const step = async (rate: number, seconds: number, probe?: UsageProbe): Promise<Step> => {
      lat = [];
      completed = 0;
      failed = 0;
      sentAt.clear();
      await probe?.start();
      const t0 = performance.now();
      const sent = await paced(rate, seconds, () => {
        const s = sessions[rr++ % sessions.length]!;
        const idx = s.next++;
        const jobId = `${s.id}-${idx}`; // BullMQ rejects ':' in custom ids
        sentAt.set(jobId, performance.now());
        queue
          .add(
            'translate',
            { session_id: s.id, utterance_index: idx, src_lang: s.src, tgt_lang: 'en', audio },
            { jobId, removeOnComplete: true, removeOnFail: 1000, attempts: 3 },
          )
          .catch((err) => {
            if (!addErrors++) console.error('bullmq add failed:', err);
          });
      });
      await waitFor(() => completed + failed >= sent, 10_000);
      const secs = (performance.now() - t0) / 1000;
      const u = await probe?.stop();
      return {
        offered: rate,
        planned: Math.round(rate * seconds),
        sent,
        done: completed,
        seconds: secs,
        perSec: completed / secs,
        lat: summarize(lat),
        usage: u ? usagePerMessage(u, completed) : undefined,
      };
    };
    await step(500, 2); // warm-up: JIT, connections, scripts
    // One job in flight at a time (as LoadRig.serial): add → completed event.
    lat = [];
    for (let i = 0; i < SERIAL_SAMPLES; i++) {
      const s = sessions[0]!;
      const idx = s.next++;
      const jobId = `${s.id}-${idx}`;
      const done = new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error('bullmq serial: no answer in 10 s')), 10_000);
        answered = () => {
          clearTimeout(t);
          res();
        };
      });
      sentAt.set(jobId, performance.now());
      await queue.add(
        'translate',
        { session_id: s.id, utterance_index: idx, src_lang: s.src, tgt_lang: 'en', audio },
        { jobId, removeOnComplete: true, removeOnFail: 1000, attempts: 3 },
      );
      await done;
    }
    answered = undefined;
    const serial = summarize(lat);
    const steps = await ramp(
      o.rates,
      (rate) => step(rate, o.stepSeconds, new UsageProbe(o.admin, { workers: workers.map((w) => w.pid) })),
      o.onStep,
    );
    if (addErrors || failed) console.warn(`bullmq: ${addErrors} add errors, ${failed} failed jobs`);
    return { steps, serial };
  } finally {
    await Promise.all(stops.map((s) => s()));
    await closeClients();
  }
}
