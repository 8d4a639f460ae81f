import { createHash, randomBytes } from 'node:crypto';
import { decodeBinaryFrame, type Transport } from '@lingua/protocol/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deferred,
  type FakeGateway,
  type Frame,
  type Peer,
  startFakeGateway,
  waitUntil,
} from '../../../test/support/fake-gateway';
import { type JobHandler, LinguaNode, type LinguaNodeOptions, resultTts } from '../src/node';
import { createSimNode } from '../src/sim-node';
import type { JobAssign } from '../src/wire';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gateway(): Promise<FakeGateway> {
  const gw = await startFakeGateway();
  cleanups.push(() => gw.close());
  return gw;
}

function track<T extends { close(): Promise<void> }>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

function ack(extra: Frame = {}): Frame {
  return {
    type: 'node_register_ack',
    node_id: 'n1',
    instance_id: 'gw-1',
    heartbeat_interval_ms: 20,
    pools: ['zh:en'],
    ...extra,
  };
}

/** Waits for connection #i, its node_register, and acknowledges it. */
async function registered(gw: FakeGateway, i = 0, extra: Frame = {}): Promise<Peer> {
  const peer = await gw.peer(i);
  await peer.waitFor('node_register');
  peer.send(ack(extra));
  return peer;
}

let jobCounter = 0;
function assign(audio: Uint8Array, extra: Partial<JobAssign> = {}): JobAssign {
  jobCounter++;
  return {
    type: 'job_assign',
    job_id: `job-${jobCounter}`,
    attempt: 1,
    session_id: 's1',
    utterance_index: jobCounter,
    src_lang: 'zh',
    tgt_lang: 'en',
    audio: Buffer.from(audio).toString('base64'),
    audio_format: 'pcm16',
    sample_rate: 16000,
    deadline_ms: Date.now() + 30_000,
    ...extra,
  };
}

function baseOptions(
  urls: string[],
  handler: JobHandler,
  extra: Partial<LinguaNodeOptions> = {},
): LinguaNodeOptions {
  return {
    urls,
    nodeId: 'n1',
    services: ['asr', 'nmt'],
    asrLangs: ['zh'],
    ttsLangs: ['en'],
    maxConcurrentJobs: 2,
    reconnect: { initialMs: 10, maxMs: 50, jitter: 0 },
    handler,
    ...extra,
  };
}

/** A handler whose jobs finish when the test says so. */
function controlledHandler() {
  const started: string[] = [];
  const aborted: string[] = [];
  const release = new Map<string, () => void>();
  let running = 0;
  let peak = 0;
  const handler: JobHandler = async (job, { signal }) => {
    started.push(job.job_id);
    running++;
    peak = Math.max(peak, running);
    try {
      await new Promise<void>((resolve, reject) => {
        release.set(job.job_id, resolve);
        signal.addEventListener('abort', () => {
          aborted.push(job.job_id);
          reject(signal.reason);
        });
      });
      return { success: true, text_asr: `asr-${job.job_id}`, text_translated: `tr-${job.job_id}` };
    } finally {
      running--;
    }
  };
  return { handler, started, aborted, release, peak: () => peak };
}

function expectedSim(audio: Uint8Array, src: string, tgt: string) {
  const digest = createHash('sha256').update(audio).digest();
  const h = digest.toString('hex').slice(0, 16);
  return { text_asr: `${src}:${h}`, text_translated: `${tgt}:${h}`, tts: digest.toString('base64') };
}

