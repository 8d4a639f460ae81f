/**
 * Node-selection benchmark (npm run bench:select). Not a test: prints a markdown table.
 *
 * Starts its own redis-server, loads pools of 100, 10,000 and 100,000 nodes (each node
 * zh,en x zh,en,ja -> 4 directed pools, 4 slots, with the tts service; every 4th node is hot,
 * protocol v1.9) and measures select+release of zh:en, every other job needing TTS (the
 * pair's TTS index) so both indexes and both score bands are on the measured path:
 *   (a) throughput with many calls in flight: CONNS connections x INFLIGHT closed loops,
 *       each loop = selectNode then releaseSlot (two scripts);
 *   (b) latency of sequential round trips on one connection.
 * The same two measurements run with EVALSHA of `return 1` (same client, same key routing)
 * as the ceiling this Redis + client can reach. Script calls/s are compared 1:1.
 * Arguments are passed to redis-server (e.g. `-- --zset-max-listpack-entries 0`).
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import type { Redis } from 'ioredis';
import { Keyspace } from '../packages/cluster/src/keys';
import { nodeHeartbeat, registerNode } from '../packages/cluster/src/node-registry';
import { connectRedis, type RedisClient } from '../packages/cluster/src/redis';
import { releaseSlot, selectNode } from '../packages/cluster/src/select-node';
import { startRedis } from '../test/support/redis';

/** Node counts of the zh:en pool; the default node offers zh,en x zh,en,ja = 4 directed pools
 * (each select/release re-scores the node in all of them). The last row isolates that cost. */
const ALL_SCENARIOS = [
  { nodes: 100, ttsLangs: ['zh', 'en', 'ja'], asrLangs: ['zh', 'en'] },
  { nodes: 10_000, ttsLangs: ['zh', 'en', 'ja'], asrLangs: ['zh', 'en'] },
  { nodes: 100_000, ttsLangs: ['zh', 'en', 'ja'], asrLangs: ['zh', 'en'] },
  { nodes: 100_000, ttsLangs: ['en'], asrLangs: ['zh'] },
];
/** BENCH_SMOKE=1: a few seconds on the smallest pool, to check the bench still runs (no numbers). */
const SMOKE = process.env.BENCH_SMOKE === '1';
const SCENARIOS = SMOKE ? ALL_SCENARIOS.slice(0, 1) : ALL_SCENARIOS;
const CONNS = SMOKE ? 2 : 8;
const INFLIGHT = SMOKE ? 4 : 32; // closed loops per connection -> 256 calls in flight
const THROUGHPUT_MS = SMOKE ? 300 : 3000;
const LATENCY_SAMPLES = SMOKE ? 300 : 5000;
const ROUNDS = SMOKE ? 1 : 3; // each measurement repeated; the median is reported
const LOAD_BATCH = 2000;
const LEASE_MS = 60_000;
/** every HOT_EVERY-th node reports a load above the hot threshold (v1.9: the hot score band) */
const HOT_EVERY = 4;

type Noop = RedisClient & { benchNoop(key: string): Promise<number> };

