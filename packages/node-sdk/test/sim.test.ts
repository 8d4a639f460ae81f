import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeGateway, startFakeGateway, waitUntil } from '../../../test/support/fake-gateway';
import type { JobOutcome } from '../src/node';
import {
  createSimHandler,
  LoadDial,
  parseLoad,
  type SimOutput,
  simulatedDirection,
  simulatedOutput,
  simulatedPartial,
} from '../src/sim-node';
import type { JobAssign } from '../src/wire';

function job(audio: Uint8Array, i: number, tts = false): JobAssign {
  return {
    type: 'job_assign',
    job_id: `j${i}`,
    attempt: 1,
    session_id: 's',
    utterance_index: i,
    src_lang: 'zh',
    tgt_lang: 'en',
    audio: Buffer.from(audio).toString('base64'),
    audio_format: 'pcm16',
    sample_rate: 16000,
    features: { tts },
    deadline_ms: Date.now() + 10_000,
  };
}

const ctx = () => ({ signal: new AbortController().signal, progress: () => {} });

describe('simulatedOutput', () => {
  it('follows docs/protocol.md: first 16 hex chars of sha256, tts = base64 of the raw digest', () => {
    for (const len of [0, 1, 31, 32, 4096]) {
      const audio = new Uint8Array(randomBytes(len));
      const digest = createHash('sha256').update(audio).digest();
      const h = digest.toString('hex').slice(0, 16);
      expect(simulatedOutput(audio, 'zh', 'en', false)).toEqual({
        text_asr: `zh:${h}`,
        text_translated: `en:${h}`,
      });
      expect(simulatedOutput(audio, 'en', 'ja', true)).toEqual({
        text_asr: `en:${h}`,
        text_translated: `ja:${h}`,
        tts_audio: digest.toString('base64'),
        tts_format: 'pcm16',
      });
    }
  });

  it('hashes only the view it is given (subarray of a larger buffer)', () => {
    const big = new Uint8Array(randomBytes(100));
    const view = big.subarray(10, 20);
    expect(simulatedOutput(view, 'a', 'b', true)).toEqual(
      simulatedOutput(new Uint8Array(view), 'a', 'b', true),
    );
  });
});

describe('createSimHandler', () => {
  it('is deterministic for a seed: same failures in the same order', async () => {
    const run = async (seed: number) => {
      const h = createSimHandler({ seed, failureRate: 0.5 });
      const out: boolean[] = [];
      for (let i = 0; i < 40; i++) out.push((await h(job(new Uint8Array([i]), i), ctx())).success);
      return out;
    };
    const a = await run(42);
    expect(await run(42)).toEqual(a);
    expect(a).toContain(true);
    expect(a).toContain(false);
  });

  it('waits the configured latency and reports processing_ms', async () => {
    const h = createSimHandler({ latencyMs: [30, 40], seed: 1 });
    const t0 = performance.now();
    const r = (await h(job(new Uint8Array([1]), 1), ctx())) as Extract<JobOutcome, { success: true }>;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(29);
    expect(r.success).toBe(true);
    expect(r.processing_ms).toBeGreaterThanOrEqual(29);
  });

  it('rejects when the job is aborted during its latency', async () => {
    const h = createSimHandler({ latencyMs: 60_000 });
    const ac = new AbortController();
    const p = h(job(new Uint8Array([1]), 1), { signal: ac.signal, progress: () => {} });
    ac.abort(new Error('cancelled'));
    await expect(p).rejects.toThrow('cancelled');
  });

  it('sends `partials` growing prefixes of the final texts before the result (v1.8)', async () => {
    const h = createSimHandler({ partials: 3, latencyMs: 0, seed: 1 });
    const sent: unknown[] = [];
    const audio = new Uint8Array([7, 7]);
    const r = await h(job(audio, 1), { signal: new AbortController().signal, progress: (p) => sent.push(p) });
    const out = simulatedOutput(audio, 'zh', 'en', false);
    expect(r).toMatchObject({ success: true, ...out });
    const h16 = out.text_asr.slice(3);
    expect(sent).toEqual([
      { text_asr: `zh:${h16.slice(0, 4)}`, text_translated: `en:${h16.slice(0, 4)}` },
      { text_asr: `zh:${h16.slice(0, 8)}`, text_translated: `en:${h16.slice(0, 8)}` },
      { text_asr: `zh:${h16.slice(0, 12)}`, text_translated: `en:${h16.slice(0, 12)}` },
    ]);
    const whole: SimOutput = { text_asr: 'ab:0123456789abcdef', text_translated: 'cd:0123456789abcdef' };
    expect(simulatedPartial(whole, 1, 1)).toEqual({
      text_asr: 'ab:01234567',
      text_translated: 'cd:01234567',
    });
    expect(() => createSimHandler({ partials: -1 })).toThrow(RangeError);
  });

  it('two-way jobs (v1.11): one bit of sha256(audio) picks the direction the result carries', async () => {
    const h = createSimHandler({ latencyMs: 0, seed: 1 });
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const audio = new Uint8Array([i, 42]);
      const first = createHash('sha256').update(audio).digest()[0]!;
      const d = simulatedDirection(audio, 'zh', 'en');
      expect(d).toEqual((first & 1) === 0 ? { src: 'zh', tgt: 'en' } : { src: 'en', tgt: 'zh' });
      seen.add(d.src);
      const r = await h({ ...job(audio, i), features: { two_way: true } }, ctx());
      expect(r).toEqual({
        success: true,
        ...simulatedOutput(audio, d.src, d.tgt, false),
        src_lang: d.src,
        tgt_lang: d.tgt,
        processing_ms: expect.any(Number),
      });
      // One-way: the assigned pair, no direction fields.
      const one = await h(job(audio, i), ctx());
      expect(one).not.toHaveProperty('src_lang');
      expect(one).toMatchObject(simulatedOutput(audio, 'zh', 'en', false));
    }
    expect(seen).toEqual(new Set(['zh', 'en']));
  });

  it('rejects bad latency ranges', () => {
    expect(() => createSimHandler({ latencyMs: [50, 10] })).toThrow(RangeError);
    expect(() => createSimHandler({ latencyMs: -1 })).toThrow(RangeError);
  });
});

