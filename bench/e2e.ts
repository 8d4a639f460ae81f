/**
 * npm run bench:e2e — 3 gateway processes + one redis-server + 0-ms nodes, sessions and nodes
 * on different instances. Prints completed jobs/s, dispatch latency (utterance finalized →
 * job_assign at the node) and end-to-end latency at a fixed offered load, then a ramp.
 * Not a test: numbers depend on the machine. `--transport uws|node` (or LINGUA_TRANSPORT)
 * picks the gateways' HTTP/WebSocket implementation, to compare native uWS with the fallback.
 */
import { cpus } from 'node:os';
import { startRedis } from '../test/support/redis';
import { BENCH_NO_QUOTAS } from './lib/lingua-e2e';
import { LoadRig } from './lib/load';
import { type GatewayProc, startGatewayProc, stopProc, useCompiledGateway } from './lib/procs';
import { fmt } from './lib/stats';
import { selectTransport, transportOf } from './lib/transport';

const FIXED_RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RAMP = (process.env.BENCH_RAMP ?? '2000,4000,6000,8000').split(',').map(Number).filter(Boolean);
/** audio per utterance (as `npm run bench`'s BENCH_UTTERANCE_BYTES) */
const UTTERANCE_BYTES = Number(process.env.BENCH_UTTERANCE_BYTES ?? 640);

async function main() {
  selectTransport();
  await useCompiledGateway();
  const redis = await startRedis({ extraArgs: ['--appendonly', 'no'] });
  const gws: GatewayProc[] = [];
  try {
    for (let i = 1; i <= 3; i++) gws.push(await startGatewayProc(`gw-${i}`, redis.url, BENCH_NO_QUOTAS));
    const rig = new LoadRig({
      ports: gws.map((g) => g.port),
      sessionsPerInstance: 30,
      nodesPerInstance: 2,
      nodeSlots: 256,
      utteranceBytes: UTTERANCE_BYTES,
    });
    await rig.connect();
    await rig.run(500, 2); // warm-up: JIT, connections, scripts
    const rows = [];
    rows.push({ label: `fixed ${FIXED_RATE}/s`, ...(await rig.run(FIXED_RATE, SECONDS)) });
    for (const rate of RAMP) rows.push({ label: `ramp ${rate}/s`, ...(await rig.run(rate, 5)) });
    console.log(`session error frames: ${JSON.stringify(rig.errors)}; session sockets closed: ${rig.closes}`);
    const { connectRedis, Keyspace } = await import('@lingua/cluster');
    const r = connectRedis({ url: redis.url, role: 'worker' });
    console.log(
      `job states: ${JSON.stringify(await r.hgetall(new Keyspace({ prefix: 'lingua:v1:', cells: 1, shards: 1 }).jobCounts(0)))}`,
    );
    r.disconnect();
    rig.close();
    console.log(
      `\nLingua e2e — ${cpus().length} cores (${cpus()[0]?.model}), node ${process.version}, transport ${await transportOf(gws[0]!.port)}`,
    );
    console.log(
      `3 gateways, 6 nodes (0 ms), 90 sessions, ${UTTERANCE_BYTES}-byte utterances; sessions and nodes on different instances\n`,
    );
    console.log(
      '| load | sent | completed | missing | jobs/s | dispatch p50 ms | dispatch p99 ms | e2e p50 ms | e2e p99 ms |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(
        `| ${r.label} | ${r.sent} | ${r.completed} | ${r.missing} | ${fmt(r.jobsPerSec, 0)} | ${fmt(r.dispatch.p50)} | ${fmt(r.dispatch.p99)} | ${fmt(r.e2e.p50)} | ${fmt(r.e2e.p99)} |`,
      );
    }
  } finally {
    await Promise.all(gws.map((g) => stopProc(g.child)));
    await redis.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