describe('LinguaNode', () => {
  it('registers with its capabilities, resolves start() with the ack and heartbeats', async () => {
    const gw = await gateway();
    const node = track(
      new LinguaNode(
        baseOptions(
          [gw.url('/ws/node')],
          async () => ({ success: true, text_asr: '', text_translated: '' }),
          {
            token: 'secret',
            version: '1.2.3',
            platform: 'linux-x64',
            hardware: { gpus: [{ name: 'A100', memory_mb: 40960 }], cpu_cores: 16, memory_mb: 65536 },
            resource: () => ({ cpu: 0.25, gpu: 0.5, mem: 0.75 }),
          },
        ),
      ),
    );
    const events: string[] = [];
    node.on('registered', (a) => events.push(`registered:${a.instance_id}`));
    const started = node.start();
    const peer = await gw.peer(0);
    expect(peer.path).toBe('/ws/node');
    const reg = await peer.waitFor('node_register');
    expect(reg).toEqual({
      type: 'node_register',
      node_id: 'n1',
      token: 'secret',
      version: '1.2.3',
      platform: 'linux-x64',
      hardware: { gpus: [{ name: 'A100', memory_mb: 40960 }], cpu_cores: 16, memory_mb: 65536 },
      services: ['asr', 'nmt'],
      asr_langs: ['zh'],
      tts_langs: ['en'],
      max_concurrent_jobs: 2,
      job_ids: [],
    });
    peer.send(ack());
    const a = await started;
    expect(a.instance_id).toBe('gw-1');
    expect(node.state).toBe('registered');
    expect(events).toEqual(['registered:gw-1']);
    // heartbeat_interval_ms from the ack (20 ms): several arrive.
    await waitUntil(() => peer.ofType('node_heartbeat').length >= 3, 'three heartbeats');
    expect(peer.ofType('node_heartbeat')[0]).toEqual({
      type: 'node_heartbeat',
      running_jobs: 0,
      resource: { cpu: 0.25, gpu: 0.5, mem: 0.75 },
      job_ids: [],
      ready: true,
    });
  });

  it('accepts a job at once and answers with the simulated output (sha256 of the audio)', async () => {
    const gw = await gateway();
    const node = track(createSimNode({ urls: [gw.url('/ws/node')], nodeId: 'sim-1' }));
    const started = node.start();
    const peer = await registered(gw);
    await started;
    const plain = new Uint8Array(randomBytes(3200));
    const withTts = new Uint8Array(randomBytes(1234));
    const j1 = assign(plain, { src_lang: 'zh', tgt_lang: 'en' });
    const j2 = assign(withTts, { src_lang: 'en', tgt_lang: 'ja', features: { tts: true }, attempt: 2 });
    peer.send(j1);
    peer.send(j2);
    const r1 = await peer.waitFor('job_result', (f) => f.job_id === j1.job_id);
    const r2 = await peer.waitFor('job_result', (f) => f.job_id === j2.job_id);

    const e1 = expectedSim(plain, 'zh', 'en');
    expect(r1).toMatchObject({
      attempt: 1,
      success: true,
      text_asr: e1.text_asr,
      text_translated: e1.text_translated,
    });
    expect(r1.tts_audio).toBeUndefined();
    expect(typeof r1.processing_ms).toBe('number');
    const e2 = expectedSim(withTts, 'en', 'ja');
    expect(r2).toMatchObject({
      attempt: 2,
      success: true,
      text_asr: e2.text_asr,
      text_translated: e2.text_translated,
      tts_audio: e2.tts,
      tts_format: 'pcm16',
    });
    expect(Buffer.from(r2.tts_audio, 'base64')).toHaveLength(32);
    // job_accepted precedes each result.
    for (const j of [j1, j2]) {
      const iAcc = peer.frames.findIndex((f) => f.type === 'job_accepted' && f.job_id === j.job_id);
      const iRes = peer.frames.findIndex((f) => f.type === 'job_result' && f.job_id === j.job_id);
      expect(peer.frames[iAcc]).toEqual({ type: 'job_accepted', job_id: j.job_id, attempt: j.attempt });
      expect(iAcc).toBeLessThan(iRes);
    }
  });

  it('runs at most maxConcurrentJobs handlers, accepting every job immediately', async () => {
    const gw = await gateway();
    const ctl = controlledHandler();
    const node = track(
      new LinguaNode(baseOptions([gw.url('/ws/node')], ctl.handler, { maxConcurrentJobs: 2 })),
    );
    void node.start();
    const peer = await registered(gw);
    const jobs = [1, 2, 3, 4, 5].map((i) => assign(new Uint8Array([i])));
    for (const j of jobs) peer.send(j);
    await waitUntil(() => peer.ofType('job_accepted').length === 5, 'five job_accepted');
    await waitUntil(() => ctl.started.length === 2, 'two handlers started');
    expect(node.runningJobs).toBe(2);
    expect(node.heldJobs).toBe(5);
    await peer.waitFor('node_heartbeat', (f) => f.running_jobs === 5);
    expect(ctl.started).toEqual([jobs[0]!.job_id, jobs[1]!.job_id]);

    ctl.release.get(jobs[0]!.job_id)!();
    await waitUntil(() => ctl.started.length === 3, 'third handler started');
    expect(ctl.started[2]).toBe(jobs[2]!.job_id);
    for (let i = 1; i < 5; i++) {
      await waitUntil(() => ctl.release.get(jobs[i]!.job_id), `job ${i} started`);
      ctl.release.get(jobs[i]!.job_id)!();
    }
    await waitUntil(() => peer.ofType('job_result').length === 5, 'five results');
    expect(ctl.peak()).toBe(2);
    expect(peer.ofType('job_result').map((r) => r.text_asr)).toEqual(jobs.map((j) => `asr-${j.job_id}`));
    await peer.waitFor('node_heartbeat', (f) => f.running_jobs === 0);
  });

  it('job_cancel aborts the running handler, drops a queued job, and sends nothing for either', async () => {
    const gw = await gateway();
    const ctl = controlledHandler();
    const node = track(
      new LinguaNode(baseOptions([gw.url('/ws/node')], ctl.handler, { maxConcurrentJobs: 1 })),
    );
    const cancels: string[] = [];
    node.on('cancel', (c) => cancels.push(c.job_id));
    void node.start();
    const peer = await registered(gw);
    const running = assign(new Uint8Array([1]));
    const queued = assign(new Uint8Array([2]));
    const after = assign(new Uint8Array([3]));
    peer.send(running);
    peer.send(queued);
    await waitUntil(
      () => ctl.started.length === 1 && peer.ofType('job_accepted').length === 2,
      'job running',
    );

    peer.send({ type: 'job_cancel', job_id: queued.job_id, attempt: 1, reason: 'timeout' });
    peer.send({ type: 'job_cancel', job_id: running.job_id, attempt: 1, reason: 'timeout' });
    await waitUntil(() => ctl.aborted.includes(running.job_id), 'running handler aborted');
    await waitUntil(() => cancels.length === 2, 'cancel events');
    expect(node.heldJobs).toBe(0);

    // A later job runs and answers; the cancelled ones never produced a frame before it.
    peer.send(after);
    await waitUntil(() => ctl.release.get(after.job_id), 'third job started');
    ctl.release.get(after.job_id)!();
    await peer.waitFor('job_result', (f) => f.job_id === after.job_id);
    expect(ctl.started).toEqual([running.job_id, after.job_id]);
    expect(peer.ofType('job_result').map((r) => r.job_id)).toEqual([after.job_id]);
    expect(peer.ofType('job_progress')).toEqual([]);
  });

  it('reconnects to the next url, re-registers, and sends a result kept while disconnected', async () => {
    const gwA = await gateway();
    const gwB = await gateway();
    const ctl = controlledHandler();
    const node = track(new LinguaNode(baseOptions([gwA.url('/ws/node'), gwB.url('/ws/node')], ctl.handler)));
    const seen: string[] = [];
    node.on('registered', (a) => seen.push(`registered:${a.instance_id}`));
    node.on('reconnected', (a) => seen.push(`reconnected:${a.instance_id}`));
    node.on('disconnected', () => seen.push('disconnected'));
    const unsentEvents: boolean[] = [];
    node.on('result', (_r, sent) => unsentEvents.push(sent));
    void node.start();

    const a = await registered(gwA, 0, { instance_id: 'gw-a' });
    const job = assign(new Uint8Array([7, 7, 7]), { attempt: 3 });
    a.send(job);
    await waitUntil(() => ctl.started.length === 1, 'job running');
    a.ws.terminate(); // the gateway dies mid-job

    const b = await gwB.peer(0);
    const reg = await b.waitFor('node_register');
    expect(reg.node_id).toBe('n1');
    // It still works on the job: listed, so the gateway keeps it (v1.4 reconciliation).
    expect(reg.job_ids).toEqual([job.job_id]);
    // Finish the job while connected but not yet registered: the result must wait.
    ctl.release.get(job.job_id)!();
    await waitUntil(() => node.unsentResults === 1, 'result kept');
    expect(unsentEvents).toEqual([false]);
    expect(b.ofType('job_result')).toEqual([]);

    b.send(ack({ instance_id: 'gw-b' }));
    const res = await b.waitFor('job_result');
    expect(res).toMatchObject({
      job_id: job.job_id,
      attempt: 3,
      success: true,
      text_asr: `asr-${job.job_id}`,
    });
    expect(node.unsentResults).toBe(0);
    expect(seen).toEqual(['registered:gw-a', 'disconnected', 'registered:gw-b', 'reconnected:gw-b']);
    // Heartbeats resume on the new connection; the answered job is no longer listed.
    const hb = await b.waitFor('node_heartbeat');
    expect(hb.job_ids).toEqual([]);
  });

  it('re-registers on the same url after the server closes the socket (a token function is asked each time)', async () => {
    const gw = await gateway();
    let minted = 0;
    const node = track(
      createSimNode({
        urls: [gw.url('/ws/node')],
        nodeId: 'n1',
        token: () => `tok-${++minted}`,
        reconnect: { initialMs: 5 },
      }),
    );
    const reconnected = deferred();
    node.on('reconnected', () => reconnected.resolve());
    void node.start();
    const first = await registered(gw, 0);
    first.ws.close(1001, 'going away');
    const second = await registered(gw, 1);
    await reconnected.promise;
    expect([first, second].map((p) => p.ofType('node_register')[0]!.token)).toEqual(['tok-1', 'tok-2']);
    const job = assign(new Uint8Array([1, 2, 3]));
    second.send(job);
    const r = await second.waitFor('job_result');
    expect(r.text_asr).toBe(expectedSim(new Uint8Array([1, 2, 3]), 'zh', 'en').text_asr);
  });

  it('failureRate 1 answers success:false with a retryable SIM_FAILURE', async () => {
    const gw = await gateway();
    const node = track(createSimNode({ urls: [gw.url('/ws/node')], nodeId: 'n1', failureRate: 1, seed: 7 }));
    void node.start();
    const peer = await registered(gw);
    const job = assign(new Uint8Array([9]));
    peer.send(job);
    const r = await peer.waitFor('job_result');
    expect(r).toMatchObject({ job_id: job.job_id, attempt: 1, success: false });
    expect(r.error).toMatchObject({ code: 'SIM_FAILURE', retryable: true });
    expect(typeof r.error.message).toBe('string');
    expect(r.text_asr).toBeUndefined();
  });

  it('a silent node accepts jobs and never answers, holding them until cancelled', async () => {
    const gw = await gateway();
    const node = track(createSimNode({ urls: [gw.url('/ws/node')], nodeId: 'n1', silent: true }));
    void node.start();
    const peer = await registered(gw);
    const job = assign(new Uint8Array([1]));
    peer.send(job);
    await peer.waitFor('job_accepted');
    // Several heartbeats report the job as held, and no result ever comes.
    await waitUntil(
      () => peer.ofType('node_heartbeat').filter((h) => h.running_jobs === 1).length >= 5,
      'heartbeats',
    );
    expect(peer.ofType('job_result')).toEqual([]);
    peer.send({ type: 'job_cancel', job_id: job.job_id, attempt: 1, reason: 'timeout' });
    await waitUntil(() => node.heldJobs === 0, 'job released');
    const beats = peer.ofType('node_heartbeat').length;
    await waitUntil(
      () =>
        peer
          .ofType('node_heartbeat')
          .slice(beats)
          .some((h) => h.running_jobs === 0),
      'idle beat',
    );
    expect(peer.ofType('job_result')).toEqual([]);
  });

  it('answers a redelivered job_assign with job_accepted again but runs it once', async () => {
    const gw = await gateway();
    const ctl = controlledHandler();
    const node = track(new LinguaNode(baseOptions([gw.url('/ws/node')], ctl.handler)));
    void node.start();
    const peer = await registered(gw);
    const job = assign(new Uint8Array([4]));
    peer.send(job);
    peer.send(job);
    await waitUntil(() => peer.ofType('job_accepted').length === 2, 'two job_accepted');
    await waitUntil(() => ctl.release.get(job.job_id), 'started');
    ctl.release.get(job.job_id)!();
    await peer.waitFor('job_result');
    expect(ctl.started).toEqual([job.job_id]);
    // A new attempt of the same job is a different job.
    peer.send({ ...job, attempt: 2 });
    await waitUntil(() => ctl.started.length === 2, 'attempt 2 started');
  });

  it('reports a throwing handler as a retryable HANDLER_ERROR and sends progress', async () => {
    const gw = await gateway();
    const node = track(
      new LinguaNode(
        baseOptions([gw.url('/ws/node')], async (_job, ctx) => {
          ctx.progress('half way');
          ctx.progress({ text_asr: 'half way there', text_translated: 'à mi-chemin' });
          throw new Error('model crashed');
        }),
      ),
    );
    void node.start();
    const peer = await registered(gw);
    const job = assign(new Uint8Array([1]));
    peer.send(job);
    const r = await peer.waitFor('job_result');
    expect(r).toMatchObject({
      success: false,
      error: { code: 'HANDLER_ERROR', message: 'model crashed', retryable: true },
    });
    expect(peer.ofType('job_progress')).toEqual([
      { type: 'job_progress', job_id: job.job_id, attempt: 1, partial_text: 'half way' },
      {
        type: 'job_progress',
        job_id: job.job_id,
        attempt: 1,
        partial_text: 'half way there',
        partial_translated: 'à mi-chemin',
      },
    ]);
  });

  it('drain() sends node_drain and resolves once running jobs finished', async () => {
    const gw = await gateway();
    const ctl = controlledHandler();
    const node = track(new LinguaNode(baseOptions([gw.url('/ws/node')], ctl.handler)));
    void node.start();
    const peer = await registered(gw);
    const job = assign(new Uint8Array([1]));
    peer.send(job);
    await waitUntil(() => ctl.started.length === 1, 'running');
    let drained = false;
    const done = node.drain().then(() => {
      drained = true;
    });
    await peer.waitFor('node_drain');
    expect(drained).toBe(false);
    ctl.release.get(job.job_id)!();
    await done;
    expect(node.heldJobs).toBe(0);
    await peer.waitFor('job_result', (f) => f.job_id === job.job_id);
    expect(node.draining).toBe(true);
  });

  it('close() closes the socket normally, aborts handlers and stops reconnecting', async () => {
    const gw = await gateway();
    const ctl = controlledHandler();
    const node = new LinguaNode(baseOptions([gw.url('/ws/node')], ctl.handler));
    const closedEvents: string[] = [];
    node.on('closed', (i) => closedEvents.push(i.reason));
    void node.start();
    const peer = await registered(gw);
    peer.send(assign(new Uint8Array([1])));
    await waitUntil(() => ctl.started.length === 1, 'running');
    await node.close();
    expect(await peer.closed).toMatchObject({ code: 1000 });
    expect(ctl.aborted).toHaveLength(1);
    expect(node.state).toBe('closed');
    expect(closedEvents).toEqual(['closed']);
    expect(peer.ofType('job_result')).toEqual([]);
    expect(gw.peers).toHaveLength(1);
  });

  it('stops on UNAUTHORIZED: start() rejects and no reconnect happens', async () => {
    const gw = await gateway();
    const node = track(createSimNode({ urls: [gw.url('/ws/node')], nodeId: 'n1', token: 'bad' }));
    const errors: string[] = [];
    node.on('error', (e) => errors.push(e.code));
    const started = node.start();
    const peer = await gw.peer(0);
    await peer.waitFor('node_register');
    peer.send({ type: 'error', code: 'UNAUTHORIZED', message: 'bad token' });
    await expect(started).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(errors).toEqual(['UNAUTHORIZED']);
    expect(node.state).toBe('closed');
  });
});

