/**
 * Node readiness (protocol v1.7) with real gateways and SDK simulated nodes: a node that
 * registers warming up gets no job until it is ready; a node that declares itself unavailable
 * gets no new job (the one it holds is still answered) until it is ready again; the cluster API
 * shows each state.
 */
import { createSimNode, type LinguaNode } from '@lingua/node-sdk';
import { describe, expect, it } from 'vitest';
import { adminHeaders, nodeToken } from '../support/auth';
import { useGateways } from '../support/gateways';
import { RawPeer, simOutput, until } from '../support/peers';

const fx = useGateways(2, {
  nodeHeartbeatMs: 100,
  sweepIntervalMs: 100,
  timeoutPollMs: 50,
});

interface ApiNode {
  node_id: string;
  state: string;
  unavailable_reason?: string;
}

async function apiNode(nodeId: string): Promise<ApiNode | undefined> {
  const port = fx.cluster.gateways[0]!.port;
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/nodes`, { headers: adminHeaders() });
  const body = (await r.json()) as { nodes: ApiNode[] };
  return body.nodes.find((n) => n.node_id === nodeId);
}

const stateIs = (nodeId: string, state: string) =>
  until(
    async () => ((await apiNode(nodeId))?.state === state ? apiNode(nodeId) : null),
    `${nodeId} ${state}`,
  );

let seq = 0;
async function simNode(
  prefix: string,
  opts: Parameters<typeof createSimNode>[0] extends infer O ? Partial<O> : never,
) {
  const nodeId = `${prefix}-${++seq}`;
  const node = createSimNode({
    urls: [fx.cluster.urls('node')[1]!],
    nodeId,
    token: await nodeToken(nodeId),
    asrLangs: ['zh'],
    ttsLangs: ['en'],
    heartbeatIntervalMs: 100,
    ...opts,
  });
  fx.open.push(node);
  await node.start();
  return node;
}

async function session(): Promise<RawPeer> {
  const s = await RawPeer.connect(fx.cluster.urls('session')[0]!);
  fx.open.push(s);
  s.send({ type: 'session_init', src_lang: 'zh', tgt_lang: 'en', audio_format: 'pcm16', sample_rate: 16000 });
  await s.next('session_init_ack');
  return s;
}

const utter = (s: RawPeer, audio: Buffer) => s.send({ type: 'utterance', data: audio.toString('base64') });

/** Records which node got each job, and whether it was allowed to get one at that moment. */
function watchJobs(node: LinguaNode, allowed: () => boolean): { jobs: number; violations: number } {
  const seen = { jobs: 0, violations: 0 };
  node.on('job', () => {
    seen.jobs++;
    if (!allowed()) seen.violations++;
  });
  return seen;
}

describe('node readiness (v1.7)', () => {
  it('a node registered warming up gets no job until node_ready; its session waits, then is served', async () => {
    const warm = await simNode('a-warm', { ready: false });
    let ready = false;
    const seen = watchJobs(warm, () => ready);
    expect(await stateIs(warm.nodeId, 'warmup')).toMatchObject({ state: 'warmup' });
    // The pair is served (by a warming node): the session is accepted and its job waits.
    const s = await session();
    const audio = Buffer.from('spoken while the model loads');
    utter(s, audio);
    const [acc] = await s.next('utterance_accepted');
    const jobUrl = `http://127.0.0.1:${fx.cluster.gateways[0]!.port}/api/v1/jobs/${acc!.job_id}`;
    const job = await until(async () => {
      const j = (await (await fetch(jobUrl, { headers: adminHeaders() })).json()) as Record<string, string>;
      return j.state === 'created' || j.state === 'retrying' ? j : null;
    }, 'the job waiting for a node');
    expect(job.node ?? '').toBe('');
    expect(seen.jobs).toBe(0);

    ready = true;
    warm.markReady();
    const [res] = await s.next('translation_result');
    expect(res).toMatchObject({ ...simOutput(audio, 'zh', 'en'), node_id: warm.nodeId, utterance_index: 0 });
    expect(await stateIs(warm.nodeId, 'online')).toMatchObject({ state: 'online' });
    expect(seen).toEqual({ jobs: 1, violations: 0 });
  });

  it('an unavailable node answers the job it holds, gets no new one (affinity yields), and comes back', async () => {
    // 'a-…' is picked first on ties; it answers slowly so it still holds its job when it goes away.
    const hot = await simNode('a-hot', { latencyMs: 400 });
    const good = await simNode('b-good', {});
    let hotAllowed = true;
    const hotJobs = watchJobs(hot, () => hotAllowed);
    const s = await session();
    const first = Buffer.from('first, to the hot node');
    utter(s, first);
    await until(() => hotJobs.jobs === 1, 'the hot node holding a job');
    hotAllowed = false;
    hot.markUnavailable('gpu overheated');
    expect(await stateIs(hot.nodeId, 'unavailable')).toMatchObject({ unavailable_reason: 'gpu overheated' });
    // Its held job is still answered by it; the session's affinity (hot) yields for new ones.
    const audios = [0, 1, 2].map((i) => Buffer.from(`while hot ${i}`));
    for (const a of audios) utter(s, a);
    const results = await s.next('translation_result', 4);
    expect(results.map((r) => r.utterance_index)).toEqual([0, 1, 2, 3]);
    expect(results[0]).toMatchObject({ ...simOutput(first, 'zh', 'en'), node_id: hot.nodeId });
    for (const [i, a] of audios.entries()) {
      expect(results[i + 1]).toMatchObject({ ...simOutput(a, 'zh', 'en'), node_id: good.nodeId });
    }
    expect(hotJobs).toEqual({ jobs: 1, violations: 0 });

    // Back: ready again, and with the other node out, the next job goes to it.
    hotAllowed = true;
    hot.markReady();
    await stateIs(hot.nodeId, 'online');
    good.markUnavailable();
    await stateIs(good.nodeId, 'unavailable');
    const back = Buffer.from('after the cool-down');
    utter(s, back);
    const after = await s.next('translation_result', 5);
    expect(after[4]).toMatchObject({
      ...simOutput(back, 'zh', 'en'),
      node_id: hot.nodeId,
      utterance_index: 4,
    });
    expect(s.ofType('missing_result')).toEqual([]);
  });

  it('raw frames: ready: false on register, a heartbeat with ready: true, node_unavailable; a bad reason is refused', async () => {
    const nodeId = `raw-${++seq}`;
    const peer = await RawPeer.connect(fx.cluster.urls('node')[0]!);
    fx.open.push(peer);
    peer.send({
      type: 'node_register',
      node_id: nodeId,
      token: await nodeToken(nodeId),
      services: ['asr', 'nmt'],
      asr_langs: ['zh'],
      tts_langs: ['en'],
      max_concurrent_jobs: 1,
      ready: false,
    });
    const [ack] = await peer.next('node_register_ack');
    expect(ack).toMatchObject({ pools: ['zh:en'] });
    await stateIs(nodeId, 'warmup');
    peer.send({ type: 'node_heartbeat', running_jobs: 0, ready: true });
    await stateIs(nodeId, 'online');
    peer.send({ type: 'node_unavailable', reason: 'x'.repeat(257) });
    const [err] = await peer.next('error');
    expect(err).toMatchObject({ code: 'BAD_MESSAGE' });
    expect(String(err!.message)).toContain('reason');
    peer.send({ type: 'node_unavailable', reason: 'thermal' });
    expect(await stateIs(nodeId, 'unavailable')).toMatchObject({ unavailable_reason: 'thermal' });
    peer.send({ type: 'node_heartbeat', running_jobs: 0, ready: false });
    peer.send({ type: 'node_ready' });
    await stateIs(nodeId, 'online');
  });
});
