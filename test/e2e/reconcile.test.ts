/**
 * Node reconciliation (protocol v1.4 `job_ids`), driven by nodes written from the wire protocol:
 * a node that comes back (new connection, same node_id) or heartbeats without a job the
 * cluster gave it has that job failed over at once, instead of the session waiting for the
 * job timeout (10 s here, so any fallback to it fails the time bounds below).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nodeToken } from '../support/auth';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, rawNode, simOutput, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

const GRACE_MS = 300;
/** "at once": generous for a loaded 2-core machine, half the 10 s job timeout it replaces */
const BOUND_MS = 5000;
let redis: RedisServer;
let cluster: TestCluster;
const open: { close(): void }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGateways(redis.url, 2, {
    jobTimeoutMs: 10_000,
    nodeHeartbeatMs: 100,
    nodeHeartbeatTimeoutMs: 10_000,
    nodeReconnectGraceMs: GRACE_MS,
    sweepIntervalMs: 100,
    timeoutPollMs: 50,
  });
});
afterEach(() => {
  for (const p of open.splice(0)) p.close();
});
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

let seq = 0;

/** A node from the wire protocol: registers (with or without `job_ids`), confirms every job, answers none. */
async function protoNode(gw: number, nodeId: string, jobIds?: string[]): Promise<RawPeer> {
  const p = await RawPeer.connect(cluster.urls('node')[gw]!);
  open.push(p);
  p.ws.on('message', (data) => {
    const f = JSON.parse(data.toString());
    if (f.type === 'job_assign') p.send({ type: 'job_accepted', job_id: f.job_id, attempt: f.attempt });
  });
  p.send({
    type: 'node_register',
    node_id: nodeId,
    token: await nodeToken(nodeId),
    services: ['asr', 'nmt'],
    asr_langs: ['zh'],
    tts_langs: ['en'],
    max_concurrent_jobs: 4,
    ...(jobIds ? { job_ids: jobIds } : {}),
  });
  await p.next('node_register_ack');
  return p;
}

async function session(): Promise<RawPeer> {
  const s = await RawPeer.connect(cluster.urls('session')[0]!);
  open.push(s);
  s.send({ type: 'session_init', src_lang: 'zh', tgt_lang: 'en', audio_format: 'pcm16', sample_rate: 16000 });
  await s.next('session_init_ack');
  return s;
}

/** A job held by node `a-*` (it confirmed and never answers); `b-*` is the healthy fallback. */
async function heldJob() {
  const n = ++seq;
  const ids = { dropper: `a-${n}`, good: `b-${n}` };
  const first = await protoNode(0, ids.dropper);
  const good = await rawNode(cluster.urls('node')[1]!, ids.good, { asr: ['zh'], tts: ['en'] });
  open.push(good);
  const s = await session();
  const audio = Buffer.from(`reconcile ${n}`);
  s.send({ type: 'utterance', data: audio.toString('base64') });
  const [assign] = await first.next('job_assign');
  const jobId = assign!.job_id as string;
  await s.next('utterance_accepted');
  return { ids, first, good, s, audio, jobId, expected: simOutput(audio, 'zh', 'en') };
}

function metric(name: string, label: string): Promise<number> {
  return Promise.all(cluster.gateways.map((g) => g.ctx.metrics.registry.getSingleMetricAsString(name))).then(
    (texts) =>
      texts
        .join('\n')
        .split('\n')
        .filter((l) => l.startsWith(name) && l.includes(label))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0),
  );
}

