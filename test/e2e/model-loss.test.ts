/**
 * Model availability (protocol v1.7) with real gateways and SDK simulated nodes: a node that
 * answers MODEL_NOT_AVAILABLE leaves that pair's pool at once (the session's affinity to it
 * ends), the job fails over and every utterance gets one result; the node rejoins when its
 * heartbeat lists the pair again.
 */
import { createSimNode, type LinguaNode, ModelSwitch } from '@lingua/node-sdk';
import { describe, expect, it } from 'vitest';
import { adminHeaders, nodeToken } from '../support/auth';
import { useGateways } from '../support/gateways';
import { RawPeer, simOutput, until } from '../support/peers';

const fx = useGateways(2, {
  nodeHeartbeatMs: 100,
  sweepIntervalMs: 100,
  timeoutPollMs: 50,
});

async function apiNode(nodeId: string): Promise<{ state: string; models_lost?: string[] } | undefined> {
  const r = await fetch(`http://127.0.0.1:${fx.cluster.gateways[0]!.port}/api/v1/nodes`, {
    headers: adminHeaders(),
  });
  return (
    (await r.json()) as { nodes: { node_id: string; state: string; models_lost?: string[] }[] }
  ).nodes.find((n) => n.node_id === nodeId);
}

async function metric(name: string, label: string): Promise<number> {
  const texts = await Promise.all(
    fx.cluster.gateways.map((g) => g.ctx.metrics.registry.getSingleMetricAsString(name)),
  );
  return texts
    .join('\n')
    .split('\n')
    .filter((l) => l.startsWith(name) && l.includes(label))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

async function simNode(nodeId: string, gw: number, modelSwitch?: ModelSwitch): Promise<LinguaNode> {
  const node = createSimNode({
    urls: [fx.cluster.urls('node')[gw]!],
    nodeId,
    token: await nodeToken(nodeId),
    asrLangs: ['zh'],
    ttsLangs: ['en', 'ja'],
    heartbeatIntervalMs: 100,
    modelSwitch,
  });
  fx.open.push(node);
  await node.start();
  return node;
}

describe('model availability (v1.7)', () => {
  it('MODEL_NOT_AVAILABLE: one result per utterance, the node leaves the pool until it reports the model again', async () => {
    const models = new ModelSwitch();
    const lossy = await simNode('a-lossy', 1, models); // 'a-…' wins ties
    const other = await simNode('b-other', 0);
    const jobsOf = (node: LinguaNode) => {
      const seen: string[] = [];
      node.on('job', (j) => seen.push(`${j.src_lang}:${j.tgt_lang}#${j.utterance_index}`));
      return seen;
    };
    const lossyJobs = jobsOf(lossy);
    const s = await RawPeer.connect(fx.cluster.urls('session')[0]!);
    fx.open.push(s);
    s.send({
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
    });
    await s.next('session_init_ack');
    const audios = Array.from({ length: 9 }, (_, i) => Buffer.from(`utterance ${i}`));
    const utter = (i: number) => s.send({ type: 'utterance', data: audios[i]!.toString('base64') });

    utter(0);
    const [r0] = await s.next('translation_result');
    expect(r0).toMatchObject({ node_id: lossy.nodeId }); // affinity is now the lossy node

    models.lose('zh:en');
    for (let i = 1; i <= 4; i++) utter(i);
    await until(
      async () => (await apiNode(lossy.nodeId))?.models_lost?.includes('zh:en'),
      'the pool removal',
    );
    for (let i = 5; i <= 6; i++) utter(i);
    const results = await s.next('translation_result', 7);
    for (let i = 1; i <= 6; i++) {
      expect(results[i]).toMatchObject({
        ...simOutput(audios[i]!, 'zh', 'en'),
        node_id: other.nodeId,
        utterance_index: i,
      });
    }
    // Nothing sent after the removal reached it (earlier ones may have, and failed over).
    expect(lossyJobs.filter((j) => Number(j.split('#')[1]) >= 5)).toEqual([]);
    expect(lossyJobs).toContain('zh:en#1'); // the affinity sent index 1 to it
    expect(await metric('lingua_model_unavailable_total', 'pair="zh:en"')).toBe(1); // debounced
    expect(await apiNode(lossy.nodeId)).toMatchObject({ state: 'online' }); // its other pools stay

    // The model is back: the next heartbeat lists it, the node rejoins the pool.
    models.restore('zh:en');
    await until(async () => (await apiNode(lossy.nodeId))?.models_lost === undefined, 'the rejoin');
    other.markUnavailable('test');
    await until(async () => (await apiNode(other.nodeId))?.state === 'unavailable', 'the other node out');
    utter(7);
    const back = await s.next('translation_result', 8);
    expect(back[7]).toMatchObject({ ...simOutput(audios[7]!, 'zh', 'en'), node_id: lossy.nodeId });
    expect(s.ofType('missing_result')).toEqual([]);
  });
});
