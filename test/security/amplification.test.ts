/**
 * Issue 9, finding 4 (amplification), as an attacker would try it: `sample_rate: 1` made one
 * 40 KB audio_chunk into 1,000 jobs and starved other sessions; a node answering with 250 KB
 * texts had them stored. Now: refused at the door or bounded, the gateway stays up, and an
 * honest session alongside gets correct results promptly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeToken, sessionToken } from '../support/auth';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, rawNode, simOutput, type TestNode, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let cluster: TestCluster;
let honestNode: TestNode;

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGateways(redis.url, 2, {
    jobTimeoutMs: 1500,
    maxTtsBytes: 1000,
    sessionUtteranceRate: 5,
    sessionUtteranceBurst: 10,
  });
  honestNode = await rawNode(cluster.urls('node')[1]!, 'honest-1', { max: 8, heartbeatMs: 1000 });
});
afterAll(async () => {
  honestNode?.close();
  await cluster?.stop();
  await redis?.stop();
});

const b64 = (b: Buffer) => b.toString('base64');
const init = (extra: Record<string, unknown> = {}) => ({
  type: 'session_init',
  src_lang: 'zh',
  tgt_lang: 'en',
  audio_format: 'pcm16',
  sample_rate: 16000,
  ...extra,
});

async function honestSession(url: string, tenant: string): Promise<RawPeer> {
  const s = await RawPeer.connect(url, { token: await sessionToken({ tenant }) });
  s.send(init({ tenant_id: tenant }));
  await s.next('session_init_ack');
  return s;
}

/** Sends one utterance on an honest session and returns its result and how long it took. */
async function honestRoundTrip(s: RawPeer, seq: number, fill: number) {
  const audio = Buffer.alloc(3200, fill);
  const before = s.ofType('translation_result').length;
  const t0 = Date.now();
  s.send({ type: 'utterance', seq, data: b64(audio) });
  const results = await s.next('translation_result', before + 1);
  return { result: results[before]!, ms: Date.now() - t0, audio };
}

async function alive(): Promise<void> {
  for (const g of cluster.gateways) {
    expect((await fetch(`http://127.0.0.1:${g.port}/health`)).status).toBe(200);
  }
}

