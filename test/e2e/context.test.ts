/**
 * Context (protocol v1.8) with real gateways: each job_assign carries the session's previous
 * final texts of its utterance group (newest 3), the same on a re-sent assignment and on a
 * failover attempt (both built from the job record), and a resumed session starts a new group.
 * The simulated node echoes the context indexes it saw into its translation.
 */
import { createSimNode } from '@lingua/node-sdk';
import { describe, expect, it } from 'vitest';
import { adminHeaders, nodeToken } from '../support/auth';
import { useGateways } from '../support/gateways';
import { RawPeer, rawNode, simOutput, until } from '../support/peers';

const fx = useGateways(2, {
  jobTimeoutMs: 4000,
  assignCheckMs: 1000,
  nodeHeartbeatMs: 100,
  sweepIntervalMs: 100,
  timeoutPollMs: 50,
  contextUtterances: 3,
  contextWindowMs: 60_000,
});

async function nodeState(nodeId: string): Promise<string | undefined> {
  const r = await fetch(`http://127.0.0.1:${fx.cluster.gateways[0]!.port}/api/v1/nodes`, {
    headers: adminHeaders(),
  });
  return ((await r.json()) as { nodes: { node_id: string; state: string }[] }).nodes.find(
    (n) => n.node_id === nodeId,
  )?.state;
}

describe('job_assign.context (v1.8)', () => {
  it('previous final texts of the group, kept across re-sends and failover; a resume starts over', async () => {
    // A silent protocol node that never answers (its jobs fail over); 'b-…' wins selection ties.
    const silent = await rawNode(fx.cluster.urls('node')[1]!, 'z-ctx-silent', {
      silent: true,
      heartbeatMs: 100,
      max: 4,
    });
    fx.open.push(silent);
    const sim = createSimNode({
      urls: [fx.cluster.urls('node')[1]!],
      nodeId: 'b-ctx-sim',
      token: await nodeToken('b-ctx-sim'),
      asrLangs: ['zh'],
      ttsLangs: ['en'],
      heartbeatIntervalMs: 100,
      echoContext: true,
    });
    fx.open.push(sim);
    await sim.start();

    const s = await RawPeer.connect(fx.cluster.urls('session')[0]!);
    fx.open.push(s);
    s.send({
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
    });
    const [ack] = await s.next('session_init_ack');
    const audios = Array.from({ length: 6 }, (_, i) => Buffer.from(`context utterance ${i}`));
    const out = (i: number) => simOutput(audios[i]!, 'zh', 'en');
    const say = async (peer: RawPeer, i: number, n: number) => {
      peer.send({ type: 'utterance', data: audios[i]!.toString('base64') });
      return (await peer.next('translation_result', n))[n - 1]!;
    };

    // 0: no context yet.
    expect(await say(s, 0, 1)).toMatchObject({
      text_asr: out(0).text_asr,
      text_translated: `${out(0).text_translated} [context -]`,
    });
    // 1: affinity to the simulated node. The context has the *final* texts as delivered.
    const r1 = await say(s, 1, 2);
    expect(r1.text_translated).toBe(`${out(1).text_translated} [context 0]`);

    // 2: only the silent node is selectable. Its assignment (and the re-send from the job
    // record) carries the context; then the failover attempt to the simulated node does too.
    sim.markUnavailable('test');
    await until(async () => (await nodeState('b-ctx-sim')) === 'unavailable', 'the sim node out');
    s.send({ type: 'utterance', data: audios[2]!.toString('base64') });
    const twice = await until(() => {
      const got = silent.assigns.filter((a) => a.utterance_index === 2);
      return got.length >= 2 ? got : null;
    }, 'the assignment of index 2 and its re-send');
    const r0 = s.ofType('translation_result')[0]!;
    const expected2 = [
      { utterance_index: 0, text_asr: r0.text_asr, text_translated: r0.text_translated },
      { utterance_index: 1, text_asr: r1.text_asr, text_translated: r1.text_translated },
    ];
    for (const a of twice) expect(a.context).toEqual(expected2);
    sim.markReady();
    const [, , r2] = await s.next('translation_result', 3);
    expect(r2!.text_translated).toBe(`${out(2).text_translated} [context 0,1]`);

    // 3, 4: the newest three.
    expect((await say(s, 3, 4)).text_translated).toMatch(/\[context 0,1,2\]$/);
    const r4 = await say(s, 4, 5);
    expect(r4.text_translated).toMatch(/\[context 1,2,3\]$/);

    // A resume on the other instance: a new actor, a new group.
    s.close();
    const again = await RawPeer.connect(fx.cluster.urls('session')[1]!);
    fx.open.push(again);
    again.send({
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
      resume: { session_id: ack!.session_id, resume_token: ack!.resume_token, last_result_index: 4 },
    });
    await again.next('session_init_ack');
    expect((await say(again, 5, 1)).text_translated).toBe(`${out(5).text_translated} [context -]`);
    expect(s.ofType('missing_result')).toEqual([]);
  });
});
