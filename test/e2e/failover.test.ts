import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, rawNode, simOutput, type TestNode, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let cluster: TestCluster;
const open: { close(): void }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGateways(redis.url, 2, {
    jobTimeoutMs: 2000,
    assignCheckMs: 1000,
    maxAttempts: 3,
    nodeHeartbeatMs: 100,
    nodeHeartbeatTimeoutMs: 600,
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

let nodeSeq = 0;
/** Nodes are picked least-loaded first, ties by id: prefix 'a' is chosen before 'b'. */
async function node(order: 'a' | 'b', b: Parameters<typeof rawNode>[2] = {}, gw = 1): Promise<TestNode> {
  const n = await rawNode(cluster.urls('node')[gw]!, `${order}-${++nodeSeq}`, {
    heartbeatMs: 100,
    max: 1,
    ...b,
  });
  open.push(n);
  return n;
}

async function session(): Promise<RawPeer> {
  const s = await RawPeer.connect(cluster.urls('session')[0]!);
  open.push(s);
  s.send({ type: 'session_init', src_lang: 'zh', tgt_lang: 'en', audio_format: 'pcm16', sample_rate: 16000 });
  await s.next('session_init_ack');
  return s;
}

function metric(name: string): Promise<number> {
  return Promise.all(cluster.gateways.map((g) => g.ctx.metrics.registry.getSingleMetricAsString(name))).then(
    (texts) =>
      texts
        .join('\n')
        .split('\n')
        .filter((l) => l.startsWith(name) && !l.startsWith('#'))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0),
  );
}

const utter = (s: RawPeer, audio: Buffer) => s.send({ type: 'utterance', data: audio.toString('base64') });

describe('failover', () => {
  it('silent node: re-dispatched after the job timeout, the right result once, late answer dropped', async () => {
    const silent = await node('a', { silent: true });
    const good = await node('b');
    const s = await session();
    const audio = Buffer.from('silent node audio');
    utter(s, audio);
    const [res] = await s.next('translation_result');
    expect(res).toMatchObject({
      ...simOutput(audio, 'zh', 'en'),
      node_id: good.frames.length ? expect.any(String) : '',
    });
    // It never confirmed (job_accepted), so the assignment was sent once more, same attempt.
    expect(silent.assigns).toHaveLength(2);
    expect(new Set(silent.assigns.map((a) => `${a.job_id}|${a.attempt}`)).size).toBe(1);
    expect(good.assigns).toHaveLength(1);
    expect(good.assigns[0]).toMatchObject({ attempt: 2 });
    // best-effort cancel reached the silent node
    await silent.next('job_cancel');
    // the old attempt answers late: dropped, counted, never delivered
    const before = await metric('lingua_late_results_dropped_total');
    const a = silent.assigns[0]!;
    silent.send({
      type: 'job_result',
      job_id: a.job_id,
      attempt: 1,
      success: true,
      text_asr: 'x',
      text_translated: 'y',
    });
    const [err] = await silent.next('error');
    expect(err).toMatchObject({ code: 'JOB_NOT_HELD' });
    expect(await metric('lingua_late_results_dropped_total')).toBe(before + 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(s.ofType('translation_result')).toHaveLength(1);
  });

  it('a node answering for a job it never held is dropped and counted', async () => {
    const holder = await node('a', { silent: true });
    const intruder = await node('b');
    const s = await session();
    utter(s, Buffer.from('not yours'));
    const [assign] = await until(() => (holder.assigns.length ? holder.assigns : null), 'assign');
    const before = await metric('lingua_late_results_dropped_total');
    intruder.send({
      type: 'job_result',
      job_id: assign!.job_id,
      attempt: 1,
      success: true,
      text_asr: 'forged',
      text_translated: 'forged',
    });
    const [err] = await intruder.next('error');
    expect(err).toMatchObject({ code: 'JOB_NOT_HELD' });
    expect(await metric('lingua_late_results_dropped_total')).toBe(before + 1);
    const [res] = await s.next('translation_result'); // after the timeout, from a real attempt
    expect(res!.text_asr).not.toBe('forged');
  });

  it('node socket closes mid-job: re-dispatched within 1 s', async () => {
    const dying = await node('a', { silent: true });
    await node('b');
    const s = await session();
    const audio = Buffer.from('socket closes');
    utter(s, audio);
    await until(() => dying.assigns.length > 0, 'assignment to the dying node');
    const t0 = Date.now();
    dying.close();
    const [res] = await s.next('translation_result');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(res).toMatchObject(simOutput(audio, 'zh', 'en'));
  });

  it('node stops heartbeating but keeps its socket: offline after the timeout, job re-dispatched', async () => {
    const quiet = await node('a', { silent: true });
    await node('b');
    const s = await session();
    const audio = Buffer.from('heartbeat stops');
    quiet.stopHeartbeat();
    const t0 = Date.now();
    utter(s, audio);
    await until(() => quiet.assigns.length > 0, 'assignment to the quiet node');
    const [res] = await s.next('translation_result');
    expect(res).toMatchObject(simOutput(audio, 'zh', 'en'));
    // Re-dispatched by the heartbeat sweep, before the 2 s job timeout could have done it.
    expect(Date.now() - t0).toBeLessThan(1900);
    const { redis: r, ks } = cluster.gateways[0]!.ctx;
    expect(await r.hget(ks.node(`a-${nodeSeq - 1}`), 'state')).toBe('offline');
  });

  it('max attempts reached → exactly one missing_result with reason failed', async () => {
    await node('a', { fail: true, max: 4 });
    await node('a', { fail: true, max: 4 });
    await node('a', { fail: true, max: 4 });
    const s = await session();
    utter(s, Buffer.from('always fails'));
    const [miss] = await s.next('missing_result');
    expect(miss).toMatchObject({ utterance_index: 0, reason: 'failed' });
    await new Promise((r) => setTimeout(r, 300));
    expect(s.ofType('missing_result')).toHaveLength(1);
    expect(s.ofType('translation_result')).toHaveLength(0);
  });
});
