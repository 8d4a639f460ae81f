import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, rawNode, simOutput } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let cluster: TestCluster;
let node: RawPeer;

// 16 kHz pcm16: 32 bytes per ms. max duration 1000 ms (the floor of a cut) = 32000 bytes.
beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGateways(redis.url, 1, {
    pauseMs: 150,
    maxDurationMs: 1000,
    maxUtteranceBytes: 40_000,
    maxPayloadBytes: 64 * 1024,
  });
  node = await rawNode(cluster.urls('node')[0]!, 'node-f', { max: 8, heartbeatMs: 1000 });
});
afterAll(async () => {
  node?.close();
  await cluster?.stop();
  await redis?.stop();
});

async function session(format = 'pcm16'): Promise<RawPeer> {
  const s = await RawPeer.connect(cluster.urls('session')[0]!);
  s.send({ type: 'session_init', src_lang: 'zh', tgt_lang: 'en', audio_format: format, sample_rate: 16000 });
  await s.next('session_init_ack');
  return s;
}

const chunk = (seq: number, bytes: number, fill: number, isFinal = false) => ({
  type: 'audio_chunk',
  seq,
  data: Buffer.alloc(bytes, fill).toString('base64'),
  is_final: isFinal,
});

describe('finalize reasons end to end', () => {
  it('pause: silence past pause_ms finalizes the utterance', async () => {
    const s = await session();
    s.send(chunk(0, 640, 1));
    s.send(chunk(1, 640, 2));
    const [acc] = await s.next('utterance_accepted');
    expect(acc).toMatchObject({ utterance_index: 0, reason: 'pause', last_chunk_seq: 1 });
    const [res] = await s.next('translation_result');
    expect(res).toMatchObject(
      simOutput(Buffer.concat([Buffer.alloc(640, 1), Buffer.alloc(640, 2)]), 'zh', 'en'),
    );
    s.close();
  });

  it('max_duration: cut at the chunk boundary, the rest starts the next utterance', async () => {
    const s = await session();
    s.send(chunk(0, 16_000, 1)); // 500 ms
    s.send(chunk(1, 16_000, 2)); // 1000 ms total: at the limit
    // would exceed → cut before it; is_final on it, so no pause (150 ms) can interfere
    s.send(chunk(2, 16_000, 3, true));
    const acc = await s.next('utterance_accepted', 2);
    expect(acc.map((a) => [a.reason, a.last_chunk_seq])).toEqual([
      ['max_duration', 1],
      ['is_final', 2],
    ]);
    const res = await s.next('translation_result', 2);
    expect(res[1]).toMatchObject(simOutput(Buffer.alloc(16_000, 3), 'zh', 'en'));
    s.close();
  });

  it('max_length: the byte guard applies when duration is unknown (opus)', async () => {
    const s = await session('opus');
    s.send(chunk(0, 25_000, 1));
    s.send(chunk(1, 25_000, 2, true)); // 50000 > 40000 bytes → cut before it
    const acc = await s.next('utterance_accepted', 2);
    expect(acc.map((a) => a.reason)).toEqual(['max_length', 'is_final']);
    s.close();
  });

  it('session_close finalizes the rest, delivers every result, then session_closed', async () => {
    const s = await session();
    s.send(chunk(0, 640, 7));
    s.send({ type: 'session_close' });
    const [acc] = await s.next('utterance_accepted');
    expect(acc).toMatchObject({ reason: 'session_close', utterance_index: 0 });
    const [closed] = await s.next('session_closed');
    expect(closed).toMatchObject({ last_result_index: 0 });
    expect(s.ofType('translation_result')).toHaveLength(1);
    expect(s.frames.findIndex((f) => f.type === 'translation_result')).toBeLessThan(
      s.frames.findIndex((f) => f.type === 'session_closed'),
    );
  });

  it('duplicate and out-of-order seq produce the same utterance as in-order delivery', async () => {
    const s = await session();
    s.send(chunk(1, 640, 2));
    s.send(chunk(0, 640, 1));
    s.send(chunk(0, 640, 1)); // duplicate
    s.send(chunk(2, 640, 3, true));
    const [res] = await s.next('translation_result');
    const expected = Buffer.concat([Buffer.alloc(640, 1), Buffer.alloc(640, 2), Buffer.alloc(640, 3)]);
    expect(res).toMatchObject(simOutput(expected, 'zh', 'en'));
    expect(s.ofType('utterance_accepted')).toHaveLength(1);
    s.close();
  });
});

