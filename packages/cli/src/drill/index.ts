/**
 * `lingua drill <scenario>`: chaos/failover drills against a local cluster the drill starts
 * itself (see docs/operations.md). `registerDrillCommand` adds the command to a commander
 * program; `runDrill` is the same as a library call (tests use it).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  DRILL_DEFAULTS,
  type DrillOptions,
  isDrillTarget,
  parseDuration,
  parseEnvPair,
  SCENARIOS,
} from './options';
import { renderReport } from './report';
import { DrillUsageError, runDrill } from './run';

export { DRILL_GATEWAY_ENV, DrillCluster } from './cluster';
export { analyzeFailovers, EventTap, type FailoverStats, type JobEvent } from './failover';
export { type LoadSnapshot, type SessionTally, StreamingSessions, type Tally, utteranceAudio } from './load';
export {
  DRILL_DEFAULTS,
  type DrillOptions,
  type DrillTarget,
  parseDuration,
  SCENARIOS,
  type ScenarioName,
} from './options';
export { inFlightAtFault, type ServingAgain, servingAgain } from './recovery';
export { type DrillReport, renderReport, renderScenario, type ScenarioReport } from './report';
export { type RoomReport, RoomSessions } from './room-load';
export { DrillUsageError, runDrill } from './run';

function int(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
    return n;
  };
}

function positive(v: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number above 0');
  return n;
}

function duration(v: string): number {
  try {
    return parseDuration(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** A duration option (15s, 500ms, 2m) whose default shows in --help as seconds. */
function durationOption(flags: string, description: string, defMs: number): Option {
  return new Option(flags, description).argParser(duration).default(defMs, `${defMs / 1000}s`);
}

