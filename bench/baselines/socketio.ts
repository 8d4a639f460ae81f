/**
 * Socket.IO + @socket.io/redis-streams-adapter cross-instance hop (the baseline for Lingua's
 * inbox hop, bench/hop/inbox.ts). Three Socket.IO server processes on the bench's Redis;
 * CLIENTS socket.io-client sockets (websocket transport) connect to server A; servers B and
 * C emit `job_assign` messages to them with io.to(socketId).emit at half the offered rate
 * each. Latency: the emitting server's wall clock at emit (in the message) → client receipt.
 */
import type { Redis } from 'ioredis';
import { io as connect, type Socket } from 'socket.io-client';
import { deferProc } from '../lib/cleanup';
import { spawnChild } from '../lib/ipc';
import { waitFor, wallNow } from '../lib/pace';
import { ramp, type Step } from '../lib/ramp';
import { summarize } from '../lib/stats';
import { UsageProbe, usagePerMessage } from '../lib/usage';

export interface HopOptions {
  redisUrl: string;
  admin: Redis;
  rates: number[];
  stepSeconds: number;
  clients: number;
  onStep: (s: Step) => void;
}

export async function socketioHop(o: HopOptions): Promise<Step[]> {
  const servers = ['A', 'B', 'C'].map(() =>
    spawnChild('bench/baselines/socketio-server.ts', { BENCH_REDIS_URL: o.redisUrl }),
  );
  const stops = servers.map((s) => deferProc(s.child, 3000));
  const sockets: Socket[] = [];
  try {
    const [a, b, c] = servers as [(typeof servers)[0], (typeof servers)[0], (typeof servers)[0]];
    const { port } = (await a.ready) as { port: number };
    await Promise.all([b.ready, c.ready]);
    let received = 0;
    let lat: number[] = [];
    for (let i = 0; i < o.clients; i++) {
      const s = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true });
      s.on('job_assign', (m: { sent_at: number }) => {
        lat.push(wallNow() - m.sent_at);
        received++;
      });
      sockets.push(s);
    }
    if (!(await waitFor(() => sockets.every((s) => s.connected), 10_000))) {
      throw new Error('socket.io clients did not connect');
    }
    const targets = sockets.map((s) => s.id!);
    let base = 0;
    const step = async (rate: number, seconds: number, probe?: UsageProbe): Promise<Step> => {
      received = 0;
      lat = [];
      await probe?.start();
      const t0 = performance.now();
      const args = { rate: rate / 2, seconds, targets };
      const sent = (
        await Promise.all([
          b.call<number>('emit', { ...args, base }),
          c.call<number>('emit', { ...args, base: base + 1e9 }),
        ])
      ).reduce((x, y) => x + y, 0);
      base += sent;
      await waitFor(() => received >= sent, 5000);
      const secs = (performance.now() - t0) / 1000;
      const u = await probe?.stop();
      return {
        offered: rate,
        planned: 2 * Math.round((rate / 2) * seconds),
        sent,
        done: received,
        seconds: secs,
        perSec: received / secs,
        lat: summarize(lat),
        usage: u ? usagePerMessage(u, received) : undefined,
      };
    };
    await step(500, 1); // warm-up: adapter readers, JIT
    return await ramp(
      o.rates,
      (rate) =>
        step(rate, o.stepSeconds, new UsageProbe(o.admin, { receiver: [a.pid], senders: [b.pid, c.pid] })),
      o.onStep,
    );
  } finally {
    for (const s of sockets) s.disconnect();
    await Promise.all(stops.map((s) => s()));
  }
}