describe('bad input', () => {
  const badSession: unknown[] = [
    'not json',
    '{',
    '[]',
    'null',
    '42',
    '"str"',
    {},
    { type: 'nope' },
    { type: 42 },
    { type: 'audio_chunk', seq: 'x', data: '' },
    { type: 'audio_chunk', seq: -1, data: '' },
    { type: 'audio_chunk', seq: 1.5, data: '' },
    { type: 'audio_chunk', seq: 0, data: '***' },
    { type: 'audio_chunk', seq: 0 },
    { type: 'audio_chunk', seq: 0, data: 5 },
    { type: 'audio_chunk', seq: 0, data: '', is_final: 'yes' },
    { type: 'utterance' },
    { type: 'utterance', data: ['x'] },
    { type: 'session_init' },
    { type: 'session_init', src_lang: 1, tgt_lang: 'en', audio_format: 'pcm16', sample_rate: 16000 },
    { type: 'session_init', src_lang: 'zh', tgt_lang: 'en', audio_format: 'pcm16', sample_rate: 'fast' },
    { type: 'session_init', src_lang: 'zh', tgt_lang: 'en', audio_format: 'pcm16', sample_rate: -5 },
    {
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
      resume: 5,
    },
    { type: 'client_heartbeat', ts: 'now' },
    { type: 'session_close', extra: 1, type2: [] }, // valid: extra fields are ignored → no error
  ];

  it('50 malformed/oversized/unknown frames on a session and a node: an error each, healthy session unaffected', async () => {
    const healthy = await session();
    const bad = await RawPeer.connect(cluster.urls('session')[0]!);
    const badNode = await RawPeer.connect(cluster.urls('node')[0]!);
    const sessionFrames = badSession.slice(0, -1);
    const oversized = JSON.stringify({ type: 'utterance', data: Buffer.alloc(80 * 1024).toString('base64') });
    const all = [...sessionFrames, oversized];
    while (all.length < 25) all.push({ type: `unknown_${all.length}` });
    for (const f of all) bad.send(f);
    const nodeFrames: unknown[] = [
      'garbage',
      { type: 'node_register' },
      {
        type: 'node_register',
        node_id: 'x',
        services: 'asr',
        asr_langs: [],
        tts_langs: [],
        max_concurrent_jobs: 1,
      },
      {
        type: 'node_register',
        node_id: 'x',
        services: ['gpu'],
        asr_langs: [],
        tts_langs: [],
        max_concurrent_jobs: 1,
      },
      {
        type: 'node_register',
        node_id: 'x',
        services: ['asr'],
        asr_langs: [],
        tts_langs: [],
        max_concurrent_jobs: 0,
      },
      { type: 'node_heartbeat', running_jobs: 'many' },
      { type: 'job_result', job_id: 'j', attempt: 0, success: true },
      { type: 'job_result', job_id: 'j', attempt: 1, success: 'yes' },
      { type: 'job_accepted', job_id: 5, attempt: 1 },
      { type: 'job_progress' },
    ];
    while (nodeFrames.length < 25) nodeFrames.push({ type: `bogus_${nodeFrames.length}` });
    for (const f of nodeFrames) badNode.send(f);
    // While the abuse goes on, the healthy session keeps working.
    healthy.send(chunk(0, 640, 9, true));
    const [res] = await healthy.next('translation_result');
    expect(res).toMatchObject(simOutput(Buffer.alloc(640, 9), 'zh', 'en'));
    const errs = await bad.next('error', 25);
    expect(errs).toHaveLength(25);
    expect(errs.every((e) => e.code === 'BAD_MESSAGE' || e.code === 'PAYLOAD_TOO_LARGE')).toBe(true);
    expect(errs.filter((e) => e.code === 'PAYLOAD_TOO_LARGE')).toHaveLength(1);
    const nodeErrs = await badNode.next('error', 25);
    expect(nodeErrs.every((e) => e.code === 'BAD_MESSAGE')).toBe(true);
    expect(bad.closed).toBeNull();
    expect(badNode.closed).toBeNull();
    // The same socket still works after the abuse.
    bad.send({
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
    });
    await bad.next('session_init_ack');
    healthy.close();
    bad.close();
    badNode.close();
  });

  it('frames before session_init, and job answers before node_register, get clear errors', async () => {
    const s = await RawPeer.connect(cluster.urls('session')[0]!);
    s.send(chunk(0, 10, 1));
    const [e] = await s.next('error');
    expect(e).toMatchObject({ code: 'NOT_INITIALIZED' });
    const n = await RawPeer.connect(cluster.urls('node')[0]!);
    n.send({
      type: 'job_result',
      job_id: 'a.1',
      attempt: 1,
      success: true,
      text_asr: '',
      text_translated: '',
    });
    const [ne] = await n.next('error');
    expect(ne).toMatchObject({ code: 'NODE_NOT_REGISTERED' });
    s.close();
    n.close();
  });
});
