/**
 * Drills of issue 10 owned with the job model (see docs/operations.md):
 *  - `node-restart`: SIGKILL the node process holding the most jobs and start it again with
 *    the same node id within 500 ms. Its nodes are protocol-only nodes that drop the answers
 *    they were computing: the jobs it held must fail over at once (reconciliation on its new
 *    registration, or the close of its old socket, whichever the gateway sees first), not at
 *    the job timeout.
 *  - `reshard`: on a 3-master Redis Cluster with replicas, move the hash slot of every active
 *    node cell and session shard to another master under load (CLUSTER SETSLOT IMPORTING /
 *    MIGRATING, MIGRATE of all the slot's keys at once, SETSLOT NODE on every master), as an
 *    operator rebalancing the cluster would. Scripts declare every key they know before they
 *    run, so Redis routes (MOVED/ASK/TRYAGAIN) them correctly while a slot moves.
 */
import { connectRedis, type RedisClient } from '@lingua/cluster';
import { redisCli } from '../redis-local';
import type { Check, FaultStep, Scenario, ScenarioContext } from './scenarios';
import { pickNode, waitFor } from './scenarios';

const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail });
const finding = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail, warning: true });

/** How soon after the kill the node must be started again. */
export const RESTART_WITHIN_MS = 500;

export const nodeRestart: Scenario = {
  name: 'node-restart',
  summary: `SIGKILL a node holding jobs and start it again with the same id within ${RESTART_WITHIN_MS} ms; protocol-only nodes that drop in-flight answers`,
  nodeKind: 'proto',
  async inject(ctx) {
    const { node, held } = await pickNode(ctx);
    const pid = node.child.pid;
    const old = node.child;
    const at = Date.now();
    old.signal('SIGKILL');
    // The new process starts at once (the old one is dying; it is reaped meanwhile).
    ctx.cluster.restartNode(node);
    const restartedAt = Date.now();
    const info = await old.exited;
    const killedAt = Date.now();
    const registered = await waitFor(() => node.registered, 30_000);
    ctx.say(
      `SIGKILL ${node.id} (pid ${pid}) holding ${held} jobs; started again after ${restartedAt - at} ms, registered after ${Date.now() - at} ms`,
    );
    return [
      {
        action: 'SIGKILL',
        target: node.id,
        pid,
        at,
        done_at: killedAt,
        detail: { held_jobs: held, exit_code: info.code, exit_signal: info.signal },
      },
      {
        action: 'restart (same node id)',
        target: node.id,
        pid: node.child.pid,
        at: restartedAt,
        done_at: Date.now(),
        detail: { after_kill_ms: restartedAt - at, registered },
      },
    ];
  },
  async verify(_ctx, v) {
    const [kill, restart] = v.steps;
    const held = Number(kill?.detail.held_jobs ?? 0);
    const f = v.failover;
    const after = Number(restart?.detail.after_kill_ms ?? Number.NaN);
    return [
      check('node killed', kill?.detail.exit_signal === 'SIGKILL', `signal ${kill?.detail.exit_signal}`),
      check('killed mid-job', held > 0, `${held} jobs held at the kill`),
      check(
        `started again within ${RESTART_WITHIN_MS} ms`,
        after <= RESTART_WITHIN_MS,
        `${after} ms after the kill`,
      ),
      check('registered again with the same id', restart?.detail.registered === true, ''),
      check('its jobs failed over', f.detections > 0, `${f.detections} attempts ended`),
      finding(
        'no job waited for the job timeout',
        (f.by_cause.timed_out ?? 0) === 0,
        `${f.by_cause.timed_out ?? 0} attempts timed out`,
      ),
      finding(
        'every failed attempt re-dispatched',
        f.redispatched === f.detections,
        `${f.redispatched} of ${f.detections} re-dispatched`,
      ),
    ];
  },
};

interface Master {
  port: number;
  id: string;
}

/** The masters of the cluster and the owner of each slot, as `port` sees them. */
async function slotOwners(
  port: number,
): Promise<{ masters: Master[]; owner: (slot: number) => Master | null }> {
  const lines = (await redisCli(port, 'CLUSTER', 'NODES')).split('\n').filter(Boolean);
  const ranges: { from: number; to: number; m: Master }[] = [];
  const masters: Master[] = [];
  for (const l of lines) {
    const f = l.split(' ');
    if (!f[2]?.includes('master') || f[2].includes('fail')) continue;
    const m = { id: f[0]!, port: Number(f[1]!.split('@')[0]!.split(':')[1]) };
    masters.push(m);
    for (const r of f.slice(8)) {
      if (r.startsWith('[')) continue;
      const [a, b] = r.split('-').map(Number);
      ranges.push({ from: a!, to: b ?? a!, m });
    }
  }
  masters.sort((a, b) => a.port - b.port);
  return {
    masters,
    owner: (slot) => ranges.find((r) => slot >= r.from && slot <= r.to)?.m ?? null,
  };
}

/**
 * Moves one slot from `src` to `dst` like `redis-cli --cluster reshard` does, except that all
 * of the slot's keys move in one MIGRATE (per 10,000): no script ever sees half of a slot. The
 * commands go over direct connections to the masters (a redis-cli process per command would
 * stretch the window in which new keys of the slot get TRYAGAIN to seconds). Returns how many
 * keys moved.
 */
