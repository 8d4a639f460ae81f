/**
 * Partial results (protocol v1.8) with real gateways: a node's job_progress texts reach a
 * session that asked for `features.partial` on another instance, before the index's final
 * result and never after it, never for an attempt that was failed over, and bounded per job.
 */
import { createSimNode, simulatedPartial } from '@lingua/node-sdk';
import { describe, expect, it } from 'vitest';
import { nodeToken } from '../support/auth';
import { useGateways } from '../support/gateways';
import { RawPeer, rawNode, simOutput, type TestNode, until } from '../support/peers';

const fx = useGateways(2, {
  jobTimeoutMs: 1500,
  assignCheckMs: 1000,
  nodeHeartbeatMs: 100,
  sweepIntervalMs: 100,
  timeoutPollMs: 50,
  partialRatePerS: 5,
  partialMaxChars: 64,
});

async function metric(outcome: string): Promise<number> {
  const name = 'lingua_partial_results_total';
  const texts = await Promise.all(
    fx.cluster.gateways.map((g) => g.ctx.metrics.registry.getSingleMetricAsString(name)),
  );
  return texts
    .join('\n')
    .split('\n')
    .filter((l) => l.startsWith(name) && l.includes(`outcome="${outcome}"`))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

/** A session on gateway 1 (nodes connect to gateway 2: partials cross the inbox). */
async function session(partial: boolean): Promise<RawPeer> {
  const s = await RawPeer.connect(fx.cluster.urls('session')[0]!);
  fx.open.push(s);
  s.send({
    type: 'session_init',
    src_lang: 'zh',
    tgt_lang: 'en',
    audio_format: 'pcm16',
    sample_rate: 16000,
    ...(partial ? { features: { partial: true } } : {}),
  });
  await s.next('session_init_ack');
  return s;
}

const utter = (s: RawPeer, audio: Buffer) => s.send({ type: 'utterance', data: audio.toString('base64') });

/** Frames of one index in arrival order, as type names. */
const sequence = (s: RawPeer, index: number) =>
  s.frames.filter((f) => f.utterance_index === index && f.type !== 'utterance_accepted').map((f) => f.type);

let nodeSeq = 0;
async function manualNode(order: 'a' | 'b'): Promise<TestNode> {
  // silent: the test sends every answer itself
  const n = await rawNode(fx.cluster.urls('node')[1]!, `${order}-p${++nodeSeq}`, {
    silent: true,
    heartbeatMs: 100,
    max: 2,
  });
  fx.open.push(n);
  return n;
}

describe('partial results (v1.8)', () => {
  it('the simulated node sends partials: a partial session gets them before the result, another none', async () => {
    const node = createSimNode({
      urls: [fx.cluster.urls('node')[1]!],
      nodeId: 'sim-partials',
      token: await nodeToken('sim-partials'),
      asrLangs: ['zh'],
      ttsLangs: ['en'],
      latencyMs: 400,
      partials: 3,
      heartbeatIntervalMs: 100,
    });
    fx.open.push(node);
    await node.start();
    const withPartials = await session(true);
    const without = await session(false);
    const audio = Buffer.from('partials please');
    utter(withPartials, audio);
    utter(without, audio);
    const [r] = await withPartials.next('translation_result');
    await without.next('translation_result');

    const final = simOutput(audio, 'zh', 'en');
    expect(r).toMatchObject({ ...final, utterance_index: 0 });
    const partials = withPartials.ofType('partial_result');
    expect(partials.length).toBeGreaterThanOrEqual(1);
    expect(partials.length).toBeLessThanOrEqual(3);
    const expected = [1, 2, 3].map((k) => ({
      type: 'partial_result',
      utterance_index: 0,
      ...simulatedPartial(final, k, 3),
    }));
    for (const p of partials) expect(expected).toContainEqual(p);
    // Every partial came before the result, and each is a prefix of the final texts.
    expect(sequence(withPartials, 0).at(-1)).toBe('translation_result');
    for (const p of partials) expect(final.text_asr.startsWith(p.text_asr as string)).toBe(true);
    expect(without.ofType('partial_result')).toEqual([]);
  });

  it('never after the final result, never for a failed-over attempt', async () => {
    const a = await manualNode('a');
    const b = await manualNode('b');
    const s = await session(true);

    // Index 0: one partial, the result, then a late partial of the same attempt.
    const audio0 = Buffer.from('index zero');
    utter(s, audio0);
    const first = await until(() => [a, b].find((n) => n.assigns.length > 0), 'the first assignment');
    const j0 = first.assigns[0]!;
    first.send({ type: 'job_accepted', job_id: j0.job_id, attempt: 1 });
    first.send({ type: 'job_progress', job_id: j0.job_id, attempt: 1, partial_text: 'zh:early' });
    await s.next('partial_result');
    const out0 = simOutput(audio0, 'zh', 'en');
    first.send({ type: 'job_result', job_id: j0.job_id, attempt: 1, success: true, ...out0 });
    await s.next('translation_result');
    // A late partial of the same attempt: the node's connection forgot the job with its result.
    first.send({ type: 'job_progress', job_id: j0.job_id, attempt: 1, partial_text: 'zh:too late' });
    // One that raced its result through the inbox and arrives after it: the owner drops it.
    const sessionId = s.ofType('session_init_ack')[0]!.session_id as string;
    const owner = fx.cluster.gateways[0]!.ctx.cfg.instanceId;
    const other = fx.cluster.gateways[1]!.ctx; // through the owner's inbox stream
    const late = { t: 'partial', sessionId, index: 0, attempt: 1, asr: 'zh:raced' } as const;
    const lateBefore = await metric('after_final');
    await other.inbox.send(owner, late);
    await until(async () => (await metric('after_final')) > lateBefore, 'the late partial dropped');
    expect(sequence(s, 0)).toEqual(['partial_result', 'translation_result']);
    expect(s.ofType('partial_result')[0]).toEqual({
      type: 'partial_result',
      utterance_index: 0,
      text_asr: 'zh:early',
    });

    // Index 1: its first node never confirms, the job fails over to the other node (attempt 2);
    // the first node's partial for attempt 1 is refused, the second node's arrives.
    const audio1 = Buffer.from('index one');
    utter(s, audio1);
    const isJob1 = (f: Record<string, unknown>) => f.utterance_index === 1;
    const stale = await until(
      () => [a, b].find((n) => n.assigns.some((f) => isJob1(f) && f.attempt === 1)),
      'attempt 1 of index 1',
    );
    const current = stale === a ? b : a;
    const j1 = await until(
      () => current.assigns.find((f) => isJob1(f) && f.attempt === 2),
      'the failover (attempt 2)',
    );
    current.send({ type: 'job_accepted', job_id: j1.job_id, attempt: 2 });
    stale.send({ type: 'job_progress', job_id: j1.job_id, attempt: 1, partial_text: 'zh:stale' });
    await until(
      () => stale.ofType('error').find((e) => e.code === 'JOB_NOT_HELD'),
      'JOB_NOT_HELD for the failed-over attempt',
    );
    current.send({
      type: 'job_progress',
      job_id: j1.job_id,
      attempt: 2,
      partial_text: 'zh:cur',
      partial_translated: 'en:cur',
    });
    await s.next('partial_result', 2);
    // attempt 1's partial arriving after attempt 2 spoke (it passed its check before the failover)
    const staleBefore = await metric('stale_attempt');
    await other.inbox.send(owner, { ...late, index: 1, asr: 'zh:old attempt' });
    await until(async () => (await metric('stale_attempt')) > staleBefore, 'the old attempt dropped');
    const out1 = simOutput(audio1, 'zh', 'en');
    current.send({ type: 'job_result', job_id: j1.job_id, attempt: 2, success: true, ...out1 });
    const results = await s.next('translation_result', 2);
    expect(results[1]).toMatchObject({ ...out1, utterance_index: 1 });
    expect(s.ofType('partial_result').filter(isJob1)).toEqual([
      { type: 'partial_result', utterance_index: 1, text_asr: 'zh:cur', text_translated: 'en:cur' },
    ]);
    expect(sequence(s, 1)).toEqual(['partial_result', 'translation_result']);
  });

  it('bounded per job: a flood is cut to the rate, an oversized partial is not forwarded', async () => {
    const n = await manualNode('a');
    const s = await session(true);
    const audio = Buffer.from('flood');
    utter(s, audio);
    const j = await until(() => n.assigns[0], 'the assignment');
    n.send({ type: 'job_accepted', job_id: j.job_id, attempt: j.attempt });
    const [limited, tooLong] = [await metric('rate_limited'), await metric('too_long')];
    const t0 = Date.now();
    n.send({ type: 'job_progress', job_id: j.job_id, attempt: j.attempt, partial_text: 'x'.repeat(65) });
    for (let i = 0; i < 40; i++) {
      n.send({ type: 'job_progress', job_id: j.job_id, attempt: j.attempt, partial_text: `zh:${i}` });
    }
    await until(async () => (await metric('too_long')) > tooLong, 'the oversized partial refused');
    await until(async () => (await metric('rate_limited')) >= limited + 30, 'the flood cut');
    n.send({
      type: 'job_result',
      job_id: j.job_id,
      attempt: j.attempt,
      success: true,
      ...simOutput(audio, 'zh', 'en'),
    });
    await s.next('translation_result');
    const elapsedS = (Date.now() - t0) / 1000;
    const got = s.ofType('partial_result');
    // burst 5 plus 5/s while the flood lasted (generous: the machine may be slow)
    expect(got.length).toBeGreaterThanOrEqual(1);
    expect(got.length).toBeLessThanOrEqual(5 + Math.ceil(5 * elapsedS));
    expect(got.length).toBeLessThan(40);
    expect(got.every((p) => (p.text_asr as string).length <= 64)).toBe(true);
    expect(n.ofType('error')).toEqual([]);
  });
});