describe('finding 4: amplification', () => {
  it('sample_rate 1 and byte_rate 1 are refused naming the field; the socket stays usable', async () => {
    const attacker = await RawPeer.connect(cluster.urls('session')[0]!);
    attacker.send(init({ sample_rate: 1 }));
    const [e1] = await attacker.next('error');
    expect(e1).toMatchObject({ code: 'BAD_MESSAGE', field: 'sample_rate' });
    expect(String(e1!.message)).toMatch(/sample_rate: expected integer 8000\.\.192000, got 1/);
    attacker.send(init({ audio_format: 'opus', sample_rate: 48000, byte_rate: 1 }));
    const errs = await attacker.next('error', 2);
    expect(errs[1]).toMatchObject({ code: 'BAD_MESSAGE', field: 'byte_rate' });
    // At the lowest real rate, one 40 KB chunk is 2.5 s of audio: one utterance, not 1,000.
    attacker.send(init({ sample_rate: 8000 }));
    await attacker.next('session_init_ack');
    const chunk = Buffer.alloc(40_000, 7);
    attacker.send({ type: 'audio_chunk', seq: 0, data: b64(chunk), is_final: true });
    const [acc] = await attacker.next('utterance_accepted');
    const [res] = await attacker.next('translation_result');
    expect(acc).toMatchObject({ utterance_index: 0, reason: 'is_final', last_chunk_seq: 0 });
    expect(res).toMatchObject(simOutput(chunk, 'zh', 'en'));
    expect(attacker.ofType('utterance_accepted')).toHaveLength(1);
    attacker.close();
  });

  it('the smallest declared byte rate cuts no finer than 1 s of audio: 40 KB → 2 jobs', async () => {
    const attacker = await RawPeer.connect(cluster.urls('session')[0]!);
    attacker.send(init({ audio_format: 'opus', sample_rate: 48000, byte_rate: 1000 }));
    await attacker.next('session_init_ack');
    attacker.send({ type: 'audio_chunk', seq: 0, data: b64(Buffer.alloc(40_000, 3)), is_final: true });
    const acc = await attacker.next('utterance_accepted', 2);
    expect(acc.map((a) => a.reason)).toEqual(['max_duration', 'is_final']);
    attacker.send({ type: 'client_heartbeat', ts: 1 });
    await attacker.next('server_heartbeat');
    expect(attacker.ofType('utterance_accepted')).toHaveLength(2);
    attacker.close();
  });

  it('a flood of utterances is rate limited (RATE_LIMITED, nothing kept); others are served promptly and correctly', async () => {
    const [url0, url1] = cluster.urls('session') as [string, string];
    const honest = await honestSession(url1, 'honest-co');
    const attacker = await RawPeer.connect(url0, { token: await sessionToken({ tenant: 'evil-co' }) });
    attacker.send(init({ tenant_id: 'evil-co' }));
    await attacker.next('session_init_ack');
    const t0 = Date.now();
    for (let i = 0; i < 300; i++) attacker.send({ type: 'utterance', data: b64(Buffer.alloc(320, i % 250)) });
    // While the flood is handled, an honest session of another tenant gets its result.
    const { result, ms, audio } = await honestRoundTrip(honest, 0, 42);
    expect(result).toMatchObject(simOutput(audio, 'zh', 'en'));
    expect(ms).toBeLessThan(15_000); // generous (a loaded 2-core machine): unbounded, it took ~25 s
    // Every flood frame answered (a probe could itself meet a full queue: count answers instead),
    // unless the attacker was cut off first: refused frames count toward LINGUA_ABUSE_LIMIT (100).
    await until(
      () =>
        attacker.closed !== null ||
        attacker.ofType('utterance_accepted').length + attacker.ofType('error').length >= 300,
      'an answer to every flood frame, or the attacker cut off',
      60_000,
    );
    const elapsedS = (Date.now() - t0) / 1000;
    const accepted = attacker.ofType('utterance_accepted').length;
    const limited = attacker.ofType('error').filter((e) => e.code === 'RATE_LIMITED');
    // burst 10 + 5/s refill (+1 for rounding) bounds the jobs the attacker could create
    expect(accepted).toBeLessThanOrEqual(10 + Math.ceil(elapsedS * 5) + 1);
    // Refused: rate limit; or BACKPRESSURE past the per-session queue (LINGUA_SESSION_QUEUE_MAX).
    const errors = attacker.ofType('error');
    expect(errors.every((e) => e.code === 'RATE_LIMITED' || e.code === 'BACKPRESSURE')).toBe(true);
    if (attacker.closed) {
      // The flood cost the attacker its connection: 1008 past the abuse limit.
      expect(attacker.closed.code).toBe(1008);
      expect(errors.length).toBeGreaterThanOrEqual(100);
    } else {
      expect(accepted + errors.length).toBe(300);
    }
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.message).toMatch(/5 utterances\/s per session/);
    expect(limited[0]!.retry_after_ms).toBeGreaterThan(0);
    // Indexes stay dense: the refused utterances took no index.
    const idx = attacker.ofType('utterance_accepted').map((a) => a.utterance_index);
    expect(idx).toEqual(Array.from({ length: accepted }, (_, i) => i));
    await alive();
    attacker.close();
    honest.close();
  });

  /** A node that registers for one pair and answers every job with `answer(job)`. */
  async function evilNode(
    id: string,
    src: string,
    tgt: string,
    answer: (f: Record<string, unknown>) => object,
  ) {
    const evil = await RawPeer.connect(cluster.urls('node')[0]!);
    evil.send({
      type: 'node_register',
      node_id: id,
      token: await nodeToken(id),
      services: ['asr', 'nmt', 'tts'],
      asr_langs: [src],
      tts_langs: [tgt],
      max_concurrent_jobs: 4,
    });
    await evil.next('node_register_ack');
    evil.ws.on('message', (d) => {
      const f = JSON.parse(d.toString());
      if (f.type === 'job_assign') evil.send({ job_id: f.job_id, attempt: f.attempt, ...answer(f) });
    });
    return evil;
  }

  it('a node answering with 250 KB texts is refused naming the field; the job goes to an honest node', async () => {
    // en:ja is served by the evil node only, until an honest one joins after the refusal.
    const evil = await evilNode('evil-text', 'en', 'ja', () => ({
      type: 'job_result',
      success: true,
      text_asr: 'x'.repeat(250_000),
      text_translated: 'y'.repeat(250_000),
    }));
    const s = await RawPeer.connect(cluster.urls('session')[1]!);
    s.send(init({ src_lang: 'en', tgt_lang: 'ja' }));
    await s.next('session_init_ack');
    const audio = Buffer.alloc(3200, 99);
    s.send({ type: 'utterance', seq: 0, data: b64(audio) });
    const [err] = await evil.next('error');
    expect(err).toMatchObject({ code: 'BAD_MESSAGE', field: 'text_asr' });
    expect(String(err!.message)).toMatch(/at most 16384 chars, got string of 250000 chars/);
    expect(evil.closed).toBeNull();
    const honest = await rawNode(cluster.urls('node')[1]!, 'honest-en-ja', {
      asr: ['en'],
      tts: ['ja'],
      heartbeatMs: 1000,
    });
    // The refused answer was never stored: the attempt times out (1.5 s) and fails over.
    const [res] = await s.next('translation_result');
    expect(res).toMatchObject({ ...simOutput(audio, 'en', 'ja'), node_id: 'honest-en-ja' });
    expect(s.ofType('missing_result')).toHaveLength(0);
    evil.close();
    honest.close();
    s.close();
    await alive();
  });

  it('TTS audio over LINGUA_MAX_TTS_BYTES is refused naming tts_audio and fails over at once', async () => {
    const evil = await evilNode('evil-tts', 'ja', 'en', () => ({
      type: 'job_result',
      success: true,
      text_asr: 'a',
      text_translated: 'b',
      tts_audio: b64(Buffer.alloc(2000, 1)),
    }));
    const s = await RawPeer.connect(cluster.urls('session')[1]!);
    s.send(init({ src_lang: 'ja', features: { tts: true } }));
    await s.next('session_init_ack');
    const audio = Buffer.alloc(640, 5);
    s.send({ type: 'utterance', seq: 0, data: b64(audio) });
    const [err] = await evil.next('error');
    expect(err).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'tts_audio' });
    expect(String(err!.message)).toMatch(/2000 bytes, the limit is 1000/);
    const honest = await rawNode(cluster.urls('node')[0]!, 'honest-ja-en', {
      asr: ['ja'],
      tts: ['en'],
      heartbeatMs: 1000,
    });
    const [res] = await s.next('translation_result');
    expect(res).toMatchObject({ ...simOutput(audio, 'ja', 'en'), node_id: 'honest-ja-en' });
    evil.close();
    honest.close();
    s.close();
    await alive();
  });
});
