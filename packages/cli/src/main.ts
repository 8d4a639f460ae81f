#!/usr/bin/env node
/**
 * The `lingua` command (`npm run lingua -- <command>`; `npm start` is `lingua up`).
 *
 *   lingua up       a local cluster: private redis-server, N gateways, M simulated nodes
 *   lingua status   instances, nodes, pools, jobs, DLQ as tables
 *   lingua dlq      list / replay dead letters
 *   lingua demo     stream test utterances into a cluster
 *
 * Where status/dlq read from: --url (a gateway's API) or --redis; else LINGUA_REDIS_URL; else
 * the cluster a running `lingua up` in this checkout recorded; else http://127.0.0.1:8080.
 */
import { redactRedisUrl, renderSimulation, validSimulatePair } from '@lingua/cluster';
import type { ClusterView } from '@lingua/dashboard';
import { Command, InvalidArgumentError } from 'commander';
import { mintingSecrets, sessionTokenFrom } from './credentials';
import { Demo, servedPairs } from './demo';
import { RoomDemo } from './demo-room';
import { deleteDlq, listDlq, replayDlq } from './dlq';
import { registerDrillCommand } from './drill';
import { getJson, sleep } from './net';
import { withRedis } from './redis-target';
import { readState } from './state';
import { explainFromRedis, explainFromUrl, readFromRedis, readFromUrl, renderStatus } from './status';
import { table } from './table';
import { registerTokenCommand } from './token';
import { runUp, UP_DEFAULTS } from './up';

function int(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
    }
    return n;
  };
}

interface SourceOpts {
  url?: string;
  redis?: string;
  prefix?: string;
  cells?: number;
  shards?: number;
}

type Source =
  | { kind: 'url'; url: string; token?: string }
  | { kind: 'redis'; redisUrl: string; prefix: string; cells: number; shards: number };

function withSourceOptions(cmd: Command): Command {
  return cmd
    .option('--redis <url>', 'read Redis directly (default: LINGUA_REDIS_URL, or the running `lingua up`)')
    .option('--prefix <prefix>', 'Redis key prefix (default: LINGUA_KEY_PREFIX or lingua:v1:)')
    .option('--cells <n>', 'node cells of the deployment (default: LINGUA_CELLS or 1)', int(1, 1024))
    .option('--shards <n>', 'session shards of the deployment (default: LINGUA_SHARDS or 1)', int(1, 1024));
}

function resolveSource(o: SourceOpts, needRedis: boolean): Source {
  const env = process.env;
  const state = readState();
  const redisUrl = o.redis ?? env.LINGUA_REDIS_URL ?? state?.redisUrl;
  const token = mintingSecrets().adminToken;
  if (o.url && !needRedis) return { kind: 'url', url: o.url, token };
  if (redisUrl) {
    const fromState = !o.redis && !env.LINGUA_REDIS_URL;
    return {
      kind: 'redis',
      redisUrl,
      prefix: o.prefix ?? env.LINGUA_KEY_PREFIX ?? (fromState ? state?.prefix : undefined) ?? 'lingua:v1:',
      cells: o.cells ?? numEnv('LINGUA_CELLS') ?? (fromState ? state?.cells : undefined) ?? 1,
      shards: o.shards ?? numEnv('LINGUA_SHARDS') ?? (fromState ? state?.shards : undefined) ?? 1,
    };
  }
  if (needRedis) {
    throw new Error('no Redis to read: pass --redis URL or set LINGUA_REDIS_URL (or start `lingua up` here)');
  }
  return { kind: 'url', url: 'http://127.0.0.1:8080', token };
}

function redisFromEnv(): string {
  const url = process.env.LINGUA_REDIS_URL;
  if (!url) throw new InvalidArgumentError('--redis-env: LINGUA_REDIS_URL is not set');
  return url;
}

function numEnv(name: string): number | undefined {
  const v = process.env[name];
  return v && Number.isInteger(Number(v)) ? Number(v) : undefined;
}

const program = new Command();
program
  .name('lingua')
  .description('Lingua: local cluster, status and operations for the speech-translation scheduler')
  .showHelpAfterError()
  .configureHelp({ showGlobalOptions: true });

