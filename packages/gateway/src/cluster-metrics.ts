/**
 * Cluster-wide gauges on every gateway's /metrics, read from Redis at scrape time (at most once
 * per `maxAgeMs`): nodes per pool and free slots per pool, for every pair the cluster knows
 * (lingua_pool_nodes == 0 for a known pair = nobody can serve it: the `LinguaNoNodeForPair`
 * alert), and nodes by state. Every instance reports the same values: aggregate with max().
 * A failed read keeps the last values and counts lingua_redis_errors_total{op="cluster_metrics"}.
 */
import { type NodeView, type PoolCell, poolsOf } from '@lingua/dashboard';
import { type Counter, Gauge, type Registry } from 'prom-client';

export interface PoolSource {
  nodes(): Promise<NodeView[]>;
  knownPairs(): Promise<string[]>;
}

interface Snapshot {
  pools: Record<string, PoolCell>;
  byState: Record<string, number>;
}

export function registerClusterMetrics(
  registry: Registry,
  source: PoolSource,
  redisErrors: Counter<'op'>,
  maxAgeMs = 2000,
  now: () => number = Date.now,
): void {
  let last: Snapshot = { pools: {}, byState: {} };
  let readAt = Number.NEGATIVE_INFINITY;
  let reading: Promise<Snapshot> | undefined;

  const snapshot = (): Promise<Snapshot> => {
    if (now() - readAt < maxAgeMs) return Promise.resolve(last);
    reading ??= (async () => {
      try {
        const [nodes, pairs] = await Promise.all([source.nodes(), source.knownPairs()]);
        const byState: Record<string, number> = {
          warmup: 0,
          online: 0,
          unavailable: 0,
          draining: 0,
          offline: 0,
        };
        for (const n of nodes) byState[n.state] = (byState[n.state] ?? 0) + 1;
        last = { pools: poolsOf(nodes, pairs).pools, byState };
        readAt = now();
      } catch {
        redisErrors.inc({ op: 'cluster_metrics' });
      } finally {
        reading = undefined;
      }
      return last;
    })();
    return reading;
  };

  const perPool = (name: string, help: string, pick: (c: PoolCell) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['pair'],
      registers: [registry],
      async collect() {
        const s = await snapshot();
        this.reset();
        for (const [pair, cell] of Object.entries(s.pools)) this.set({ pair }, pick(cell));
      },
    });
  perPool(
    'lingua_pool_nodes',
    'Live nodes (online, warmup, unavailable, draining) per language pair (src:tgt), cluster-wide',
    (c) => c.nodes,
  );
  perPool(
    'lingua_pool_free_slots',
    'Free job slots on online nodes per language pair, cluster-wide',
    (c) => c.free_slots,
  );
  new Gauge({
    name: 'lingua_cluster_nodes',
    help: 'Registered nodes by state, cluster-wide',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const [state, n] of Object.entries(s.byState)) this.set({ state }, n);
    },
  });
}