function withNoop(r: RedisClient): Noop {
  r.defineCommand('benchNoop', { numberOfKeys: 1, lua: 'return 1' });
  return r as Noop;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const nowMs = () => Date.now();
const hr = () => Number(process.hrtime.bigint()) / 1e3; // microseconds

/** Runs `loops` closed loops for `ms`; returns completed script calls per second. */
async function throughput(loops: (() => Promise<number>)[], ms: number): Promise<number> {
  let calls = 0;
  let stop = false;
  const t0 = performance.now();
  await Promise.all(
    loops.map(async (op) => {
      while (!stop) {
        const n = await op(); // not `calls += await op()`: that reads `calls` before awaiting
        calls += n;
        if (performance.now() - t0 >= ms) stop = true;
      }
    }),
  );
  return calls / ((performance.now() - t0) / 1000);
}

async function latency(op: () => Promise<void>, samples: number): Promise<number[]> {
  for (let i = 0; i < 200; i++) await op(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = hr();
    await op();
    out.push(hr() - t);
  }
  return out.sort((a, b) => a - b);
}

/** Server-side µs per EVALSHA since the last CONFIG RESETSTAT. */
async function evalshaUsec(r: RedisClient): Promise<number> {
  const m = (await (r as Redis).info('commandstats')).match(/cmdstat_evalsha:.*usec_per_call=([\d.]+)/);
  return m ? Number(m[1]) : Number.NaN;
}

async function load(conns: RedisClient[], ks: Keyspace, sc: (typeof SCENARIOS)[number]): Promise<number> {
  const n = sc.nodes;
  const t0 = performance.now();
  const capabilities = {
    services: ['asr', 'nmt', 'tts'],
    asrLangs: sc.asrLangs,
    ttsLangs: sc.ttsLangs,
    maxConcurrentJobs: 4,
  };
  for (let i = 0; i < n; i += LOAD_BATCH) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(n, i + LOAD_BATCH); j++) {
      // concurrent calls on an auto-pipelining connection: one pipelined write per batch
      const conn = conns[j % conns.length]!;
      const nodeId = `node-${j}`;
      batch.push(
        registerNode(conn, ks, { nodeId, instance: 'gw-bench', capabilities, now: nowMs() }).then(
          async (r) => {
            if (j % HOT_EVERY !== HOT_EVERY - 1) return;
            await nodeHeartbeat(conn, ks, {
              nodeId,
              epoch: r.epoch,
              instance: 'gw-bench',
              now: nowMs(),
              runningJobs: 0,
              hot: true,
            });
          },
        ),
      );
    }
    await Promise.all(batch);
  }
  return (performance.now() - t0) / 1000;
}

interface Row {
  nodes: number;
  /** directed pools per node */
  pools: number;
  loadS: number;
  selectCalls: number;
  rawCalls: number;
  /** Redis-side µs per EVALSHA (INFO commandstats) during the throughput runs */
  selUs: number;
  rawUs: number;
  selP50: number;
  selP99: number;
  pairP50: number;
  pairP99: number;
  rawP50: number;
  rawP99: number;
}

async function main(): Promise<void> {
  // Extra redis-server flags from the command line, e.g.
  //   npm run bench:select -- --zset-max-listpack-entries 0
  const redisArgs = process.argv.slice(2);
  const server = await startRedis({ extraArgs: redisArgs });
  const url = server.url;
  const conns = Array.from({ length: CONNS }, (_, i) =>
    withNoop(connectRedis({ url, role: 'request', name: `bench-${i}`, commandTimeoutMs: 60_000 })),
  );
  const seq = withNoop(connectRedis({ url, role: 'request', name: 'bench-seq', commandTimeoutMs: 60_000 }));
  const ks = new Keyspace({ prefix: 'bench:', cells: 1, shards: 1 });
  const cellKey = ks.cell(0);
  const rows: Row[] = [];
  let jobSeq = 0;

  const selectRelease = (r: RedisClient) => async () => {
    const n = jobSeq++;
    const jobId = `job-${n}`;
    const s = await selectNode(r, ks, {
      src: 'zh',
      tgt: 'en',
      jobId,
      attempt: 1,
      now: nowMs(),
      leaseMs: LEASE_MS,
      tts: n % 2 === 0,
    });
    await releaseSlot(r, ks, { nodeId: s.nodeId, jobId, attempt: 1 });
    return 2;
  };
  const rawPair = (r: Noop) => async () => {
    await r.benchNoop(cellKey);
    await r.benchNoop(cellKey);
    return 2;
  };

  try {
    for (const sc of SCENARIOS) {
      const n = sc.nodes;
      const pools =
        sc.asrLangs.length * sc.ttsLangs.length - sc.asrLangs.filter((l) => sc.ttsLangs.includes(l)).length;
      await (seq as Redis).flushall();
      const loadS = await load(conns, ks, sc);
      const sel: number[] = [];
      const raw: number[] = [];
      const selUs: number[] = [];
      const rawUs: number[] = [];
      const selLat: number[][] = [];
      const pairLat: number[][] = [];
      const rawLat: number[][] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const loops = (f: (c: Noop) => () => Promise<number>) =>
          conns.flatMap((c) => Array.from({ length: INFLIGHT }, () => f(c)));
        await (seq as Redis).config('RESETSTAT');
        raw.push(await throughput(loops(rawPair), THROUGHPUT_MS));
        rawUs.push(await evalshaUsec(seq));
        await (seq as Redis).config('RESETSTAT');
        sel.push(await throughput(loops(selectRelease), THROUGHPUT_MS));
        selUs.push(await evalshaUsec(seq));
        rawLat.push(await latency(async () => void (await seq.benchNoop(cellKey)), LATENCY_SAMPLES));
        const selOnly: number[] = [];
        pairLat.push(
          await latency(async () => {
            const n = jobSeq++;
            const jobId = `lat-${n}`;
            const t = hr();
            const s = await selectNode(seq, ks, {
              src: 'zh',
              tgt: 'en',
              jobId,
              attempt: 1,
              now: nowMs(),
              leaseMs: LEASE_MS,
              tts: n % 2 === 0,
            });
            selOnly.push(hr() - t);
            await releaseSlot(seq, ks, { nodeId: s.nodeId, jobId, attempt: 1 });
          }, LATENCY_SAMPLES),
        );
        selLat.push(selOnly.slice(200).sort((a, b) => a - b));
      }
      const info = await (seq as Redis).hget(ks.node('node-0'), 'running');
      if (info !== '0') throw new Error(`bench left reservations behind (node-0 running=${info})`);
      const m = (ls: number[][], p: number) => median(ls.map((l) => pct(l, p)));
      rows.push({
        nodes: n,
        pools,
        loadS,
        selectCalls: median(sel),
        rawCalls: median(raw),
        selUs: median(selUs),
        rawUs: median(rawUs),
        selP50: m(selLat, 50),
        selP99: m(selLat, 99),
        pairP50: m(pairLat, 50),
        pairP99: m(pairLat, 99),
        rawP50: m(rawLat, 50),
        rawP99: m(rawLat, 99),
      });
      process.stderr.write(`measured ${n} nodes x ${pools} pools\n`);
    }
    const redisVersion = (await (seq as Redis).info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?';
    print(rows, redisVersion, redisArgs);
  } finally {
    for (const c of [...conns, seq]) c.disconnect();
    await server.stop();
  }
}

