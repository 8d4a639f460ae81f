/** The cluster API: read from Redis, so every instance answers the same. */
import { listNodes, Presence } from '@lingua/cluster';
import type { GatewayContext } from './context';
import { getRoute, json } from './http';
import type { TemplatedApp } from './uws';

export async function clusterSnapshot(ctx: GatewayContext) {
  const { redis, ks } = ctx;
  const [instances, nodesByCell, pairs] = await Promise.all([
    Presence.list(redis, ks),
    Promise.all(Array.from({ length: ks.cells }, (_, c) => listNodes(redis, ks, c))),
    redis.smembers(ks.allPairs()),
  ]);
  const nodes = nodesByCell.flat();
  const jobCounts: Record<string, number> = {};
  for (let s = 0; s < ks.shards; s++) {
    for (const [state, n] of Object.entries(await redis.hgetall(ks.jobCounts(s)))) {
      jobCounts[state] = (jobCounts[state] ?? 0) + Number(n);
    }
  }
  const pools: Record<string, { nodes: number; free_slots: number }> = {};
  for (const pair of pairs.sort()) pools[pair] = { nodes: 0, free_slots: 0 };
  for (const n of nodes) {
    if (n.state === 'offline') continue;
    for (const pair of n.pools) {
      pools[pair] ??= { nodes: 0, free_slots: 0 };
      pools[pair].nodes++;
      if (n.state === 'online') pools[pair].free_slots += Math.max(0, n.maxConcurrentJobs - n.running);
    }
  }
  const dlqInstances = await redis.smembers(ks.dlqIndex());
  let dlqLength = 0;
  for (const id of dlqInstances) dlqLength += await redis.xlen(ks.dlq(id));
  return {
    instances: instances.map((i) => ({ id: i.id, alive: i.alive, last_seen: i.lastSeen, ...i.meta })),
    nodes: nodes.map((n) => ({
      node_id: n.nodeId,
      state: n.state,
      instance: n.instance,
      pools: n.pools,
      running: n.running,
      max_concurrent_jobs: n.maxConcurrentJobs,
      load: n.maxConcurrentJobs ? n.running / n.maxConcurrentJobs : 0,
      last_heartbeat: n.lastHeartbeat,
      cell: n.cell,
    })),
    pools,
    jobs: jobCounts,
    dlq_length: dlqLength,
  };
}

export function registerApiRoutes(app: TemplatedApp, ctx: GatewayContext, adminToken?: string): void {
  getRoute(app, '/api/v1/cluster', async () => json(await clusterSnapshot(ctx)), adminToken);
  getRoute(
    app,
    '/api/v1/jobs/:id',
    async ([id]) => {
      const job = await ctx.store.getJob(decodeURIComponent(id ?? '')).catch(() => null);
      return job ? json(job) : json({ error: { code: 'NOT_FOUND', message: 'no such job' } }, 404);
    },
    adminToken,
  );
}