export async function migrateSlot(
  slot: number,
  src: Master,
  dst: Master,
  masters: Master[],
): Promise<number> {
  const conns = new Map<number, RedisClient>();
  const on = (m: Master) => {
    let c = conns.get(m.port);
    if (!c) {
      c = connectRedis({ url: `redis://127.0.0.1:${m.port}`, role: 'worker', name: 'lingua-drill-reshard' });
      conns.set(m.port, c);
    }
    return c;
  };
  try {
    await on(dst).call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', src.id);
    await on(src).call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', dst.id);
    let moved = 0;
    for (let round = 0; round < 100; round++) {
      const keys = (await on(src).call('CLUSTER', 'GETKEYSINSLOT', slot, 10_000)) as string[];
      if (!keys.length) break;
      await on(src).call('MIGRATE', '127.0.0.1', dst.port, '', 0, 10_000, 'REPLACE', 'KEYS', ...keys);
      moved += keys.length;
    }
    // The new owner first, then the old one, then everyone else (as redis-cli does).
    for (const m of [dst, src, ...masters.filter((x) => x.id !== dst.id && x.id !== src.id)]) {
      await on(m).call('CLUSTER', 'SETSLOT', slot, 'NODE', dst.id);
    }
    return moved;
  } finally {
    for (const c of conns.values()) c.disconnect();
  }
}

/** The hash slots of every node cell and session shard the drill's gateways use. */
async function activeSlots(ctx: ScenarioContext, port: number): Promise<{ tag: string; slot: number }[]> {
  const ks = ctx.cluster.ks;
  const tags = [
    ...Array.from({ length: ks.cells }, (_, i) => `c${i}`),
    ...Array.from({ length: ks.shards }, (_, i) => `s${i}`),
  ];
  const out: { tag: string; slot: number }[] = [];
  for (const tag of tags)
    out.push({ tag, slot: Number(await redisCli(port, 'CLUSTER', 'KEYSLOT', `{${tag}}`)) });
  return out;
}

function clusterPort(ctx: ScenarioContext): number {
  const r = ctx.cluster.localRedis;
  if (r?.kind !== 'cluster' || !r)
    throw new Error('reshard needs the drill’s own Redis Cluster (drop --redis)');
  const seed = r.dataNodes.find((p) => p.child.running);
  if (!seed) throw new Error('no running Redis Cluster node');
  return seed.port;
}

export const reshard: Scenario = {
  name: 'reshard',
  summary:
    'move the hash slot of every active cell and shard to another master (SETSLOT/MIGRATE) under load, on a 3-master Redis Cluster with replicas',
  async inject(ctx) {
    const port = clusterPort(ctx);
    const slots = await activeSlots(ctx, port);
    const steps: FaultStep[] = [];
    const done = new Set<number>();
    for (const { tag, slot } of slots) {
      if (done.has(slot)) continue;
      done.add(slot);
      const { masters, owner } = await slotOwners(port);
      const src = owner(slot);
      if (!src || masters.length < 2) throw new Error(`slot ${slot} has no owner or there is one master`);
      const dst = masters[(masters.findIndex((m) => m.id === src.id) + 1) % masters.length]!;
      const at = Date.now();
      const keys = await migrateSlot(slot, src, dst, masters);
      steps.push({
        action: 'migrate slot',
        target: `{${tag}}`,
        at,
        done_at: Date.now(),
        detail: { slot, from: src.port, to: dst.port, keys },
      });
    }
    const moved = steps.reduce((n, s) => n + Number(s.detail.keys), 0);
    ctx.say(`moved ${steps.length} slots (${moved} keys) to other masters`);
    return steps;
  },
  async verify(ctx, v) {
    const port = clusterPort(ctx);
    const { masters, owner } = await slotOwners(port);
    const wrong = v.steps.filter((s) => owner(Number(s.detail.slot))?.port !== s.detail.to);
    let left = 0;
    for (const s of v.steps) {
      const src = masters.find((m) => m.port === s.detail.from);
      if (src) left += Number(await redisCli(src.port, 'CLUSTER', 'COUNTKEYSINSLOT', String(s.detail.slot)));
    }
    let ok = 0;
    for (const m of masters)
      if ((await redisCli(m.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) ok++;
    const keys = v.steps.reduce((n, s) => n + Number(s.detail.keys), 0);
    return [
      check(
        'every active slot moved',
        v.steps.length > 0 && wrong.length === 0,
        `${v.steps.length} slots, ${wrong.length} not at their new owner`,
      ),
      check('keys moved under load', keys > 0, `${keys} keys`),
      check('nothing left behind', left === 0, `${left} keys of moved slots still on the old owners`),
      check('cluster ok on every master', ok === masters.length, `${ok} of ${masters.length}`),
      finding(
        'no job waited for the job timeout',
        (v.failover.by_cause.timed_out ?? 0) === 0,
        `${v.failover.by_cause.timed_out ?? 0} attempts timed out`,
      ),
    ];
  },
};
