/**
 * Capability- and load-aware selection (protocol v1.9) with real gateways and SDK simulated
 * nodes: a node whose heartbeat load is above LINGUA_NODE_HOT_THRESHOLD gets no job while a
 * cooler node has room (a session's affinity to it yields), and a `features.tts` session only
 * reaches nodes with the tts service, or is told at once that none serves its pair.
 */
import { LinguaSession } from '@lingua/client-sdk';
import type { SimulateResult } from '@lingua/cluster';
import { createSimNode, LoadDial, type SimNodeOptions } from '@lingua/node-sdk';
import { describe, expect, it } from 'vitest';
import { adminHeaders, nodeToken, sessionToken } from '../support/auth';
import { useGateways } from '../support/gateways';
import { RawPeer, simOutput, until } from '../support/peers';

const fx = useGateways(2, {
  nodeHeartbeatMs: 100,
  sweepIntervalMs: 100,
  timeoutPollMs: 50,
  nodeHotThreshold: 0.8,
});

const port = () => fx.cluster.gateways[0]!.port;

async function api<T>(path: string): Promise<T> {
  return (await (await fetch(`http://127.0.0.1:${port()}${path}`, { headers: adminHeaders() })).json()) as T;
}

const isHot = async (nodeId: string) =>
  (await api<{ nodes: { node_id: string; hot: boolean }[] }>('/api/v1/nodes')).nodes.find(
    (n) => n.node_id === nodeId,
  )?.hot;

const hotIs = (nodeId: string, hot: boolean) =>
  until(async () => (await isHot(nodeId)) === hot, `${nodeId} hot=${hot}`);

let seq = 0;
async function simNode(prefix: string, opts: Partial<SimNodeOptions> = {}) {
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

async function session(src: string, tts = false): Promise<RawPeer> {
  const s = await RawPeer.connect(fx.cluster.urls('session')[0]!);
  fx.open.push(s);
  s.send({
    type: 'session_init',
    src_lang: src,
    tgt_lang: 'en',
    audio_format: 'pcm16',
    sample_rate: 16000,
    ...(tts ? { features: { tts: true } } : {}),
  });
  return s;
}

const utter = (s: RawPeer, audio: Buffer) => s.send({ type: 'utterance', data: audio.toString('base64') });

describe('load-aware selection (v1.9)', () => {
  it('a hot node gets no job while a cool one has room; affinity yields; hot nodes serve when all are hot', async () => {
    // 'a-…' wins ties by id, so without load it would be chosen first.
    const aLoad = new LoadDial({ cpu: 0.95, gpu: 0.2 });
    const a = await simNode('a-busy', { load: aLoad, maxConcurrentJobs: 8 });
    const bLoad = new LoadDial({ cpu: 0.1 });
    const b = await simNode('b-calm', { load: bLoad, maxConcurrentJobs: 8 });
    await hotIs(a.nodeId, true);
    await hotIs(b.nodeId, false);
    const dry = await api<SimulateResult>('/api/v1/simulate?src=zh&tgt=en');
    expect(dry.chosen?.node_id).toBe(b.nodeId);
    expect(dry.candidates.find((c) => c.node_id === a.nodeId)).toMatchObject({ status: 'hot', hot: true });

    const s = await session('zh');
    await s.next('session_init_ack');
    const audios = [0, 1, 2].map((i) => Buffer.from(`while a is hot ${i}`));
    for (const au of audios) utter(s, au);
    const first = await s.next('translation_result', 3);
    for (const [i, au] of audios.entries()) {
      expect(first[i]).toMatchObject({ ...simOutput(au, 'zh', 'en'), node_id: b.nodeId, utterance_index: i });
    }

    // Now b runs hot and a cools down: the session's affinity (b) yields to a.
    bLoad.set({ gpu: 0.9 });
    aLoad.set({ cpu: 0.3 });
    await hotIs(b.nodeId, true);
    await hotIs(a.nodeId, false);
    const moved = Buffer.from('after the swap');
    utter(s, moved);
    const second = await s.next('translation_result', 4);
    expect(second[3]).toMatchObject({ ...simOutput(moved, 'zh', 'en'), node_id: a.nodeId });

    // Both hot: better a hot node than none, and the affinity (a) keeps the session.
    aLoad.set({ mem: 0.99 });
    await hotIs(a.nodeId, true);
    const allHot = Buffer.from('everyone is hot');
    utter(s, allHot);
    const third = await s.next('translation_result', 5);
    expect(third[4]).toMatchObject({ ...simOutput(allHot, 'zh', 'en'), node_id: a.nodeId });
  });
});

describe('TTS-aware selection (v1.9)', () => {
  it('a tts session is refused while no TTS node serves its pair, then only ever reaches TTS nodes', async () => {
    // Its own pair (ko:en), so nodes of other tests cannot serve it.
    const plain = await simNode('a-plain', { services: ['asr', 'nmt'], asrLangs: ['ko'] });
    const refused = await session('ko', true);
    const [err] = await refused.next('error');
    expect(err).toMatchObject({ code: 'NO_POOL_FOR_LANG_PAIR', field: 'features' });
    expect(String(err!.message)).toContain('features.tts');
    // The client SDK gives up at once (no retry can help) and names the field.
    const sdk = new LinguaSession({
      urls: fx.cluster.urls('session'),
      srcLang: 'ko',
      tgtLang: 'en',
      token: await sessionToken(),
      features: { tts: true },
    });
    fx.open.push({ close: () => sdk.close(50) });
    await expect(sdk.start()).rejects.toMatchObject({ code: 'NO_POOL_FOR_LANG_PAIR', field: 'features' });
    // The socket is still usable: without TTS the same pair is served (by the plain node).
    refused.send({
      type: 'session_init',
      src_lang: 'ko',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
    });
    await refused.next('session_init_ack');
    const textOnly = Buffer.from('text only');
    utter(refused, textOnly);
    const [r0] = await refused.next('translation_result');
    expect(r0).toMatchObject({ ...simOutput(textOnly, 'ko', 'en'), node_id: plain.nodeId });
    expect(r0!.tts_audio).toBeUndefined();

    const speech = await simNode('b-speech', { services: ['asr', 'nmt', 'tts'], asrLangs: ['ko'] });
    const dry = await api<SimulateResult>('/api/v1/simulate?src=ko&tgt=en&tts=1');
    expect(dry).toMatchObject({ tts: true, chosen: { node_id: speech.nodeId } });
    expect(dry.candidates.map((c) => c.node_id)).toEqual([speech.nodeId]);

    const s = await session('ko', true);
    const [ack] = await s.next('session_init_ack');
    // plain is idle and first by id: a job without TTS would go there, these never do.
    const audios = [0, 1, 2, 3].map((i) => Buffer.from(`speak it ${i}`));
    for (const au of audios) utter(s, au);
    const results = await s.next('translation_result', 4);
    for (const [i, au] of audios.entries()) {
      expect(results[i]).toMatchObject({ ...simOutput(au, 'ko', 'en'), node_id: speech.nodeId });
      expect(typeof results[i]!.tts_audio).toBe('string');
    }
    const asSession = await api<SimulateResult>(`/api/v1/simulate?src=ko&tgt=en&session=${ack!.session_id}`);
    expect(asSession).toMatchObject({ tts: true, chosen: { node_id: speech.nodeId } });
  });
});