program
  .command('up')
  .description(
    'start a local cluster: a private redis-server, N gateways sharing one port, M simulated nodes; Ctrl-C stops all',
  )
  .option('-g, --gateways <n>', 'gateway instances', int(1, 64), UP_DEFAULTS.gateways)
  .option('-n, --nodes <n>', 'simulated nodes', int(0, 256), UP_DEFAULTS.nodes)
  .option(
    '-p, --port <port>',
    'port shared by the gateways (consecutive ports off Linux)',
    int(1, 65535),
    UP_DEFAULTS.port,
  )
  .option('--host <host>', 'address the gateways listen on', UP_DEFAULTS.host)
  .option(
    '--redis <url|sentinel|cluster>',
    'use this Redis URL, or start a private Sentinel set (sentinel: primary, replica, 3 sentinels) or Redis Cluster (cluster: 3 masters + replicas) instead of one redis-server',
  )
  .option('--prefix <prefix>', 'Redis key prefix', UP_DEFAULTS.prefix)
  .option('--cells <n>', 'node cells', int(1, 1024), UP_DEFAULTS.cells)
  .option('--shards <n>', 'session shards', int(1, 1024), UP_DEFAULTS.shards)
  .option(
    '--redis-env',
    'use the Redis URL in LINGUA_REDIS_URL (for URLs with a password: argv is visible to every user)',
    false,
  )
  .option(
    '--insecure',
    'no credentials: anyone may connect (default: LINGUA_SESSION_JWT_SECRET etc. from the environment, generated when absent)',
    false,
  )
  .option('--node-latency <ms>', 'simulated node latency, MS or MIN-MAX', UP_DEFAULTS.nodeLatency)
  .option('--max-jobs <n>', 'concurrent jobs per simulated node', int(1, 10_000), UP_DEFAULTS.maxJobs)
  .option(
    '--demo [sessions]',
    'also run demo sessions (default 3) sending one utterance per second',
    int(1, 1000),
  )
  .option('--log-level <level>', 'gateway log level', UP_DEFAULTS.logLevel)
  .option('-v, --verbose', 'stream every child log line here, prefixed with its name', false)
  .option('--keep-logs', 'keep the log directory after a clean stop', false)
  .option('--ready-timeout <ms>', 'start-up bound', int(1000, 600_000), UP_DEFAULTS.readyTimeoutMs)
  .option(
    '--stop-timeout <ms>',
    'per-phase stop bound before SIGKILL',
    int(100, 600_000),
    UP_DEFAULTS.stopTimeoutMs,
  )
  .addHelpText(
    'after',
    '\nExamples:\n  npm start\n  npm start -- --gateways 2 --nodes 4 --port 9000 --demo\n  npm run lingua -- up --redis redis://127.0.0.1:6379 --verbose\n',
  )
  .action(async (o) => {
    if (o.redis && /^[a-z+]+:\/\/[^@/]*:[^@/]+@/i.test(o.redis)) {
      process.stderr.write(
        'lingua up: warning: the password in --redis is visible to every user of this machine (ps); prefer LINGUA_REDIS_URL=… with --redis-env\n',
      );
    }
    const code = await runUp({
      ...UP_DEFAULTS,
      gateways: o.gateways,
      nodes: o.nodes,
      port: o.port,
      host: o.host,
      redis: o.redisEnv ? redisFromEnv() : o.redis,
      prefix: o.prefix,
      cells: o.cells,
      shards: o.shards,
      insecure: o.insecure,
      nodeLatency: o.nodeLatency,
      maxJobs: o.maxJobs,
      demo: o.demo === true ? 3 : (o.demo ?? 0),
      logLevel: o.logLevel,
      verbose: o.verbose,
      keepLogs: o.keepLogs,
      readyTimeoutMs: o.readyTimeout,
      stopTimeoutMs: o.stopTimeout,
    });
    process.exit(code);
  });

withSourceOptions(
  program
    .command('status')
    .description('instances, nodes, pools, job counts, DLQ and recent failovers as tables')
    .option(
      '--url <url>',
      'read a gateway API instead of Redis, e.g. http://127.0.0.1:8080 (admin token: LINGUA_ADMIN_TOKEN)',
    )
    .option('--json', 'print the raw snapshot as JSON', false)
    .option('--explain <src:tgt>', 'selection dry-run: which node would get a job of this pair now, and why')
    .option('--session <id>', 'with --explain: as the next job of this session (its affinity)')
    .option(
      '--tts',
      'with --explain: a job that needs text-to-speech (only nodes with the tts service)',
      false,
    ),
)
  .addHelpText(
    'after',
    '\nExamples:\n  npm run lingua -- status\n  npm run lingua -- status --explain zh:en\n  npm run lingua -- status --url http://127.0.0.1:8080\n  npm run lingua -- status --redis redis://10.0.0.5:6379 --cells 16 --shards 16\n',
  )
  .action(async (o) => {
    const src = resolveSource(o, false);
    if (o.explain !== undefined) {
      const [from, to] = String(o.explain).split(':');
      if (!from || !to || !validSimulatePair(from, to)) {
        process.stderr.write(
          `lingua status: --explain wants SRC:TGT (two language codes), got ${o.explain}\n`,
        );
        process.exit(2);
      }
      const r =
        src.kind === 'url'
          ? await explainFromUrl(src.url, src.token, from, to, o.session, o.tts)
          : await explainFromRedis(src, from, to, o.session, o.tts);
      process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : `${renderSimulation(r)}\n`);
      return;
    }
    const snap = src.kind === 'url' ? await readFromUrl(src.url, src.token) : await readFromRedis(src);
    const where = src.kind === 'url' ? src.url : `${redactRedisUrl(src.redisUrl)} (prefix ${src.prefix})`;
    if (o.json) process.stdout.write(`${JSON.stringify(snap, null, 2)}\n`);
    else process.stdout.write(`Cluster at ${where}\n\n${renderStatus(snap)}\n`);
  });

