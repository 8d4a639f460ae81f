/**
 * One Socket.IO server of the hop baseline (child process): the redis-streams adapter on the
 * bench's Redis, default adapter options. Command `emit` sends paced `job_assign` messages to
 * sockets connected to ANOTHER server with io.to(socketId).emit, so each one crosses
 * instances through the adapter's Redis stream.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { assignFrame, assignPayload } from '../lib/assign-frame';
import { serveParent } from '../lib/ipc';
import { paced, wallNow } from '../lib/pace';

const redis = new Redis(process.env.BENCH_REDIS_URL!);
const http = createServer();
const io = new Server(http, { adapter: createAdapter(redis) });
const audio = Buffer.alloc(640, 7);

const ipc = serveParent({
  async emit(a) {
    const targets = a.targets as string[];
    const base = Number(a.base ?? 0);
    return paced(Number(a.rate), Number(a.seconds), (i) => {
      const msg = assignFrame(assignPayload(base + i, audio, wallNow()));
      io.to(targets[i % targets.length]!).emit('job_assign', msg);
    });
  },
});

http.listen(0, '127.0.0.1', () => ipc.ready({ port: (http.address() as AddressInfo).port }));
process.on('SIGTERM', () => {
  io.close();
  redis.disconnect();
  process.exit(0);
});