describe('node reconciliation', () => {
  it('back on a new connection listing no jobs (old one half-open): its job fails over at once', async () => {
    const j = await heldJob();
    const before = await metric('lingua_node_reconciled_total', 'register_unlisted');
    const t0 = Date.now();
    // Same node id on another gateway; the old socket lingers (no FIN reached the gateway).
    await protoNode(1, j.ids.dropper, []);
    const [res] = await j.s.next('translation_result');
    expect(Date.now() - t0).toBeLessThan(BOUND_MS);
    expect(res).toMatchObject({ ...j.expected, node_id: j.ids.good, job_id: j.jobId });
    expect(await metric('lingua_node_reconciled_total', 'register_unlisted')).toBe(before + 1);
    // The lingering connection is closed by its gateway (it no longer serves the node).
    await until(() => j.first.closed, 'old connection closed');
    expect(j.first.closed!.code).toBe(4002);
    expect(j.s.ofType('translation_result')).toHaveLength(1);
  });

  it('a listed job is kept: its answer on the new connection is delivered, nothing fails over', async () => {
    const j = await heldJob();
    const second = await protoNode(1, j.ids.dropper, [j.jobId]);
    second.send({ type: 'job_result', job_id: j.jobId, attempt: 1, success: true, ...j.expected });
    const [res] = await j.s.next('translation_result');
    expect(res).toMatchObject({ ...j.expected, node_id: j.ids.dropper });
    expect(j.good.assigns).toHaveLength(0);
  });

  it('a node that sends no list (v1.1): unanswered jobs fail over after the grace period', async () => {
    const j = await heldJob();
    const t0 = Date.now();
    await protoNode(1, j.ids.dropper); // no job_ids at all
    const [res] = await j.s.next('translation_result');
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect(waited).toBeLessThan(BOUND_MS);
    expect(res).toMatchObject({ ...j.expected, node_id: j.ids.good });
    expect(await metric('lingua_node_reconciled_total', 'register_unanswered')).toBeGreaterThanOrEqual(1);
  });

  it('a node that sends no list but answers within the grace period keeps its job', async () => {
    const j = await heldJob();
    const races = await metric('lingua_races_total', 'op="job_fail"');
    const second = await protoNode(1, j.ids.dropper);
    second.send({ type: 'job_result', job_id: j.jobId, attempt: 1, success: true, ...j.expected });
    const [res] = await j.s.next('translation_result');
    expect(res).toMatchObject({ node_id: j.ids.dropper });
    // The grace check ran and found it answered (its failover attempt lost the race).
    await until(async () => (await metric('lingua_races_total', 'op="job_fail"')) > races, 'grace check');
    expect(j.good.assigns).toHaveLength(0);
    expect(j.s.ofType('translation_result')).toHaveLength(1);
  });

  it('heartbeats keep reconciling: a job unlisted twice fails over; its late answer is dropped', async () => {
    const j = await heldJob();
    const t0 = Date.now();
    const beat = setInterval(
      () => j.first.send({ type: 'node_heartbeat', running_jobs: 0, job_ids: [] }),
      100,
    );
    try {
      const [res] = await j.s.next('translation_result');
      expect(Date.now() - t0).toBeLessThan(BOUND_MS);
      expect(res).toMatchObject({ ...j.expected, node_id: j.ids.good });
    } finally {
      clearInterval(beat);
    }
    expect(await metric('lingua_node_reconciled_total', 'heartbeat_unlisted')).toBeGreaterThanOrEqual(1);
    j.first.send({ type: 'job_result', job_id: j.jobId, attempt: 1, success: true, ...j.expected });
    const [err] = await j.first.next('error');
    expect(err).toMatchObject({ code: 'JOB_NOT_HELD' });
    expect(j.s.ofType('translation_result')).toHaveLength(1);
  });

  it('heartbeats listing the job keep it', async () => {
    const j = await heldJob();
    const beat = setInterval(
      () => j.first.send({ type: 'node_heartbeat', running_jobs: 1, job_ids: [j.jobId] }),
      100,
    );
    try {
      // Heartbeats keep arriving well past the grace period (their time is in the node hash).
      const { redis: r, ks } = cluster.gateways[0]!.ctx;
      const since = Date.now();
      await until(
        async () => Number(await r.hget(ks.node(j.ids.dropper), 'last_hb')) > since + GRACE_MS * 3,
        'heartbeats past three grace periods',
      );
      j.first.send({ type: 'job_result', job_id: j.jobId, attempt: 1, success: true, ...j.expected });
      const [res] = await j.s.next('translation_result');
      expect(res).toMatchObject({ node_id: j.ids.dropper });
    } finally {
      clearInterval(beat);
    }
    expect(j.good.assigns).toHaveLength(0);
  });
});