const dlq = program.command('dlq').description('dead letters: inbox entries that could not be delivered');

withSourceOptions(
  dlq
    .command('list')
    .description('newest dead letters across every instance')
    .option('-l, --limit <n>', 'entries to show', int(1, 100_000), 20)
    .option('--json', 'print entries as JSON', false),
).action(async (o) => {
  const src = resolveSource(o, true) as Extract<Source, { kind: 'redis' }>;
  await withRedis(src, async (redis, ks) => {
    const entries = await listDlq(redis, ks, o.limit);
    if (o.json) {
      const plain = entries.map(({ raw, envelope, ...e }) => ({ ...e, bytes: raw?.length ?? 0 }));
      process.stdout.write(`${JSON.stringify(plain, null, 2)}\n`);
      return;
    }
    if (!entries.length) {
      process.stdout.write('DLQ is empty\n');
      return;
    }
    process.stdout.write(
      `${table(
        ['ID', 'TIME', 'TYPE', 'TARGET', 'DELIVERIES', 'REASON'],
        entries.map((e) => [
          e.ref,
          new Date(e.ts).toISOString(),
          e.type,
          e.target || '-',
          e.deliveries,
          e.reason,
        ]),
      )}\n`,
    );
  });
});

withSourceOptions(
  dlq
    .command('replay')
    .description(
      'put dead letters back into an inbox (the target connection owner if alive, else the origin, else any alive instance) and delete them from the DLQ',
    )
    .option('--id <id...>', 'entry id(s) as shown by `dlq list` (<instance>/<stream id>)')
    .option('--all', 'replay every entry', false),
)
  .addHelpText(
    'after',
    '\nExamples:\n  npm run lingua -- dlq replay --all\n  npm run lingua -- dlq replay --id gw-2/1732000000000-0\n',
  )
  .action(async (o) => {
    if (!o.id && !o.all) throw new InvalidArgumentError('pass --id <id> or --all');
    const src = resolveSource(o, true) as Extract<Source, { kind: 'redis' }>;
    await withRedis(src, async (redis, ks) => {
      const results = await replayDlq(redis, ks, { refs: o.id, all: o.all });
      if (!results.length) {
        process.stdout.write('nothing to replay\n');
        return;
      }
      process.stdout.write(
        `${table(
          ['ID', 'TYPE', 'RESULT', 'DETAIL'],
          results.map((r) => [r.ref, r.type, r.result, r.detail]),
        )}\n`,
      );
      const n = results.filter((r) => r.result === 'replayed').length;
      process.stdout.write(`${n} replayed, ${results.length - n} not\n`);
    });
  });

withSourceOptions(
  dlq
    .command('delete')
    .description('delete dead letters without replaying them (e.g. undecodable entries)')
    .requiredOption('--id <id...>', 'entry id(s) as shown by `dlq list` (<instance>/<stream id>)'),
).action(async (o) => {
  const src = resolveSource(o, true) as Extract<Source, { kind: 'redis' }>;
  await withRedis(src, async (redis, ks) => {
    const n = await deleteDlq(redis, ks, o.id);
    process.stdout.write(`${n} deleted\n`);
  });
});