describe('load (v1.9)', () => {
  it('parses one fraction for all parts or named parts, and refuses anything else', () => {
    expect(parseLoad('0.9')).toEqual({ cpu: 0.9, gpu: 0.9, mem: 0.9 });
    expect(parseLoad('cpu=0.5,gpu=1')).toEqual({ cpu: 0.5, gpu: 1 });
    for (const bad of ['', '1.5', '-0.1', 'cpu=', 'disk=0.2', 'cpu=x'])
      expect(() => parseLoad(bad)).toThrow();
    const dial = new LoadDial({ cpu: 0.2 });
    dial.set({ gpu: 0.95 });
    expect(dial.get()).toEqual({ gpu: 0.95 });
    dial.set(undefined);
    expect(dial.get()).toBeUndefined();
  });
});

describe('sim-main', () => {
  let gw: FakeGateway | undefined;
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await gw?.close();
  });

  it('registers from its flags, answers jobs, drains and exits 0 on SIGTERM', async () => {
    gw = await startFakeGateway();
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
    child = spawn(
      tsx,
      [
        'packages/node-sdk/src/sim-main.ts',
        '--url',
        gw.url('/ws/node'),
        '--node-id',
        'n1',
        '--asr',
        'zh,en',
        '--tts',
        'zh,en,ja',
        '--max-jobs',
        '3',
        '--latency',
        '0',
        '--failure-rate',
        '0',
        '--load',
        'cpu=0.9,gpu=0.4',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout!.on('data', (d) => {
      stdout += d;
    });
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));

    const peer = await gw.peer(0, 30_000);
    const reg = await peer.waitFor('node_register');
    expect(reg).toMatchObject({
      node_id: 'n1',
      services: ['asr', 'nmt', 'tts'],
      asr_langs: ['zh', 'en'],
      tts_langs: ['zh', 'en', 'ja'],
      max_concurrent_jobs: 3,
    });
    peer.send({
      type: 'node_register_ack',
      node_id: 'n1',
      instance_id: 'gw-1',
      heartbeat_interval_ms: 50,
      pools: [],
    });
    await waitUntil(() => stdout.includes('"msg":"registered"'), 'registered log line');
    // v1.9: its heartbeats report the --load figures.
    expect(await peer.waitFor('node_heartbeat')).toMatchObject({ resource: { cpu: 0.9, gpu: 0.4 } });

    const audio = new Uint8Array(randomBytes(640));
    peer.send(job(audio, 1, true));
    const r = await peer.waitFor('job_result');
    expect(r).toMatchObject({ success: true, ...simulatedOutput(audio, 'zh', 'en', true) });

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await peer.waitFor('node_drain');
    expect(await peer.closed).toMatchObject({ code: 1000 });
  });
});
