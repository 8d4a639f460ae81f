/**
 * The floor under any Redis-stream hop on this machine: plain ioredis XADD in one process,
 * XREAD BLOCK in another, no framework. BENCH_HOP_ROLE=recv reads the stream and records
 * send → read latency (command `collect`); BENCH_HOP_ROLE=send XADDs paced entries of the
 * envelope's size carrying the send time (command `send`).
 */
import { Redis } from 'ioredis';
import { serveParent } from '../lib/ipc';
import { paced, wallNow } from '../lib/pace';
import { summarize } from '../lib/stats';

const url = process.env.BENCH_REDIS_URL!;
const key = process.env.BENCH_STREAM ?? 'bench:rawhop';
const redis = new Redis(url);
let lat: number[] = [];
let received = 0;

async function readLoop(): Promise<void> {
  const blocking = new Redis(url);
  let id = '$';
  for (;;) {
    const res = (await blocking.xread('COUNT', 256, 'BLOCK', 1000, 'STREAMS', key, id)) as
      | [string, [string, string[]][]][]
      | null;
    for (const [eid, fields] of res?.[0]?.[1] ?? []) {
      lat.push(wallNow() - Number(fields[1]));
      received++;
      id = eid;
    }
  }
}

const ipc = serveParent({
  async send(a) {
    const payload = Buffer.alloc(Number(a.bytes ?? 850), 7);
    return paced(Number(a.rate), Number(a.seconds), () => {
      void redis.xadd(key, 'MAXLEN', '~', 10000, '*', 't', String(wallNow()), 'm', payload);
    });
  },
  /** entries read so far (all steps) */
  count: () => received,
  /** latencies since the last collect */
  collect() {
    const s = summarize(lat);
    lat = [];
    return s;
  },
});

if (process.env.BENCH_HOP_ROLE === 'recv') {
  void readLoop();
  // XREAD with `$` only sees entries added after the first read is registered
  setTimeout(() => ipc.ready(), 200);
} else ipc.ready();
process.on('SIGTERM', () => process.exit(0));
