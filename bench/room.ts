/**
 * npm run bench:room — room fan-out latency next to 1:1 session latency, in the same run: 3
 * gateway processes + one redis-server + 0-ms nodes; one meeting room of BENCH_ROOM_MEMBERS
 * (default 8, three languages, spread over the instances) and BENCH_ROOM_PLAIN (default 8)
 * plain zh→en sessions, every session speaking BENCH_ROOM_RATE utterances/s (default 2) for
 * BENCH_SECONDS (default 20). Fan-out latency = the speaker's utterance sent (its final audio)
 * → a listener's room_result; "every listener" = → the last of them. Not a test: numbers
 * depend on the machine (docs/benchmarks.md).
 */
import { cpus } from 'node:os';
import { startRedis } from '../test/support/redis';
import { startGateways } from './lib/lingua-e2e';
import { useCompiledGateway } from './lib/procs';
import { RoomRig } from './lib/room-rig';
import { fmt } from './lib/stats';

const MEMBERS = Number(process.env.BENCH_ROOM_MEMBERS ?? 8);
const PLAIN = Number(process.env.BENCH_ROOM_PLAIN ?? 8);
const RATE = Number(process.env.BENCH_ROOM_RATE ?? 2);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);

async function main() {
  await useCompiledGateway();
  const redis = await startRedis({ extraArgs: ['--appendonly', 'no'] });
  const { gws, stop } = await startGateways(3, redis.url);
  const rig = new RoomRig({
    ports: gws.map((g) => g.port),
    members: MEMBERS,
    plainSessions: PLAIN,
    nodesPerInstance: 1,
    nodeSlots: 256,
    utteranceBytes: 640,
  });
  try {
    await rig.connect('bench-room');
    if (WARMUP_SECONDS > 0) await rig.run(RATE, WARMUP_SECONDS); // JIT, connections, scripts
    const r = await rig.run(RATE, SECONDS);
    console.log(
      `\nLingua room fan-out — ${cpus().length} cores (${cpus()[0]?.model}), node ${process.version}`,
    );
    console.log(
      `3 gateways, 3 nodes (0 ms), one room of ${MEMBERS} members (zh/en/ja, spread over the gateways) + ${PLAIN} plain zh→en sessions, each speaking ${RATE}/s for ${SECONDS} s; 640-byte utterances`,
    );
    console.log(
      `room: ${r.roomUtterances} utterances, ${r.roomComplete} reached every listener; ${fmt(r.jobsPerRoomUtterance)} jobs per room utterance; missing frames ${r.missing}; errors ${JSON.stringify(rig.errors)}\n`,
    );
    console.log('| latency (ms) | n | p50 | p99 | max |');
    console.log('|---|---|---|---|---|');
    const row = (label: string, s: { n: number; p50: number; p99: number; max: number }) =>
      console.log(`| ${label} | ${s.n} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.max)} |`);
    row('1:1 session: utterance sent → translation_result', r.plain);
    row('room member, own result: sent → translation_result', r.memberOwn);
    row(`room fan-out, each listener: sent → room_result`, r.fanoutEach);
    row(`room fan-out, every listener (${MEMBERS - 1}): sent → last room_result`, r.fanoutAll);
  } finally {
    rig.close();
    await stop();
    await redis.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
