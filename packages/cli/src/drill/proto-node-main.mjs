/**
 * A minimal compute node written from docs/protocol.md alone (plain WebSocket + JSON, no node
 * SDK), as a third party would write one: what the drills run as "protocol-only nodes".
 *
 *   node packages/cli/src/drill/proto-node-main.mjs --url ws://h:p/ws/node[,ws://…] --node-id p1 \
 *     [--asr zh,en] [--tts zh,en,ja] [--max-jobs 8] [--latency MS|MIN-MAX] [--job-ids list|none]
 *
 * It answers like the simulated node (docs/protocol.md: "<lang>:" + 16 hex of sha256(audio))
 * after `--latency`, confirms every job_assign at once (a repeated one is confirmed again and
 * run once), honours job_cancel, and heartbeats at the interval the ack asks for. When its
 * connection drops it DROPS every job in flight, answers included (they are never sent), and
 * reconnects to the next URL at once: exactly the node the gateway has to reconcile with.
 * `--job-ids list` (default) lists its jobs in node_register/node_heartbeat (protocol v1.4);
 * `none` behaves like a v1.1 node. The token, if any, comes from LINGUA_NODE_TOKEN.
 * Logs are JSON lines on stdout (`{"msg":"registered"}` once per registration).
 * Plain JavaScript on purpose: no build step or loader, it starts in ~100 ms (the node-restart
 * drill starts one again within 500 ms of killing it).
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values: a } = parseArgs({
  options: {
    url: { type: 'string', multiple: true },
    'node-id': { type: 'string' },
    asr: { type: 'string', default: 'zh,en' },
    tts: { type: 'string', default: 'zh,en,ja' },
    'max-jobs': { type: 'string', default: '8' },
    latency: { type: 'string', default: '20-80' },
    'job-ids': { type: 'string', default: 'list' },
  },
});

const urls = (a.url ?? []).flatMap((u) => u.split(',')).filter(Boolean);
const nodeId = a['node-id'] ?? `proto-${process.pid}`;
const [latMin, latMax] = (a.latency ?? '0').split('-').map(Number);
const listJobs = a['job-ids'] !== 'none';
if (!urls.length || !Number.isFinite(latMin)) {
  process.stderr.write('usage: proto-node-main --url ws://host:port/ws/node --node-id ID\n');
  process.exit(2);
}

const log = (msg, fields = {}) =>
  process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), node: nodeId, msg, ...fields })}\n`);

let urlIndex = 0;
let ws;
let heartbeat;
let stopping = false;
/** "<job_id>#<attempt>" → { timer } of the pending answer */
const jobs = new Map();

const jobIds = () => [...new Set([...jobs.keys()].map((k) => k.slice(0, k.lastIndexOf('#'))))];

function send(frame) {
  if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
}

function simulated(audioB64, src, tgt, tts) {
  const digest = createHash('sha256').update(Buffer.from(audioB64, 'base64')).digest();
  const h = digest.toString('hex').slice(0, 16);
  const out = { text_asr: `${src}:${h}`, text_translated: `${tgt}:${h}` };
  if (tts) Object.assign(out, { tts_audio: digest.toString('base64'), tts_format: 'pcm16' });
  return out;
}

function onAssign(f) {
  const key = `${f.job_id}#${f.attempt}`;
  send({ type: 'job_accepted', job_id: f.job_id, attempt: f.attempt });
  if (jobs.has(key)) return; // a repeated assignment is the same job
  const delay = latMin + Math.random() * ((latMax ?? latMin) - latMin);
  const started = Date.now();
  const timer = setTimeout(() => {
    jobs.delete(key);
    send({
      type: 'job_result',
      job_id: f.job_id,
      attempt: f.attempt,
      success: true,
      ...simulated(String(f.audio ?? ''), String(f.src_lang), String(f.tgt_lang), f.features?.tts === true),
      processing_ms: Date.now() - started,
    });
  }, delay);
  jobs.set(key, { timer });
}

function dropAll() {
  for (const j of jobs.values()) clearTimeout(j.timer);
  jobs.clear();
}

function connect() {
  if (stopping) return;
  const url = urls[urlIndex++ % urls.length];
  const sock = new WebSocket(url);
  ws = sock;
  sock.on('open', () => {
    const reg = {
      type: 'node_register',
      node_id: nodeId,
      services: ['asr', 'nmt', 'tts'],
      asr_langs: a.asr.split(','),
      tts_langs: a.tts.split(','),
      max_concurrent_jobs: Number(a['max-jobs']),
      version: 'proto-node',
    };
    if (process.env.LINGUA_NODE_TOKEN) reg.token = process.env.LINGUA_NODE_TOKEN;
    if (listJobs) reg.job_ids = jobIds();
    sock.send(JSON.stringify(reg));
  });
  sock.on('message', (data) => {
    let f;
    try {
      f = JSON.parse(data.toString());
    } catch {
      return;
    }
    switch (f.type) {
      case 'node_register_ack':
        log('registered', { instance: f.instance_id, url });
        clearInterval(heartbeat);
        heartbeat = setInterval(() => {
          send({
            type: 'node_heartbeat',
            running_jobs: jobs.size,
            ...(listJobs ? { job_ids: jobIds() } : {}),
          });
        }, f.heartbeat_interval_ms ?? 5000);
        break;
      case 'job_assign':
        onAssign(f);
        break;
      case 'job_cancel': {
        const key = `${f.job_id}#${f.attempt}`;
        clearTimeout(jobs.get(key)?.timer);
        jobs.delete(key);
        break;
      }
      case 'error':
        if (f.code === 'NODE_NOT_REGISTERED' || f.code === 'DRAINING') sock.terminate();
        break;
    }
  });
  sock.on('error', () => {});
  sock.on('close', (code) => {
    if (ws !== sock) return;
    clearInterval(heartbeat);
    // Everything in flight is dropped with the connection: answers included.
    if (jobs.size) log('dropped in-flight jobs', { jobs: jobs.size });
    dropAll();
    if (!stopping) {
      log('disconnected', { code });
      setTimeout(connect, 50);
    }
  });
}

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    stopping = true;
    dropAll();
    ws?.close(1000, 'node stopping');
    setTimeout(() => process.exit(0), 200).unref();
  });
}

connect();
