/**
 * Lingua's cross-instance hop, measured directly: three processes built from the real
 * InboxBus (bench/hop/inbox-proc.ts). Instances B and C XADD `assign` envelopes (640 bytes of
 * audio, msgpack) to instance A's inbox at half the offered rate each; A's inbox consumer
 * forwards each as the node's `job_assign` JSON over uWebSockets.js to CLIENTS WebSocket
 * clients here. Same shape as the Socket.IO baseline (bench/baselines/socketio.ts).
 * Latency: sender's wall clock at send → client receipt (`lat`), and → A's inbox handler
 * (`lat2`, the stream-only part).
 */

import WebSocket from 'ws';
import type { HopOptions } from '../baselines/socketio';
import { deferProc } from '../lib/cleanup';
import { spawnChild } from '../lib/ipc';
import { waitFor, wallNow } from '../lib/pace';
import { ramp, type Step } from '../lib/ramp';
import { type AssignFrame, readAssign } from '../lib/sim-answer';
import { type Summary, summarize } from '../lib/stats';
import { UsageProbe, usagePerMessage } from '../lib/usage';

export async function inboxHop(o: HopOptions): Promise<Step[]> {
  const prefix = `benchhop:${process.pid}:`;
  const procs = (['recv', 'send', 'send'] as const).map((role, i) =>
    spawnChild('bench/hop/inbox-proc.ts', {
      BENCH_HOP_ROLE: role,
      BENCH_INSTANCE: `hop-${'abc'[i]}`,
      BENCH_REDIS_URL: o.redisUrl,
      BENCH_PREFIX: prefix,
    }),
  );
  const stops = procs.map((p) => deferProc(p.child, 3000));
  const clients: WebSocket[] = [];
  try {
    const [a, b, c] = procs as [(typeof procs)[0], (typeof procs)[0], (typeof procs)[0]];
    const { port } = (await a.ready) as { port: number };
    await Promise.all([b.ready, c.ready]);
    let received = 0;
    let lat: number[] = [];
    const nodeIds: string[] = [];
    for (let i = 0; i < o.clients; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false });
      await new Promise<void>((res, rej) => {
        ws.once('open', () => res());
        ws.once('error', rej);
      });
      ws.on('message', (d, isBinary) => {
        const a = readAssign(d, isBinary);
        if (!a) throw new Error('hop client: not a job_assign');
        lat.push(wallNow() - (a.f as AssignFrame & { sent_at: number }).sent_at);
        received++;
      });
      nodeIds.push(`hop-n${i}`);
      ws.send(JSON.stringify({ node_id: `hop-n${i}` }));
      clients.push(ws);
    }
    if (!(await pollConns((cmd) => a.call(cmd), o.clients))) {
      throw new Error('inbox hop clients did not register');
    }
    let base = 0;
    const step = async (rate: number, seconds: number, probe?: UsageProbe): Promise<Step> => {
      received = 0;
      lat = [];
      await a.call('collect');
      await probe?.start();
      const t0 = performance.now();
      const args = { rate: rate / 2, seconds, target: 'hop-a', nodeIds };
      const sent = (
        await Promise.all([
          b.call<number>('send', { ...args, base }),
          c.call<number>('send', { ...args, base: base + 1e9 }),
        ])
      ).reduce((x, y) => x + y, 0);
      base += sent;
      await waitFor(() => received >= sent, 5000);
      const secs = (performance.now() - t0) / 1000;
      const u = await probe?.stop();
      const stream = await a.call<Summary>('collect');
      return {
        offered: rate,
        planned: 2 * Math.round((rate / 2) * seconds),
        sent,
        done: received,
        seconds: secs,
        perSec: received / secs,
        lat: summarize(lat),
        lat2: stream,
        usage: u ? usagePerMessage(u, received) : undefined,
      };
    };
    await step(500, 1); // warm-up
    return await ramp(
      o.rates,
      (rate) =>
        step(rate, o.stepSeconds, new UsageProbe(o.admin, { receiver: [a.pid], senders: [b.pid, c.pid] })),
      o.onStep,
    );
  } finally {
    for (const ws of clients) ws.close();
    await Promise.all(stops.map((s) => s()));
    const keys = await o.admin.keys(`${prefix}*`);
    if (keys.length) await o.admin.del(...keys);
  }
}

async function pollConns(call: (cmd: string) => Promise<unknown>, n: number): Promise<boolean> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    if (((await call('conns')) as number) >= n) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}
