/**
 * Runs one simulated node; what the local cluster and the drills spawn.
 *
 *   tsx packages/node-sdk/src/sim-main.ts --url ws://127.0.0.1:8080/ws/node --node-id n1 \
 *     --asr zh,en --tts zh,en,ja --max-jobs 4 --latency 0 --failure-rate 0 [--silent]
 *
 * --url may repeat or be comma-separated (reconnects go round-robin). --latency is `50` or
 * `20-80`. --partials N sends N partial results (protocol v1.8 job_progress) before each result,
 * spread over its latency; --echo-context appends the job_assign.context indexes it got to its
 * translations (v1.8, for tests). The node token comes from LINGUA_NODE_TOKEN only (never argv: `ps` shows argv to
every user). On SIGTERM/SIGINT the node
 * drains (up to --grace-ms), closes and exits 0; a second signal exits at once.
 * Logs are JSON lines on stdout. --health-port serves GET /health (200 while registered) for
 * container health checks and probes.
 *
 * Readiness (protocol v1.7): --warmup-ms MS registers warming up and marks the node ready that
 * long after registering (a node loading its models); SIGUSR1 toggles it between unavailable
 * and ready (an overheated GPU and its recovery).
 *
 * Model loss (protocol v1.7): --lose-model zh:en answers that pair's jobs MODEL_NOT_AVAILABLE
 * from --lose-after MS on, and reports it loaded again --restore-after MS later (omitted:
 * never). Without --lose-after, SIGHUP toggles the loss (drills time it exactly).
 *
 * Load (protocol v1.9): --load 0.9 (cpu, gpu and mem) or --load cpu=0.9,gpu=0.3 is reported in
 * every heartbeat (or LINGUA_SIM_LOAD=...); a gateway skips the node above its hot threshold
 * while cooler nodes have room. (In-process tests change it at will: LoadDial.)
 *
 * Failure drills: --silent-after MS (or SIGUSR2 at any moment) makes the node go silent while
 * its socket stays open; --silent-scope all (a hung process: no heartbeats, no frames at all)
 * or jobs (heartbeats continue, results never come). See SilenceSwitch in sim-node.ts.
 */
import { parseArgs } from 'node:util';
import { startHealthServer } from './health';
import {
  createSimNode,
  LoadDial,
  ModelSwitch,
  parseLoad,
  type SilenceScope,
  SilenceSwitch,
} from './sim-node';

const USAGE = `usage: LINGUA_NODE_TOKEN=<node token> sim-main --url ws://host:port/ws/node [--node-id ID] [--asr zh,en]
  [--tts zh,en,ja] [--services asr,nmt,tts] [--max-jobs 4] [--latency MS|MIN-MAX]
  [--failure-rate 0..1] [--silent] [--seed N] [--partials N] [--echo-context] [--heartbeat-ms MS] [--grace-ms 3000]
  [--silent-after MS] [--silent-scope all|jobs] [--warmup-ms MS]
  [--lose-model SRC:TGT [--lose-after MS] [--restore-after MS]]
  [--load F|cpu=F,gpu=F,mem=F] [--health-port P [--health-host 0.0.0.0]]
SIGUSR2 makes the node go silent at once (socket kept open), like --silent-after.
SIGUSR1 toggles the node between unavailable and ready (protocol v1.7).
SIGHUP toggles the loss of the --lose-model pair (protocol v1.7 MODEL_NOT_AVAILABLE).
--load (or LINGUA_SIM_LOAD) is reported in every heartbeat (protocol v1.9 hot nodes).`;

function log(msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), msg, ...fields })}\n`);
}

function fail(message: string): never {
  process.stderr.write(`sim-main: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function list(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

function num(
  name: string,
  s: string | undefined,
  min: number,
  max = Number.POSITIVE_INFINITY,
): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n) || n < min || n > max)
    fail(`--${name} must be a number in [${min}, ${max}], got ${s}`);
  return n;
}

function latency(s: string): number | [number, number] {
  const parts = s.split(/[-,]/).map((x) => num('latency', x, 0)!);
  if (parts.length === 1) return parts[0]!;
  if (parts.length !== 2 || parts[0]! > parts[1]!) fail(`--latency must be MS or MIN-MAX, got ${s}`);
  return [parts[0]!, parts[1]!];
}

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      url: { type: 'string', multiple: true },
      'node-id': { type: 'string' },
      asr: { type: 'string', default: 'zh,en' },
      tts: { type: 'string', default: 'zh,en,ja' },
      services: { type: 'string', default: 'asr,nmt,tts' },
      'max-jobs': { type: 'string', default: '4' },
      latency: { type: 'string', default: '0' },
      'failure-rate': { type: 'string', default: '0' },
      silent: { type: 'boolean', default: false },
      seed: { type: 'string' },
      partials: { type: 'string', default: '0' },
      'echo-context': { type: 'boolean', default: false },
      'heartbeat-ms': { type: 'string' },
      'grace-ms': { type: 'string', default: '3000' },
      'silent-after': { type: 'string' },
      'silent-scope': { type: 'string', default: 'all' },
      'warmup-ms': { type: 'string' },
      'lose-model': { type: 'string' },
      'lose-after': { type: 'string' },
      'restore-after': { type: 'string' },
      load: { type: 'string' },
      'health-port': { type: 'string' },
      'health-host': { type: 'string', default: '0.0.0.0' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}