function print(rows: Row[], redisVersion: string, redisArgs: string[]): void {
  const f0 = (x: number) => Math.round(x).toLocaleString('en-US');
  const us = (x: number) => `${Math.round(x)} µs`;
  const base = rows[0]!;
  const lines = [
    `Machine: nproc ${execFileSync('nproc').toString().trim()}, ${cpus()[0]?.model ?? '?'}; ` +
      `redis ${redisVersion}${redisArgs.length ? ` (${redisArgs.join(' ')})` : ' (default config)'}; node ${process.version}. Pool zh:en; 4 slots per node; every ${HOT_EVERY}th node hot, every other job with TTS (v1.9).`,
    `Throughput: ${CONNS} connections x ${INFLIGHT} closed loops in flight, ${THROUGHPUT_MS / 1000} s per run. ` +
      `Latency: ${LATENCY_SAMPLES} sequential operations on one connection. Median of ${ROUNDS} runs.`,
    '',
    '| nodes in pool | pools per node | load (register) | select+release script calls/s | raw EVALSHA calls/s | ratio | Redis µs per call: select+release / raw |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${f0(r.nodes)} | ${r.pools} | ${r.loadS.toFixed(1)} s | ${f0(r.selectCalls)} | ${f0(r.rawCalls)} | ` +
        `${((100 * r.selectCalls) / r.rawCalls).toFixed(0)}% | ${r.selUs.toFixed(1)} / ${r.rawUs.toFixed(1)} |`,
    ),
    '',
    '| nodes in pool | pools per node | select p50 / p99 | select+release p50 / p99 | raw EVALSHA p50 / p99 | select p50 vs 100 nodes |',
    '|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${f0(r.nodes)} | ${r.pools} | ${us(r.selP50)} / ${us(r.selP99)} | ${us(r.pairP50)} / ${us(r.pairP99)} | ` +
        `${us(r.rawP50)} / ${us(r.rawP99)} | ${(r.selP50 / base.selP50).toFixed(2)}x |`,
    ),
  ];
  console.log(lines.join('\n'));
}

await main();
