/**
 * npm run bench:heap — live V8 heap per idle session, by object type: one gateway, one node,
 * BENCH_HEAP_WARM (60) sessions, a heap snapshot, BENCH_HEAP_SESSIONS (2,000) more idle
 * sessions, a second snapshot; prints (second − first) / sessions per constructor. A snapshot
 * collects garbage first, so this is what an idle session keeps alive (the RSS figure of
 * `npm run bench`'s idle phase also carries the garbage of opening them).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import WebSocket from 'ws';
import { startRedis } from '../test/support/redis';
import { deferProc } from './lib/cleanup';
import { BENCH_GATEWAY_ENV } from './lib/lingua-e2e';
import { ROOT, startGatewayProc, useCompiledGateway } from './lib/procs';
import { registerBenchNode } from './lib/sim-answer';

const WARM = Number(process.env.BENCH_HEAP_WARM ?? 60);
const N = Number(process.env.BENCH_HEAP_SESSIONS ?? 2000);
const dir = resolve(ROOT, 'test-output/heap');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
process.env.BENCH_GATEWAY_NODE_ARGS = `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}`;

await useCompiledGateway();
const redis = await startRedis();
const gw = await startGatewayProc('gw-heap', redis.url, BENCH_GATEWAY_ENV);
const stopGw = deferProc(gw.child);
const sockets: WebSocket[] = [];

const connect = (path: string) =>
  new Promise<WebSocket>((res, rej) => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}${path}`, { perMessageDeflate: false });
    sockets.push(ws);
    ws.once('open', () => res(ws));
    ws.once('error', rej);
  });

async function openSessions(n: number): Promise<void> {
  for (let i = 0; i < n; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, async () => {
        const ws = await connect('/ws/session');
        const acked = new Promise<void>((res, rej) =>
          ws.on('message', (d) => {
            const f = JSON.parse(d.toString());
            if (f.type === 'session_init_ack') res();
            else if (f.type === 'error') rej(new Error(`session_init: ${f.code}`));
          }),
        );
        ws.send(
          JSON.stringify({
            type: 'session_init',
            src_lang: 'zh',
            tgt_lang: 'en',
            audio_format: 'pcm16',
            sample_rate: 16000,
          }),
        );
        await acked;
      }),
    );
  }
}

/** Asks the gateway for a snapshot and waits until the file is complete. */
async function snapshot(): Promise<string> {
  const before = new Set(readdirSync(dir));
  gw.child.kill('SIGUSR2');
  for (let lastSize = -1; ; ) {
    await new Promise((r) => setTimeout(r, 500));
    const f = readdirSync(dir).find((x) => x.endsWith('.heapsnapshot') && !before.has(x));
    if (!f) continue;
    const text = readFileSync(resolve(dir, f), 'utf8');
    if (text.length === lastSize && text.trimEnd().endsWith('}')) return resolve(dir, f);
    lastSize = text.length;
  }
}

/** self size and count per "type:constructor" */
function bytesByType(file: string): Map<string, [number, number]> {
  const s = JSON.parse(readFileSync(file, 'utf8'));
  const fields: string[] = s.snapshot.meta.node_fields;
  const types: string[] = s.snapshot.meta.node_types[0];
  const [fType, fName, fSize] = ['type', 'name', 'self_size'].map((x) => fields.indexOf(x)) as [
    number,
    number,
    number,
  ];
  const out = new Map<string, [number, number]>();
  for (let i = 0; i < s.nodes.length; i += fields.length) {
    const key = `${types[s.nodes[i + fType]]}:${String(s.strings[s.nodes[i + fName]]).slice(0, 60)}`;
    const v = out.get(key) ?? [0, 0];
    v[0] += s.nodes[i + fSize];
    v[1]++;
    out.set(key, v);
  }
  if (!process.env.BENCH_HEAP_KEEP) rmSync(file);
  return out;
}

try {
  const node = await connect('/ws/node');
  await registerBenchNode(node, { nodeId: 'heap-node', asrLangs: ['zh'], ttsLangs: ['en'], maxJobs: 4 });
  await openSessions(WARM);
  const a = bytesByType(await snapshot());
  await openSessions(N);
  const b = bytesByType(await snapshot());
  const rows = [...b]
    .map(([k, [size, count]]) => ({
      k,
      bytes: (size - (a.get(k)?.[0] ?? 0)) / N,
      count: (count - (a.get(k)?.[1] ?? 0)) / N,
    }))
    .sort((x, y) => y.bytes - x.bytes);
  const total = rows.reduce((s, r) => s + r.bytes, 0);
  console.log(
    `live V8 heap per idle session: ${(total / 1024).toFixed(2)} KB (${N} sessions over a ${WARM}-session baseline)\n`,
  );
  console.log('| bytes per session | objects per session | type:constructor |\n|---:|---:|---|');
  for (const r of rows.slice(0, 25))
    console.log(`| ${r.bytes.toFixed(0)} | ${r.count.toFixed(2)} | \`${r.k}\` |`);
} finally {
  for (const ws of sockets) ws.terminate();
  await stopGw();
  await redis.stop();
}
