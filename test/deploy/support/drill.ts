/**
 * The deployment drill: client-SDK sessions stream utterances through the load balancer while
 * faults are injected one after another (docker kill, docker-compose stop, ...); after each
 * fault the load must make progress again, and at the end every accepted utterance must have
 * exactly one outcome with the right content (packages/cli/src/drill/load.ts keeps the books).
 */
import { StreamingSessions, type Tally } from '../../support/chaos';
import { until } from '../../support/peers';
import type { ComposeProject } from './compose';

export interface ClusterView {
  instances: { id: string; alive: boolean }[];
  nodes: { node_id: string; state: string }[];
}

export function authHeaders(adminToken?: string): Record<string, string> {
  return adminToken ? { authorization: `Bearer ${adminToken}` } : {};
}

export async function clusterView(httpBase: string, adminToken?: string): Promise<ClusterView | null> {
  try {
    const r = await fetch(`${httpBase}/api/v1/cluster`, {
      headers: authHeaders(adminToken),
      signal: AbortSignal.timeout(5000),
    });
    return r.ok ? ((await r.json()) as ClusterView) : null;
  } catch {
    return null;
  }
}

/** Until the cluster API (through the LB) shows exactly these instances alive and nodes online. */
export async function waitCluster(
  httpBase: string,
  instances: string[],
  nodes: string[],
  adminToken?: string,
  timeoutMs = 180_000,
): Promise<ClusterView> {
  return until(
    async () => {
      const v = await clusterView(httpBase, adminToken);
      if (!v) return null;
      const alive = v.instances.filter((i) => i.alive).map((i) => i.id);
      const online = v.nodes.filter((n) => n.state === 'online').map((n) => n.node_id);
      return instances.every((i) => alive.includes(i)) && nodes.every((n) => online.includes(n)) ? v : null;
    },
    `${instances.join(', ')} alive and ${nodes.join(', ')} online through the load balancer`,
    timeoutMs,
  );
}

/** Until every service's container reports `healthy` (each has a health check of its own). */
export async function waitHealthy(p: ComposeProject, services: string[], timeoutMs = 240_000): Promise<void> {
  let last = '';
  await until(
    async () => {
      const states = await Promise.all(services.map(async (s) => [s, (await p.state(s)).health] as const));
      last = states.map(([s, h]) => `${s}=${h}`).join(' ');
      return states.every(([, h]) => h === 'healthy');
    },
    'every container healthy',
    timeoutMs,
  ).catch((err) => {
    throw new Error(`${(err as Error).message} (last: ${last})`);
  });
}

export interface Fault {
  name: string;
  inject: () => Promise<void>;
}

export interface DrillResult {
  tally: Tally;
  reconnects: number;
  sent: number;
  /** what happened, for the test log */
  log: string[];
}

export interface DrillOptions {
  sessionUrl: string;
  sessions: number;
  /** at most one utterance per session every intervalMs... */
  intervalMs: number;
  /** ...and at most this many per session waiting for their outcome (closed loop) */
  maxInFlight: number;
  src: string;
  tgt: string;
  faults: Fault[];
  /** results to see delivered before the first fault and after each one */
  progress: number;
  /** the sessions' session token */
  token: string;
  settleTimeoutMs?: number;
}

export async function loadDrill(o: DrillOptions): Promise<DrillResult> {
  const log: string[] = [];
  const t0 = Date.now();
  const note = (msg: string) => log.push(`+${((Date.now() - t0) / 1000).toFixed(1)}s ${msg}`);
  const load = new StreamingSessions([o.sessionUrl], o.sessions, o.src, o.tgt, {
    reconnect: { initialMs: 100, maxMs: 1000 },
    token: o.token,
  });
  let stop = false;
  let streaming: Promise<void> | undefined;
  try {
    await load.start();
    streaming = load.streamPaced(o.intervalMs, o.maxInFlight, () => stop);
    const delivered = () => load.snapshot().delivered;
    const progressed = async (what: string) => {
      const from = delivered();
      await until(() => delivered() >= from + o.progress, `${o.progress} more results ${what}`, 180_000);
      note(`${o.progress} more results ${what} (${JSON.stringify(load.snapshot())})`);
    };
    await progressed('before the first fault');
    for (const f of o.faults) {
      note(`fault: ${f.name}`);
      await f.inject();
      note(`fault injected: ${f.name}`);
      await progressed(`after ${f.name}`);
    }
    stop = true;
    await streaming;
    await until(
      () => load.settled(),
      'every sent utterance accepted with one outcome',
      o.settleTimeoutMs ?? 150_000,
    );
    note('settled');
    return { tally: load.tally(), reconnects: load.reconnects, sent: load.snapshot().sent, log };
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${JSON.stringify(load.tally())}\n${log.join('\n')}`);
  } finally {
    stop = true;
    await streaming;
    await load.close();
  }
}

/** The two gateway faults every variant goes through: SIGKILL gw1, then a graceful stop of gw2. */
export function gatewayFaults(p: ComposeProject): Fault[] {
  return [
    { name: 'docker kill gw1', inject: () => p.kill('gw1') },
    {
      name: 'docker-compose stop gw2',
      inject: async () => {
        await p.stop('gw2');
        const s = await p.state('gw2');
        // SIGTERM → drain → exit 0 inside the grace period (SIGKILL would be 137)
        if (s.status !== 'exited' || s.exitCode !== 0) {
          throw new Error(`gw2 did not drain and exit 0 on SIGTERM: ${JSON.stringify(s)}`);
        }
        if (!/"msg":"draining"/.test(await p.logs('gw2'))) throw new Error('gw2 logged no drain');
      },
    },
  ];
}

/** Sessions through the load balancer while the faults happen: nothing lost, duplicated or wrong. */
export async function expectCleanDrill(
  label: string,
  httpBase: string,
  token: string,
  faults: Fault[],
): Promise<DrillResult> {
  const r = await loadDrill({
    token,
    sessionUrl: `${httpBase.replace(/^http/, 'ws')}/ws/session`,
    sessions: 12,
    intervalMs: 250,
    maxInFlight: 3,
    src: 'en',
    tgt: 'zh',
    progress: 40,
    faults,
  });
  console.log(`${label}: ${JSON.stringify(r.tally)} reconnects ${r.reconnects}\n${r.log.join('\n')}`);
  const { tally } = r;
  const summary = {
    unaccepted: tally.unaccepted,
    lost: tally.lost,
    duplicated: tally.duplicated,
    wrong: tally.wrong,
  };
  if (Object.values(summary).some((n) => n !== 0) || tally.accepted !== r.sent || r.reconnects === 0) {
    throw new Error(
      `${label}: ${JSON.stringify({ ...summary, accepted: tally.accepted, sent: r.sent, reconnects: r.reconnects })}`,
    );
  }
  return r;
}
