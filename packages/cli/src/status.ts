/** `lingua status`: the cluster as plain-text tables, read from Redis or from a gateway's API. */
import { type SimulateResult, simulateSelection } from '@lingua/cluster';
import { ClusterReader, type ClusterView, type StatsView } from '@lingua/dashboard';
import { getJson } from './net';
import { type RedisTarget, withRedis } from './redis-target';
import { ago, num, pct, table } from './table';

export interface Snapshot {
  cluster: ClusterView;
  stats: StatsView;
}

export function readFromRedis(t: RedisTarget): Promise<Snapshot> {
  return withRedis(t, async (redis, ks) => {
    const reader = new ClusterReader(redis, ks);
    const cluster = await reader.cluster();
    return { cluster, stats: reader.statsFrom(cluster) };
  });
}

export async function readFromUrl(baseUrl: string, token?: string): Promise<Snapshot> {
  const base = baseUrl.replace(/\/+$/, '');
  const [cluster, stats] = await Promise.all([
    getJson<ClusterView>(`${base}/api/v1/cluster`, token),
    getJson<StatsView>(`${base}/api/v1/stats`, token),
  ]);
  return { cluster, stats };
}

/** `lingua status --explain src:tgt [--session id]`: the selection dry-run. */
export function explainFromRedis(
  t: RedisTarget,
  src: string,
  tgt: string,
  sessionId?: string,
  tts?: boolean,
): Promise<SimulateResult> {
  return withRedis(t, (redis, ks) => simulateSelection(redis, ks, { src, tgt, sessionId, tts }));
}

export function explainFromUrl(
  baseUrl: string,
  token: string | undefined,
  src: string,
  tgt: string,
  sessionId?: string,
  tts?: boolean,
): Promise<SimulateResult> {
  const q = new URLSearchParams({
    src,
    tgt,
    ...(sessionId ? { session: sessionId } : {}),
    ...(tts ? { tts: '1' } : {}),
  });
  return getJson<SimulateResult>(`${baseUrl.replace(/\/+$/, '')}/api/v1/simulate?${q}`, token);
}

export function renderStatus({ cluster, stats }: Snapshot, now = cluster.ts): string {
  const out: string[] = [];
  const alive = cluster.instances.filter((i) => i.alive).length;
  out.push(`Instances: ${alive} alive / ${cluster.instances.length}`);
  if (cluster.instances.length) {
    out.push(
      table(
        ['INSTANCE', 'STATE', 'PORT', 'SESSIONS', 'NODE CONNS', 'INBOX', 'LAST SEEN'],
        cluster.instances.map((i) => [
          i.id,
          i.alive ? (i.draining ? 'draining' : 'alive') : 'dead',
          num(i.port),
          num(i.sessions),
          num(i.node_conns),
          num(i.inbox_pending),
          ago(i.last_seen, now),
        ]),
      ),
    );
  }
  out.push('');
  const online = cluster.nodes.filter((n) => n.state === 'online').length;
  out.push(`Nodes: ${online} online / ${cluster.nodes.length}`);
  if (cluster.nodes.length) {
    out.push(
      table(
        ['NODE', 'STATE', 'INSTANCE', 'LOAD', 'RUNNING/MAX', 'HEARTBEAT', 'POOLS'],
        cluster.nodes.map((n) => [
          n.node_id,
          n.unavailable_reason ? `${n.state} (${n.unavailable_reason.slice(0, 40)})` : n.state,
          n.instance || '-',
          pct(n.load),
          `${n.running}/${n.max_concurrent_jobs}`,
          ago(n.last_heartbeat, now),
          n.pools.join(' '),
        ]),
      ),
    );
  }
  out.push('');
  const m = cluster.pool_matrix;
  out.push('Pools (nodes/free slots; rows: source language, columns: target language)');
  if (m.sources.length) {
    out.push(
      table(
        ['SRC\\TGT', ...m.targets],
        m.sources.map((s) => [
          s,
          ...m.targets.map((t) => {
            const c = m.cells[s]?.[t];
            return c ? `${c.nodes}/${c.free_slots}` : '-';
          }),
        ]),
      ),
    );
  } else out.push('(none: no node has registered)');
  out.push('');
  const j = stats.jobs;
  const states = Object.entries(j.by_state)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  out.push(`Jobs: ${j.total} total, ${j.live + j.waiting} in flight${states ? ` (${states})` : ''}`);
  const lm = stats.last_minute;
  out.push(
    `Last minute: ${num(lm.completed_per_s, 2)} completed/s, ${lm.created} created, ${lm.failed} failed, ` +
      `${lm.failovers} failovers, latency p50 ${num(lm.latency_p50_ms)} ms, p95 ${num(lm.latency_p95_ms)} ms`,
  );
  const dlqDetail = cluster.dlq.filter((d) => d.length > 0).map((d) => `${d.instance} ${d.length}`);
  out.push(`DLQ: ${cluster.dlq_length} entries${dlqDetail.length ? ` (${dlqDetail.join(', ')})` : ''}`);
  out.push('');
  if (cluster.recent_failovers.length) {
    out.push('Recent failovers:');
    out.push(
      table(
        ['TIME', 'JOB', 'CAUSE', 'ATTEMPT', 'NODE'],
        cluster.recent_failovers.map((f) => [
          new Date(f.ts).toISOString().slice(11, 23),
          f.job_id,
          f.cause,
          f.attempt,
          f.node || '-',
        ]),
      ),
    );
  } else out.push('Recent failovers: none');
  return out.join('\n');
}
