/**
 * One process of Lingua's inbox hop benchmark, a stand-in for a gateway instance built from
 * the real cluster pieces (InboxBus, connectRedis, Keyspace) with the gateway's connection
 * roles. BENCH_HOP_ROLE=recv: consumes its inbox and forwards each `assign` envelope as the
 * node's `job_assign` JSON frame over uWebSockets.js (what the gateway's node connection
 * does), recording the stream-only hop time; clients say {"node_id"} first.
 * BENCH_HOP_ROLE=send: command `send` XADDs paced `assign` envelopes to the receiver's inbox.
 */
import { createRequire } from 'node:module';
import { connectRedis, type Envelope, INBOX_BATCH_META, InboxBus, Keyspace, Presence } from '@lingua/cluster';
import { assignBinary, assignFrame, assignPayload } from '../lib/assign-frame';
import { serveParent } from '../lib/ipc';
import { paced, wallNow } from '../lib/pace';
import { BENCH_BINARY_AUDIO as BINARY } from '../lib/sim-answer';
import { summarize } from '../lib/stats';

const uWS: typeof import('uWebSockets.js') = createRequire(import.meta.url)('uWebSockets.js');

const role = process.env.BENCH_HOP_ROLE;
const instanceId = process.env.BENCH_INSTANCE!;
const url = process.env.BENCH_REDIS_URL!;
const ks = new Keyspace({ prefix: process.env.BENCH_PREFIX ?? 'benchhop:v1:', cells: 1, shards: 1 });
const redis = connectRedis({ url, role: 'request', name: `${instanceId}:req` });
const blocking = connectRedis({ url, role: 'blocking', name: `${instanceId}:inbox` });
const log = {
  warn: (o: object, m?: string) => console.warn(m, o),
  error: (o: object, m?: string) => console.error(m, o),
};

type Ws = import('uWebSockets.js').WebSocket<{ nodeId?: string }>;
const conns = new Map<string, Ws>();
let hop: number[] = [];
let unrouted = 0;

async function handle(env: Envelope): Promise<void> {
  if (env.t !== 'assign') return;
  hop.push(wallNow() - env.job.finalized_at);
  const ws = conns.get(env.nodeId);
  if (!ws) {
    unrouted++;
    return;
  }
  // BENCH_BINARY_AUDIO=1: as the gateway sends to a node with binary_audio (v1.12).
  if (BINARY) ws.send(assignBinary(env.job), true);
  else ws.send(JSON.stringify(assignFrame(env.job)), false);
}

const inbox = new InboxBus({ redis, blocking, ks, instanceId, handle, log });
const audio = Buffer.alloc(640, 7);

const ipc = serveParent({
  async send(a) {
    const nodeIds = a.nodeIds as string[];
    const target = String(a.target);
    const base = Number(a.base ?? 0);
    let errors = 0;
    const sent = await paced(Number(a.rate), Number(a.seconds), (i) => {
      const job = assignPayload(base + i, audio, wallNow());
      inbox.send(target, { t: 'assign', nodeId: nodeIds[i % nodeIds.length]!, job }).catch(() => errors++);
    });
    if (errors) console.warn(`${instanceId}: ${errors} XADD errors`);
    return sent;
  },
  /** stream-only hop latencies since the last collect */
  collect() {
    const s = summarize(hop);
    hop = [];
    return { ...s, unrouted, stats: inbox.stats };
  },
  conns: () => conns.size,
});

async function main(): Promise<void> {
  // As a gateway does: say that this inbox reads batch entries, so senders may batch (inbox.ts).
  const presence = new Presence(redis, ks, instanceId, 5000);
  presence.setMeta({ [INBOX_BATCH_META]: 1 });
  presence.start(() => {});
  await presence.beat();
  await inbox.start();
  const end = Date.now() + 10_000;
  while (!inbox.isConsuming() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  if (role !== 'recv') return ipc.ready();
  const app = uWS.App().ws<{ nodeId?: string }>('/ws', {
    maxPayloadLength: 1 << 20,
    message: (ws, msg) => {
      const data = ws.getUserData();
      if (data.nodeId) return;
      data.nodeId = String(JSON.parse(Buffer.from(msg).toString()).node_id);
      conns.set(data.nodeId, ws);
    },
    close: (ws) => {
      const id = ws.getUserData().nodeId;
      if (id) conns.delete(id);
    },
  });
  app.listen('127.0.0.1', 0, (sock) => {
    if (!sock) throw new Error('inbox-proc: cannot listen');
    ipc.ready({ port: uWS.us_socket_local_port(sock) });
  });
}

process.on('SIGTERM', () => {
  void inbox.stop().finally(() => {
    redis.disconnect();
    process.exit(0);
  });
});
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
