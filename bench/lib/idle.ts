/**
 * Idle-session memory: fresh gateway processes, then N initialized but silent sessions spread
 * over them; RSS (and V8 heap) per session = (sum after − sum before) / N, read from each
 * gateway's /metrics. The baseline is taken after a small warm-up batch of sessions so the
 * figure is the marginal cost of one more idle session, not first-use code paths.
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { deferProc } from './cleanup';
import { type BenchChild, spawnChild } from './ipc';
import { startGateways } from './lingua-e2e';

export interface IdleRow {
  sessions: number;
  opened: number;
  rssPerSessionKB: number;
  heapPerSessionKB: number;
  rssBeforeMB: number;
  rssAfterMB: number;
  note?: string;
}

/** Soft limit on open files of this process (children inherit it). */
export function openFilesLimit(): number {
  try {
    const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m?.[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m?.[1] ?? 1024);
  } catch {
    return 1024;
  }
}

interface Mem {
  rss: number;
  heap: number;
  sessions: number;
}

async function gatewayMemory(ports: number[]): Promise<Mem> {
  const out: Mem = { rss: 0, heap: 0, sessions: 0 };
  for (const port of ports) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const val = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
    out.rss += val(/^process_resident_memory_bytes(?:\{[^}]*\})? (\S+)/m);
    out.heap += val(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m);
    out.sessions += val(/^lingua_connections\{[^}]*kind="session"[^}]*\} (\S+)/m) || 0;
  }
  return out;
}

/** opened before the baseline reading, so first-use costs are not counted per session */
export const WARM_SESSIONS = 60;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** After a pause, several readings: the last RSS, and the lowest V8 heap (closest to live data). */
async function settledMemory(ports: number[]): Promise<Mem> {
  await sleep(Number(process.env.BENCH_IDLE_SETTLE_MS ?? 1500));
  const xs: Mem[] = [];
  for (let i = 0; i < 5; i++) {
    xs.push(await gatewayMemory(ports));
    await sleep(300);
  }
  return { ...xs[xs.length - 1]!, heap: Math.min(...xs.map((x) => x.heap)) };
}

export async function idleMemory(redisUrl: string, counts: number[]): Promise<IdleRow[]> {
  const limit = openFilesLimit();
  // Each gateway holds N/3 sockets (checked below); each client process at most perClient.
  const perClient = Math.max(100, Math.min(5000, limit - 300));
  const { gws, stop } = await startGateways(3, redisUrl);
  const ports = gws.map((g) => g.port);
  const clients: BenchChild[] = [];
  const stops: (() => Promise<void>)[] = [];
  const node = new WebSocket(`ws://127.0.0.1:${ports[0]}/ws/node`, { perMessageDeflate: false });
  try {
    // One node so the fr:en pair exists (session_init checks it).
    await new Promise<void>((res, rej) => {
      node.once('error', rej);
      node.once('open', () =>
        node.send(
          JSON.stringify({
            type: 'node_register',
            node_id: 'idle-bench-node',
            services: ['asr', 'nmt'],
            asr_langs: ['fr'],
            tts_langs: ['en'],
            max_concurrent_jobs: 4,
          }),
        ),
      );
      node.on('message', (d) => d.toString().includes('node_register_ack') && res());
    });
    const used = new Map<BenchChild, number>();
    const open = async (n: number, offset: number) => {
      let left = n;
      const calls: Promise<{ opened: number; errors: Record<string, number> }>[] = [];
      let off = offset;
      while (left > 0) {
        let c = clients.find((x) => (used.get(x) ?? 0) < perClient);
        if (!c) {
          c = spawnChild('bench/lib/idle-clients.ts');
          clients.push(c);
          stops.push(deferProc(c.child, 3000));
          await c.ready;
        }
        const k = Math.min(left, perClient - (used.get(c) ?? 0));
        used.set(c, (used.get(c) ?? 0) + k);
        calls.push(c.call('open', { ports, count: k, offset: off, src: 'fr', tgt: 'en' }));
        off += k;
        left -= k;
      }
      const rs = await Promise.all(calls);
      const errors: Record<string, number> = {};
      for (const r of rs) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
      return { opened: rs.reduce((s, r) => s + r.opened, 0), errors };
    };
    const warm = WARM_SESSIONS;
    await open(warm, 0);
    const before = await settledMemory(ports);
    const rows: IdleRow[] = [];
    let total = 0;
    let opened = 0;
    for (const n of [...counts].sort((a, b) => a - b)) {
      if (n / 3 + 200 > limit) {
        rows.push({
          sessions: n,
          opened: 0,
          rssPerSessionKB: Number.NaN,
          heapPerSessionKB: Number.NaN,
          rssBeforeMB: Number.NaN,
          rssAfterMB: Number.NaN,
          note: `ulimit -n ${limit} is too low for ${Math.ceil(n / 3)} sockets per gateway`,
        });
        continue;
      }
      const r = await open(n - total, warm + total);
      opened += r.opened;
      total = n;
      const after = await settledMemory(ports);
      const errs = Object.entries(r.errors)
        .map(([k, v]) => `${v}× ${k}`)
        .join('; ');
      rows.push({
        sessions: n,
        opened,
        rssPerSessionKB: (after.rss - before.rss) / opened / 1024,
        heapPerSessionKB: (after.heap - before.heap) / opened / 1024,
        rssBeforeMB: before.rss / 2 ** 20,
        rssAfterMB: after.rss / 2 ** 20,
        note: [errs && `open errors: ${errs}`, `gateways report ${after.sessions - warm} bench sessions`]
          .filter(Boolean)
          .join('; '),
      });
    }
    return rows;
  } finally {
    node.close();
    await Promise.all(stops.map((s) => s()));
    await stop();
  }
}