program
  .command('demo')
  .description('stream synthetic utterances from a few sessions into a cluster (Ctrl-C stops)')
  .option('--url <url>', 'gateway base URL (default: the running `lingua up`, else http://127.0.0.1:8080)')
  .option('-s, --sessions <n>', 'sessions', int(1, 1000), 3)
  .option('-i, --interval <ms>', 'one utterance every <ms> across all sessions', int(10, 600_000), 500)
  .option('--pairs <pairs>', 'language pairs src:tgt,... (default: every pool with nodes)')
  .option('-d, --duration <s>', 'stop after this many seconds (default: until Ctrl-C)', int(1, 86_400))
  .option('--tenant <tenant>', 'tenant of the minted session token', 'demo')
  .option(
    '--room [members]',
    'a multilingual meeting instead: members (default 4: zh, en, ja, en) in one room, speaking in turn',
    int(2, 32),
  )
  .option('--room-id <id>', 'with --room: the room', 'demo-meeting')
  .addHelpText(
    'after',
    '\nCredentials come from the environment (LINGUA_SESSION_TOKEN, or LINGUA_SESSION_JWT_SECRET to mint one;\n' +
      'LINGUA_ADMIN_TOKEN to read the pools) or from the running `lingua up` (.lingua/credentials.json).\n' +
      '\nExamples:\n  npm run lingua -- demo\n  npm run lingua -- demo --room        # a meeting in zh/en/ja: see the rooms panel\n',
  )
  .action(async (o) => {
    const state = readState();
    const secrets = mintingSecrets();
    const base = (o.url ?? state?.httpUrl ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
    const ws = `${base.replace(/^http/, 'ws')}/ws/session`;
    const token =
      process.env.LINGUA_SESSION_TOKEN ||
      (secrets.sessionSecret
        ? await sessionTokenFrom(secrets.sessionSecret, { tenant: o.tenant }, 86_400)
        : undefined);
    if (o.room !== undefined) {
      process.exit(await runRoomDemo(ws, base, o, token));
    }
    let pairs: string[] = o.pairs ? String(o.pairs).split(',') : [];
    if (!pairs.length) {
      const c = await getJson<ClusterView>(`${base}/api/v1/cluster`, secrets.adminToken);
      pairs = servedPairs(c.pools);
      if (!pairs.length) throw new Error(`no pool has nodes at ${base}; start some nodes first`);
    }
    const demo = new Demo({
      urls: [ws],
      pairs,
      sessions: o.sessions,
      intervalMs: o.interval,
      token,
    });
    await demo.start();
    process.stdout.write(`demo: ${o.sessions} sessions on ${ws}, pairs ${pairs.join(' ')}; Ctrl-C stops\n`);
    let stop = false;
    const onSig = () => {
      stop = true;
    };
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);
    const end = o.duration ? Date.now() + o.duration * 1000 : Number.POSITIVE_INFINITY;
    let lastPrint = Date.now();
    while (!stop && Date.now() < end) {
      await sleep(200);
      if (Date.now() - lastPrint >= 5000) {
        lastPrint = Date.now();
        const s = demo.stats;
        process.stdout.write(
          `demo: sent ${s.sent}, results ${s.results}, missing ${s.missing}, errors ${s.errors}\n`,
        );
      }
    }
    await demo.stop();
    const s = demo.stats;
    process.stdout.write(
      `demo: done; sent ${s.sent}, results ${s.results}, missing ${s.missing}, errors ${s.errors}\n`,
    );
    process.exit(0);
  });

/** `lingua demo --room`: runs the meeting until Ctrl-C or --duration; returns the exit code. */
async function runRoomDemo(
  ws: string,
  base: string,
  o: { room: true | number; roomId: string; interval: number; duration?: number },
  token: string | undefined,
): Promise<number> {
  let shown = 0;
  const demo = new RoomDemo({
    urls: [ws],
    roomId: o.roomId,
    members: o.room === true ? 4 : o.room,
    intervalMs: o.interval,
    token,
    // A taste of the meeting: the first few lines each member hears.
    onHeard: (listener, r) => {
      if (shown++ >= 12) return;
      process.stdout.write(
        `  ${listener.name} (${r.tgt_lang}) hears ${r.speaker.display_name} (${r.src_lang}) #${r.utterance_index}: ${r.text_translated}\n`,
      );
    },
  });
  await demo.start();
  const who = demo.members.map((m) => `${m.name} (${m.lang})`).join(', ');
  process.stdout.write(
    `demo: room "${o.roomId}" on ${ws}: ${who}; one speaks every ${o.interval} ms. Dashboard: ${base}/dashboard (rooms panel). Ctrl-C stops\n`,
  );
  let stop = false;
  const onSig = () => {
    stop = true;
  };
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  const end = o.duration ? Date.now() + o.duration * 1000 : Number.POSITIVE_INFINITY;
  let lastPrint = Date.now();
  const line = () => {
    const s = demo.stats;
    return `sent ${s.sent}, heard ${s.heard} room results, missing ${s.missing}, errors ${s.errors}`;
  };
  while (!stop && Date.now() < end) {
    await sleep(200);
    if (Date.now() - lastPrint >= 5000) {
      lastPrint = Date.now();
      process.stdout.write(`demo: ${line()}\n`);
    }
  }
  await demo.stop();
  process.stdout.write(`demo: done; ${line()}\n`);
  return 0;
}

registerTokenCommand(program);
registerDrillCommand(program);

program.parseAsync(process.argv).catch((err) => {
  process.stderr.write(`lingua: ${(err as Error)?.message ?? err}\n`);
  process.exit(1);
});