try {
  args = parse();
} catch (err) {
  fail((err as Error).message);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const urls = (args.url ?? ['ws://127.0.0.1:8080/ws/node']).flatMap(list);
const nodeId = args['node-id'] ?? `sim-${process.pid}`;
const services = list(args.services);
for (const s of services) if (s !== 'asr' && s !== 'nmt' && s !== 'tts') fail(`unknown service ${s}`);
const graceMs = num('grace-ms', args['grace-ms'], 0)!;
const silentAfterMs = num('silent-after', args['silent-after'], 0);
const scope = args['silent-scope'];
if (scope !== 'all' && scope !== 'jobs') fail(`--silent-scope must be all or jobs, got ${scope}`);
const silence = new SilenceSwitch(scope as SilenceScope);
const lostPair = args['lose-model'];
if (lostPair !== undefined && !/^[A-Za-z0-9_-]{2,16}:[A-Za-z0-9_-]{2,16}$/.test(lostPair))
  fail(`--lose-model must be SRC:TGT, got ${lostPair}`);
const loseAfterMs = num('lose-after', args['lose-after'], 0);
const restoreAfterMs = num('restore-after', args['restore-after'], 0);
const models = new ModelSwitch();
const loadArg = args.load ?? (process.env.LINGUA_SIM_LOAD || undefined);
let load: LoadDial | undefined;
try {
  load = loadArg === undefined ? undefined : new LoadDial(parseLoad(loadArg));
} catch (err) {
  fail(`--load: ${(err as Error).message}`);
}

const node = createSimNode({
  urls,
  nodeId,
  token: process.env.LINGUA_NODE_TOKEN || undefined,
  services: services as Array<'asr' | 'nmt' | 'tts'>,
  asrLangs: list(args.asr),
  ttsLangs: list(args.tts),
  maxConcurrentJobs: num('max-jobs', args['max-jobs'], 1)!,
  latencyMs: latency(args.latency),
  failureRate: num('failure-rate', args['failure-rate'], 0, 1)!,
  silent: args.silent,
  seed: num('seed', args.seed, 0),
  partials: num('partials', args.partials, 0, 64)!,
  echoContext: args['echo-context'],
  heartbeatIntervalMs: num('heartbeat-ms', args['heartbeat-ms'], 1),
  silence,
  warmupMs: num('warmup-ms', args['warmup-ms'], 0),
  modelSwitch: models,
  load,
});

if (lostPair !== undefined) {
  let lost = false;
  const lose = (trigger: string) => {
    lost = true;
    models.lose(lostPair);
    log('model lost', { node_id: nodeId, pair: lostPair, trigger });
  };
  const restore = (trigger: string) => {
    lost = false;
    models.restore(lostPair);
    log('model restored', { node_id: nodeId, pair: lostPair, trigger });
  };
  if (loseAfterMs !== undefined) {
    setTimeout(() => {
      lose('lose-after');
      if (restoreAfterMs !== undefined) setTimeout(() => restore('restore-after'), restoreAfterMs);
    }, loseAfterMs);
  } else {
    process.on('SIGHUP', () => (lost ? restore('SIGHUP') : lose('SIGHUP')));
  }
}

process.on('SIGUSR1', () => {
  if (node.readiness === 'unavailable') node.markReady();
  else node.markUnavailable('SIGUSR1');
  log('readiness', { node_id: nodeId, readiness: node.readiness, trigger: 'SIGUSR1' });
});

function goSilent(trigger: string): void {
  if (silence.silent) return;
  silence.silence();
  log('silent', { node_id: nodeId, scope: silence.scope, trigger, held_jobs: node.heldJobs });
}
if (silentAfterMs !== undefined) setTimeout(() => goSilent('silent-after'), silentAfterMs);
process.on('SIGUSR2', () => goSilent('SIGUSR2'));

node.on('registered', (ack) =>
  log('registered', { node_id: nodeId, instance_id: ack.instance_id, pools: ack.pools }),
);
node.on('disconnected', ({ code, reason }) => log('disconnected', { node_id: nodeId, code, reason }));
node.on('error', (e) => log('server error', { node_id: nodeId, code: e.code, message: e.message }));
node.on('closed', ({ reason, error }) => {
  if (reason === 'error') {
    log('stopped', { node_id: nodeId, error: error?.message });
    process.exit(1);
  }
});

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) process.exit(0);
  stopping = true;
  log('stopping', { node_id: nodeId, signal, held_jobs: node.heldJobs });
  if (graceMs > 0 && node.state === 'registered') {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([node.drain(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }
  await node.close();
  log('stopped', { node_id: nodeId });
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

const healthPort = num('health-port', args['health-port'], 0, 65535);
if (healthPort !== undefined) {
  startHealthServer(healthPort, args['health-host'], () => node.state, nodeId).then(
    (h) => log('health endpoint', { node_id: nodeId, port: h.port }),
    (err: Error) => fail(`--health-port ${healthPort}: ${err.message}`),
  );
}

log('starting', { node_id: nodeId, urls });
node.start().catch(() => {
  // reported by the 'closed' handler
});
