/**
 * Raw stream hop (the floor for both hop benchmarks): two sender processes XADD, one receiver
 * process XREADs, plain ioredis, same entry size and pacing as bench/hop/inbox.ts. Latency =
 * sender's wall clock at XADD → read in the receiver (no WebSocket leg).
 */

import type { HopOptions } from '../baselines/socketio';
import { deferProc } from '../lib/cleanup';
import { spawnChild } from '../lib/ipc';
import { ramp, type Step } from '../lib/ramp';
import type { Summary } from '../lib/stats';
import { UsageProbe, usagePerMessage } from '../lib/usage';

export async function rawHop(o: Omit<HopOptions, 'clients'>): Promise<Step[]> {
  const procs = (['recv', 'send', 'send'] as const).map((role) =>
    spawnChild('bench/hop/raw-proc.ts', { BENCH_HOP_ROLE: role, BENCH_REDIS_URL: o.redisUrl }),
  );
  const stops = procs.map((p) => deferProc(p.child, 3000));
  try {
    const [a, b, c] = procs as [(typeof procs)[0], (typeof procs)[0], (typeof procs)[0]];
    await Promise.all(procs.map((p) => p.ready));
    let total = 0;
    const step = async (rate: number, seconds: number, probe?: UsageProbe): Promise<Step> => {
      await a.call('collect');
      await probe?.start();
      const t0 = performance.now();
      const args = { rate: rate / 2, seconds, bytes: 850 };
      const sent = (await Promise.all([b.call<number>('send', args), c.call<number>('send', args)])).reduce(
        (x, y) => x + y,
        0,
      );
      total += sent;
      const end = performance.now() + 5000;
      while ((await a.call<number>('count')) < total && performance.now() < end) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const lat = await a.call<Summary>('collect');
      const secs = (performance.now() - t0) / 1000;
      const u = await probe?.stop();
      return {
        offered: rate,
        planned: 2 * Math.round((rate / 2) * seconds),
        sent,
        done: lat.n,
        seconds: secs,
        perSec: lat.n / secs,
        lat,
        usage: u ? usagePerMessage(u, lat.n) : undefined,
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
    await Promise.all(stops.map((s) => s()));
  }
}