describe('LinguaNode readiness (protocol v1.7)', () => {
  it('registers warming up, says node_ready, and keeps readiness across reconnects and heartbeats', async () => {
    const gw = await gateway();
    const opts = baseOptions(
      [gw.url('/ws/node')],
      async () => ({ success: true, text_asr: '', text_translated: '' }),
      {
        ready: false,
        heartbeatIntervalMs: 10,
      },
    );
    const node = track(new LinguaNode(opts));
    void node.start();
    const first = await registered(gw, 0);
    expect(first.ofType('node_register')[0]).toMatchObject({ ready: false });
    expect(node.readiness).toBe('warmup');
    await first.waitFor('node_heartbeat', (f) => f.ready === false);
    node.markReady();
    await first.waitFor('node_ready');
    await first.waitFor('node_heartbeat', (f) => f.ready === true);

    node.markUnavailable('gpu overheated');
    expect(await first.waitFor('node_unavailable')).toEqual({
      type: 'node_unavailable',
      reason: 'gpu overheated',
    });
    await first.waitFor(
      'node_heartbeat',
      (f) => f.ready === false && first.ofType('node_unavailable').length === 1,
    );
    // A new connection: registered not ready, then told why.
    first.ws.close(1001, 'going away');
    const second = await registered(gw, 1);
    expect(second.ofType('node_register')[0]).toMatchObject({ ready: false });
    expect(await second.waitFor('node_unavailable')).toEqual({
      type: 'node_unavailable',
      reason: 'gpu overheated',
    });
    node.markReady();
    await second.waitFor('node_ready');
    second.ws.close(1001, 'going away');
    const third = await registered(gw, 2);
    expect(third.ofType('node_register')[0]).not.toHaveProperty('ready');
    await third.waitFor('node_heartbeat', (f) => f.ready === true);
    expect(third.ofType('node_unavailable')).toEqual([]);
  });

  it('the simulated node warms up for warmupMs after registering, then says node_ready', async () => {
    const gw = await gateway();
    const node = track(createSimNode({ urls: [gw.url('/ws/node')], nodeId: 'sim-w', warmupMs: 30 }));
    void node.start();
    const peer = await registered(gw, 0);
    expect(peer.ofType('node_register')[0]).toMatchObject({ ready: false });
    await peer.waitFor('node_ready');
    expect(node.readiness).toBe('ready');
  });

  it('v1.13: TTS bytes go as a binary job_result when binaryAudio and the ack allow it, else as base64; strings stay text', async () => {
    for (const ackBinary of [true, false]) {
      const text: Frame[] = [];
      const binary: Uint8Array[] = [];
      let t!: Transport;
      const tts = new Uint8Array([1, 2, 3, 250]);
      const handler: JobHandler = async (job) => ({
        success: true,
        text_asr: 'a',
        text_translated: 'b',
        tts_audio: job.job_id.endsWith('bytes') ? tts : 'AQID',
        tts_format: 'pcm16',
      });
      const node = track(
        new LinguaNode(
          baseOptions(['mem://gw'], handler, {
            binaryAudio: true,
            transportFactory: () => {
              t = {
                binary: true,
                onbinary: null,
                onopen: null,
                onmessage: null,
                onclose: null,
                send: (f) => text.push(JSON.parse(f)),
                sendBinary: (b) => binary.push(b),
                close: () => queueMicrotask(() => t.onclose?.(1000, '')),
              };
              queueMicrotask(() => t.onopen?.());
              return t;
            },
          }),
        ),
      );
      const results: Frame[] = [];
      node.on('result', (r) => results.push(r));
      const started = node.start();
      await waitUntil(() => text.length === 1, 'node_register');
      t.onmessage?.(JSON.stringify(ack(ackBinary ? { binary_audio: true } : {})));
      await started;
      t.onmessage?.(JSON.stringify(assign(new Uint8Array([9]), { job_id: 'j-bytes' })));
      t.onmessage?.(JSON.stringify(assign(new Uint8Array([9]), { job_id: 'j-string' })));
      await waitUntil(() => results.length === 2, 'two results');
      const textResults = text.filter((f) => f.type === 'job_result');
      if (ackBinary) {
        expect(binary).toHaveLength(1);
        const d = decodeBinaryFrame(binary[0]!);
        expect(d).toMatchObject({
          ok: true,
          kind: 4,
          frame: { type: 'job_result', job_id: 'j-bytes', success: true, tts_audio: '', tts_format: 'pcm16' },
        });
        expect(d.ok && [...d.audio]).toEqual([...tts]);
        expect(textResults.map((f) => [f.job_id, f.tts_audio])).toEqual([['j-string', 'AQID']]);
      } else {
        expect(binary).toHaveLength(0);
        expect(textResults.map((f) => [f.job_id, f.tts_audio])).toEqual([
          ['j-bytes', Buffer.from(tts).toString('base64')],
          ['j-string', 'AQID'],
        ]);
      }
      // The result event's frame: bytes through resultTts in both cases.
      expect(results.map((r) => [...resultTts(r as never)!])).toEqual([[...tts], [1, 2, 3]]);
      await node.close();
    }
  });
});
