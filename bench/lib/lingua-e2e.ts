/**
 * Lingua end to end for the side-by-side bench: three gateway processes, LoadRig's sessions
 * and 0-ms nodes on different instances, a ramp of offered loads. `lat` = utterance sent →
 * translation_result at the session; `lat2` = utterance sent → job_assign at the node.
 */
import type { Redis } from 'ioredis';
import { deferProc } from './cleanup';
import { LoadRig } from './load';
import { type GatewayProc, startGatewayProc } from './procs';
import { ramp, type Step } from './ramp';
import type { Summary } from './stats';
import { UsageProbe, usagePerMessage } from './usage';

export interface LinguaE2eOptions {
  redisUrl: string;
  admin: Redis;
  rates: number[];
  stepSeconds: number;
  sessionsPerInstance: number;
  nodesPerInstance: number;
  nodeSlots: number;
  utteranceBytes: number;
  onStep: (s: Step) => void;
}

/**
 * The tenant quotas are off in benches: every bench session is one tenant, 90 sessions offer up
 * to 8,000 utterances/s and the idle bench holds 10,000 sessions; the benches measure the
 * scheduler, not the limits (docs/security.md, "Quotas and bounds").
 */
export const BENCH_NO_QUOTAS = {
  LINGUA_TENANT_MAX_SESSIONS: '0',
  LINGUA_SESSION_UTTERANCE_RATE: '0',
  LINGUA_TENANT_UTTERANCE_RATE: '0',
};

/**
 * Env for bench gateways: quiet logs, a short drain so stopping them is quick, and a node
 * heartbeat timeout of an hour: LoadRig's nodes never send node_heartbeat, so with the
 * default 15 s the sweep declares them offline mid-ramp and every later job waits for a
 * node that never comes back (the "collapse" seen in early runs). Quotas off (BENCH_NO_QUOTAS).
 */
export const BENCH_GATEWAY_ENV = {
  LINGUA_LOG_LEVEL: process.env.LINGUA_LOG_LEVEL ?? 'error',
  LINGUA_DRAIN_TIMEOUT_MS: '1000',
  LINGUA_NODE_HEARTBEAT_TIMEOUT_MS: '3600000',
  ...BENCH_NO_QUOTAS,
};

/** Starts `n` gateway processes in parallel; each is registered for cleanup as soon as it is up. */
export async function startGateways(
  n: number,
  redisUrl: string,
): Promise<{ gws: GatewayProc[]; stop: () => Promise<void> }> {
  const stops: (() => Promise<void>)[] = [];
  const settled = await Promise.allSettled(
    Array.from({ length: n }, (_, i) =>
      startGatewayProc(`gw-${i + 1}`, redisUrl, BENCH_GATEWAY_ENV).then((g) => {
        stops.push(deferProc(g.child));
        return g;
      }),
    ),
  );
  const stop = async () => {
    await Promise.all(stops.map((s) => s()));
  };
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  return { gws: settled.map((s) => (s as PromiseFulfilledResult<GatewayProc>).value), stop };
}

/** Utterances measured one at a time (1 in flight) before the ramp. */
export const SERIAL_SAMPLES = 300;

export async function linguaE2e(
  o: LinguaE2eOptions,
): Promise<{ steps: Step[]; errors: Record<string, number>; serial: Summary }> {
  const { gws, stop } = await startGateways(3, o.redisUrl);
  const rig = new LoadRig({
    ports: gws.map((g) => g.port),
    sessionsPerInstance: o.sessionsPerInstance,
    nodesPerInstance: o.nodesPerInstance,
    nodeSlots: o.nodeSlots,
    utteranceBytes: o.utteranceBytes,
  });
  try {
    await rig.connect();
    await rig.run(500, 2); // warm-up: JIT, connections, scripts
    const serial = await rig.serial(SERIAL_SAMPLES);
    const steps = await ramp(
      o.rates,
      async (rate) => {
        const probe = new UsageProbe(o.admin, { gateways: gws.map((g) => g.child.pid ?? 0) });
        await probe.start();
        const r = await rig.run(rate, o.stepSeconds);
        const u = await probe.stop();
        return {
          offered: rate,
          planned: Math.round(rate * o.stepSeconds),
          sent: r.sent,
          done: r.completed,
          seconds: r.seconds,
          perSec: r.jobsPerSec,
          lat: r.e2e,
          lat2: r.dispatch,
          usage: usagePerMessage(u, r.completed),
        };
      },
      o.onStep,
    );
    return { steps, errors: rig.errors, serial };
  } finally {
    rig.close();
    await stop();
  }
}