function envPair(v: string, acc: Record<string, string>): Record<string, string> {
  try {
    const [k, val] = parseEnvPair(v);
    return { ...acc, [k]: val };
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

const D = DRILL_DEFAULTS;

/** Adds `drill <scenario>` to `program`; the action exits the process with the drill's verdict. */
export function registerDrillCommand(program: Command): Command {
  return program
    .command('drill')
    .argument('<scenario>', `${SCENARIOS.join(' | ')} | all`)
    .description(
      'chaos/failover drill: start a local cluster, stream known utterances, inject a fault, prove nothing was lost, duplicated or wrong',
    )
    .option('-s, --sessions <n>', 'client sessions', int(1, 10_000), D.sessions)
    .option('-r, --rate <n>', 'utterances per second PER SESSION (total = sessions × rate)', positive, D.rate)
    .addOption(
      durationOption(
        '-d, --duration <dur>',
        'load duration (at least; also until the fault sequence is over + 1 s)',
        D.durationMs,
      ),
    )
    .addOption(durationOption('--at <dur>', 'inject the fault this long after the load started', D.atMs))
    .option('-g, --gateways <n>', 'gateway processes', int(1, 64), D.gateways)
    .option('-n, --nodes <n>', 'simulated node processes', int(1, 256), D.nodes)
    .option('--node-latency <ms>', 'simulated node latency, MS or MIN-MAX', D.nodeLatency)
    .option('--max-jobs <n>', 'concurrent jobs per simulated node', int(1, 10_000), D.maxJobs)
    .option(
      '--redis <url>',
      'use this Redis instead of a private redis-server (keys under a fresh prefix, deleted after)',
    )
    .option('--prefix <prefix>', 'Redis key prefix (default: a fresh lingua:drill:<run>:)')
    .option('--cells <n>', 'node cells', int(1, 1024), D.cells)
    .option('--shards <n>', 'session shards', int(1, 1024), D.shards)
    .addOption(
      durationOption(
        '--settle-timeout <dur>',
        'bound on waiting for every outcome after the load stopped',
        D.settleTimeoutMs,
      ),
    )
    .addOption(
      durationOption('--redis-down <dur>', 'redis-restart: how long Redis stays down', D.redisDownMs),
    )
    .addOption(
      durationOption(
        '--replica-lag <dur>',
        'sentinel-failover: stop the replica this long before killing the primary, so writes are lost (0 = plain kill)',
        D.replicaLagMs,
      ),
    )
    .addOption(
      new Option(
        '--silent-scope <scope>',
        'node-silent: all = hung process (heartbeat timeout), jobs = results never come (job timeout)',
      )
        .choices(['all', 'jobs'])
        .default(D.silentScope),
    )
    .addOption(
      new Option(
        '--node-kind <kind>',
        'node processes: sim (SDK simulated node), proto (protocol-only, drops in-flight answers, lists its jobs), proto-v11 (the same, no job lists); default: protocol-only for gateway-kill and node-restart, sim otherwise',
      ).choices(['sim', 'proto', 'proto-v11']),
    )
    .option(
      '--room-members <n>',
      'room: members of the meeting room (3 languages), on top of --sessions background sessions',
      int(3, 1000),
      D.roomMembers,
    )
    .option('--target <id>', 'gateway or node to hit (default gw-1, or the node holding the most jobs)')
    .option(
      '-e, --env <KEY=VALUE>',
      'gateway environment override, repeatable (e.g. LINGUA_JOB_TIMEOUT_MS=5000)',
      envPair,
      {},
    )
    .addOption(
      new Option('--appendfsync <mode>', 'private redis-server AOF fsync')
        .choices(['always', 'everysec'])
        .default(D.appendfsync),
    )
    .option('--report <file>', 'write the JSON report here')
    .option('--strict', 'also fail when a latency target is missed', false)
    .option('-q, --quiet', 'no progress lines on stderr (the summary still goes to stdout)', false)
    .option('--keep-logs', 'keep the process logs even when the drill passed', false)
    .option('-v, --verbose', 'stream every child process log line', false)
    .addHelpText(
      'after',
      `
Scenarios:
  gateway-kill     SIGKILL one gateway; its sessions resume on the others
  node-kill        SIGKILL one simulated node process while it holds jobs
  node-silent      one node stops answering but keeps its socket (heartbeat or job timeout)
  redis-restart    SIGKILL redis-server, start it again on its AOF
  rolling-restart  SIGTERM + restart every gateway in turn, waiting for /ready
  sentinel-failover  SIGKILL the Sentinel-monitored primary (replica lagging); serving again ≤ 10 s
  cluster-failover SIGKILL a Redis Cluster master; its replica takes over
  node-restart     SIGKILL a node holding jobs, start it again with the same id within 500 ms
  reshard          move the slots of every active cell and shard to another Cluster master
  model-loss       a node answers MODEL_NOT_AVAILABLE for the load's pair, then gets it back
  room             a 6-member meeting room (3 languages) under load; SIGKILL one gateway; every
                   listener gets every speaker's utterances once, in order, in its language
  all              each of the above in sequence, one report section each

Exit code: 0 when every scenario passed; 1 when anything was lost, duplicated, wrong, never
accepted or unsettled, or a check failed (--strict: also a missed latency target or a
warning finding); 2 usage error.

Examples:
  npm run drill -- gateway-kill
  npm run drill -- node-kill --sessions 40 --rate 10 --duration 30s --at 10s --report drill.json
  npm run drill -- node-silent --silent-scope jobs -e LINGUA_JOB_TIMEOUT_MS=2000
  npm run drill -- room --room-members 8 --sessions 10
  npm run drill -- all --quiet --report drill-all.json
`,
    )
    .action(async (scenario: string, o) => {
      if (!isDrillTarget(scenario)) {
        process.stderr.write(`lingua drill: unknown scenario "${scenario}" (${SCENARIOS.join(', ')}, all)\n`);
        process.exit(2);
      }
      const opts: Partial<DrillOptions> = {
        sessions: o.sessions,
        rate: o.rate,
        durationMs: o.duration,
        atMs: o.at,
        gateways: o.gateways,
        nodes: o.nodes,
        nodeLatency: o.nodeLatency,
        maxJobs: o.maxJobs,
        redis: o.redis,
        prefix: o.prefix,
        cells: o.cells,
        shards: o.shards,
        settleTimeoutMs: o.settleTimeout,
        redisDownMs: o.redisDown,
        replicaLagMs: o.replicaLag,
        silentScope: o.silentScope,
        nodeKind: o.nodeKind,
        target: o.target,
        roomMembers: o.roomMembers,
        env: o.env,
        appendfsync: o.appendfsync,
        report: o.report,
        strict: o.strict,
        quiet: o.quiet,
        keepLogs: o.keepLogs ? 'always' : 'on-warning',
        verbose: o.verbose,
      };
      try {
        const report = await runDrill(scenario, opts);
        process.stdout.write(`\n${renderReport(report)}`);
        if (o.report) process.stdout.write(`report written to ${o.report}\n`);
        process.exit(report.ok ? 0 : 1);
      } catch (err) {
        if (err instanceof DrillUsageError) {
          process.stderr.write(`lingua drill: ${err.problems.join('\n  ')}\n`);
          process.exit(2);
        }
        throw err;
      }
    });
}
