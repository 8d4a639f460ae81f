import { randomBytes } from 'node:crypto';
import { decodeBinaryFrame, encodeBinaryAudio, encodeBinaryTts } from '@lingua/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type FakeGateway,
  type Frame,
  type Peer,
  startFakeGateway,
  waitUntil,
} from '../../../test/support/fake-gateway';
import type { Transport } from '../src/index';
import { LinguaSession, type LinguaSessionOptions, ttsAudio } from '../src/session';
import { BufferFullError } from '../src/unacked';
import type { MissingResult, TranslationResult } from '../src/wire';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gateway(): Promise<FakeGateway> {
  const gw = await startFakeGateway();
  cleanups.push(() => gw.close());
  return gw;
}

function session(urls: string[], extra: Partial<LinguaSessionOptions> = {}): LinguaSession {
  const s = new LinguaSession({
    urls,
    srcLang: 'zh',
    tgtLang: 'en',
    reconnect: { initialMs: 10, maxMs: 50, jitter: 0 },
    closeTimeoutMs: 200,
    ...extra,
  });
  cleanups.push(() => s.close(50));
  return s;
}

function ack(extra: Frame = {}): Frame {
  return {
    type: 'session_init_ack',
    session_id: 'sess-1',
    resume_token: 'tok-1',
    instance_id: 'gw-1',
    next_utterance_index: 0,
    last_accepted_seq: -1,
    config: { pause_ms: 3000, max_duration_ms: 20000, heartbeat_interval_ms: 10000 },
    ...extra,
  };
}

/** Starts the session, answers connection #0's session_init and waits until the session is open. */
async function open(s: LinguaSession, gw: FakeGateway, extra: Frame = {}): Promise<Peer> {
  const started = s.start();
  const peer = await acked(gw, 0, extra);
  await started;
  return peer;
}

/** Waits for connection #i and its session_init, answers with an ack. */
/** A session over an in-memory transport: the frames it sent, and `start` answers its session_init. */
function memSession(sendsBinary: boolean) {
  const text: Frame[] = [];
  const binary: Uint8Array[] = [];
  let t!: Transport;
  const s = session(['mem://gateway'], {
    transportFactory: (url) => {
      expect(url).toBe('mem://gateway');
      t = {
        onopen: null,
        onmessage: null,
        onclose: null,
        send: (f) => text.push(JSON.parse(f)),
        ...(sendsBinary ? { sendBinary: (b: Uint8Array) => binary.push(b) } : {}),
        close: () => queueMicrotask(() => t.onclose?.(1000, '')),
      };
      queueMicrotask(() => t.onopen?.());
      return t;
    },
  });
  const start = async (ackExtra: Frame = {}) => {
    const started = s.start();
    await waitUntil(() => text.length === 1, 'session_init');
    t.onmessage?.(JSON.stringify(ack(ackExtra)));
    await started;
  };
  return { s, text, binary, start };
}

async function acked(gw: FakeGateway, i = 0, extra: Frame = {}): Promise<Peer> {
  const peer = await gw.peer(i);
  await peer.waitFor('session_init');
  peer.send(ack(extra));
  return peer;
}

const bytes = (n: number) => new Uint8Array(randomBytes(n));
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

function result(index: number): TranslationResult {
  return {
    type: 'translation_result',
    utterance_index: index,
    job_id: `job-${index}`,
    src_lang: 'zh',
    tgt_lang: 'en',
    text_asr: `asr-${index}`,
    text_translated: `tr-${index}`,
    node_id: 'n1',
    timings: { queue_ms: 1, node_ms: 2, total_ms: 3 },
  };
}

function missing(index: number): MissingResult {
  return { type: 'missing_result', utterance_index: index, job_id: `job-${index}`, reason: 'timeout' };
}

describe('LinguaSession', () => {
  it('start() sends session_init with the options (token as a bearer header) and resolves with the ack', async () => {
    const gw = await gateway();
    const s = session([gw.url('/ws/session')], {
      token: 'tk-1',
      tenantId: 'acme',
      features: { tts: true },
      sampleRate: 8000,
    });
    const started = s.start();
    const peer = await gw.peer(0);
    // Node can set headers: the token stays out of the URL (and out of access logs).
    expect(peer.headers.authorization).toBe('Bearer tk-1');
    expect(new URL(peer.path, 'ws://x').searchParams.get('token')).toBeNull();
    expect(new URL(peer.path, 'ws://x').pathname).toBe('/ws/session');
    const init = await peer.waitFor('session_init');
    expect(init).toEqual({
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 8000,
      features: { tts: true },
      tenant_id: 'acme',
    });
    peer.send(ack());
    const a = await started;
    expect(a.session_id).toBe('sess-1');
    expect(s.state).toBe('open');
    expect(s.sessionId).toBe('sess-1');
    expect(s.resumeToken).toBe('tok-1');
  });

  it('twoWay (v1.11) sends mode two_way with lang_a/lang_b = srcLang/tgtLang', async () => {
    const gw = await gateway();
    const s = session([gw.url('/ws/session')], { twoWay: true });
    const started = s.start();
    const peer = await gw.peer(0);
    const init = await peer.waitFor('session_init');
    expect(init).toMatchObject({
      src_lang: 'zh',
      tgt_lang: 'en',
      mode: 'two_way',
      lang_a: 'zh',
      lang_b: 'en',
    });
    peer.send(ack());
    await started;
  });

  it('numbers chunks 0,1,2,… and sends base64 data with is_final; audio queued before start goes after the ack', async () => {
    const gw = await gateway();
    const s = session([gw.url('/ws/session')]);
    const early = bytes(7);
    expect(s.sendAudio(early)).toBe(0);
    const started = s.start();
    const peer = await acked(gw);
    await started;
    const chunks = [bytes(320), bytes(1), bytes(0), bytes(641)];
    const seqs = chunks.map((c, i) => s.sendAudio(c, { isFinal: i === chunks.length - 1 }));
    expect(seqs).toEqual([1, 2, 3, 4]);
    expect(s.nextSeq).toBe(5);
    await waitUntil(() => peer.ofType('audio_chunk').length === 5, 'five chunks');
    const got = peer.ofType('audio_chunk');
    expect(got.map((c) => c.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(got.map((c) => c.is_final)).toEqual([false, false, false, false, true]);
    expect(got.map((c) => new Uint8Array(Buffer.from(c.data, 'base64')))).toEqual([early, ...chunks]);
    expect(got[4]!.data).toBe(b64(chunks[3]!));
    expect(s.bufferedBytes).toBe(7 + 320 + 1 + 0 + 641);

    // A whole utterance takes the next seq of the same counter.
    const u = bytes(100);
    expect(s.sendUtterance(u)).toBe(5);
    expect(s.sendAudio(bytes(3))).toBe(6);
    const msg = await peer.waitFor('utterance');
    expect(msg).toEqual({ type: 'utterance', seq: 5, data: b64(u) });
    await peer.waitFor('audio_chunk', (f) => f.seq === 6);
    expect(s.bufferedItems.map((it) => [it.seq, it.whole === true])).toEqual([
      [0, false],
      [1, false],
      [2, false],
      [3, false],
      [4, false],
      [5, true],
      [6, false],
    ]);
  });

  it('emits results and missing in order, dropping duplicates and lower indexes', async () => {
    const gw = await gateway();
    const s = session([gw.url('/ws/session')]);
    const events: string[] = [];
    s.on('result', (r) => events.push(`result:${r.utterance_index}:${r.text_translated}`));
    s.on('missing', (m) => events.push(`missing:${m.utterance_index}:${m.reason}`));
    const peer = await open(s, gw);
    for (const f of [result(0), result(1), result(1), missing(2), result(0), missing(1), result(3)])
      peer.send(f);
    await waitUntil(() => s.lastResultIndex === 3, 'index 3');
    expect(events).toEqual(['result:0:tr-0', 'result:1:tr-1', 'missing:2:timeout', 'result:3:tr-3']);
    expect(s.duplicateResults).toBe(3);
  });

  it('emits partial results (v1.8) only for indexes without a result yet', async () => {
    const gw = await gateway();
    const s = session([gw.url('/ws/session')]);
    const events: string[] = [];
    s.on('result', (r) => events.push(`result:${r.utterance_index}`));
    s.on('partial', (p) =>
      events.push(`partial:${p.utterance_index}:${p.text_asr ?? ''}:${p.text_translated ?? ''}`),
    );
    const peer = await open(s, gw);
    const partial = (i: number, extra: object) => ({ type: 'partial_result', utterance_index: i, ...extra });
    for (const f of [
      partial(0, { text_asr: 'a' }),
      partial(0, { text_asr: 'ab', text_translated: 'x' }),
      result(0),
      partial(0, { text_asr: 'late' }),
      partial(1, { text_translated: 'y' }),
      result(1),
    ])
      peer.send(f);
    await waitUntil(() => s.lastResultIndex === 1, 'index 1');
    expect(events).toEqual(['partial:0:a:', 'partial:0:ab:x', 'result:0', 'partial:1::y', 'result:1']);
  });

  it('utterance_accepted releases acknowledged audio and is emitted', async () => {
    const gw = await gateway();
    const s = session([gw.url('/ws/session')]);
    const accepted: number[] = [];
    s.on('accepted', (a) => accepted.push(a.utterance_index));
    const peer = await open(s, gw);
    for (let i = 0; i < 4; i++) s.sendAudio(bytes(100), { isFinal: i === 1 });
    expect(s.sendUtterance(bytes(50))).toBe(4);
    expect(s.bufferedBytes).toBe(450);
    peer.send({
      type: 'utterance_accepted',
      utterance_index: 0,
      job_id: 'j0',
      reason: 'is_final',
      last_chunk_seq: 1,
    });
    await waitUntil(() => accepted.length === 1, 'accepted 0');
    expect(s.bufferedBytes).toBe(250);
    // The utterance takes chunks 2..3 with it (last_chunk_seq 3).
    peer.send({
      type: 'utterance_accepted',
      utterance_index: 1,
      job_id: 'j1',
      reason: 'is_final',
      last_chunk_seq: 3,
    });
    await waitUntil(() => accepted.length === 2, 'accepted 1');
    expect(s.bufferedBytes).toBe(50);
    // The whole utterance (seq 4) is released by its own accepted frame.
    peer.send({
      type: 'utterance_accepted',
      utterance_index: 2,
      job_id: 'j2',
      reason: 'is_final',
      last_chunk_seq: 4,
    });
    await waitUntil(() => accepted.length === 3, 'accepted 2');
    expect(s.bufferedBytes).toBe(0);
    // A replayed accepted frame changes nothing.
    expect(s.sendUtterance(bytes(10))).toBe(5);
    peer.send({
      type: 'utterance_accepted',
      utterance_index: 2,
      job_id: 'j2',
      reason: 'is_final',
      last_chunk_seq: 4,
    });
    peer.send(result(0));
    await waitUntil(() => s.lastResultIndex === 0, 'result after replay');
    expect(accepted).toEqual([0, 1, 2]);
    expect(s.bufferedBytes).toBe(10);
  });

  it('resumes on a second gateway: resume fields, resends only unaccepted audio with its seq, buffers meanwhile', async () => {
    const gwA = await gateway();
    const gwB = await gateway();
    const s = session([gwA.url('/ws/session'), gwB.url('/ws/session')]);
    const seen: string[] = [];
    s.on('disconnected', () => seen.push('disconnected'));
    s.on('reconnected', (a) => seen.push(`reconnected:${a.instance_id}`));
    s.on('result', (r) => seen.push(`result:${r.utterance_index}`));
    const a = await open(s, gwA, { instance_id: 'gw-a' });

    // Chunks and whole utterances share the seq counter: 0 1 2(final) U3 4 5 U6.
    const audio = [bytes(64), bytes(64), bytes(64), bytes(40), bytes(64), bytes(64), bytes(33)];
    const whole = new Set([3, 6]);
    for (const [i, d] of audio.entries()) {
      expect(whole.has(i) ? s.sendUtterance(d) : s.sendAudio(d, { isFinal: i === 2 })).toBe(i);
    }
    await waitUntil(
      () => a.ofType('audio_chunk').length === 5 && a.ofType('utterance').length === 2,
      'sent to A',
    );
    expect(a.ofType('utterance').map((f) => f.seq)).toEqual([3, 6]);
    a.send({
      type: 'utterance_accepted',
      utterance_index: 0,
      job_id: 'j0',
      reason: 'is_final',
      last_chunk_seq: 2,
    });
    a.send(result(0));
    await waitUntil(() => s.lastResultIndex === 0 && s.bufferedBytes === 40 + 2 * 64 + 33, 'accepted on A');
    a.ws.terminate(); // gateway A crashes

    const b = await gwB.peer(0);
    const init = await b.waitFor('session_init');
    expect(init).toEqual({
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
      resume: {
        session_id: 'sess-1',
        resume_token: 'tok-1',
        last_result_index: 0,
        next_utterance_index: 1,
        last_accepted_seq: 2,
      },
    });
    // Audio sent while the session is between gateways is buffered with the next seq.
    const during = bytes(64);
    expect(s.sendAudio(during)).toBe(7);
    expect(b.ofType('audio_chunk')).toEqual([]);

    // Gateway A had also accepted utterance 3 and chunk 4 before dying (those frames were lost):
    // utterance 3 must not be sent again, utterance 6 must.
    b.send(
      ack({ instance_id: 'gw-b', resume_token: 'tok-2', next_utterance_index: 2, last_accepted_seq: 4 }),
    );
    await waitUntil(
      () => b.ofType('audio_chunk').length === 2 && b.ofType('utterance').length === 1,
      'resent to B',
    );
    const resent = b.frames.filter((f) => f.type === 'audio_chunk' || f.type === 'utterance');
    expect(resent.map((f) => [f.type, f.seq])).toEqual([
      ['audio_chunk', 5],
      ['utterance', 6],
      ['audio_chunk', 7],
    ]);
    expect(resent.map((f) => f.data)).toEqual([b64(audio[5]!), b64(audio[6]!), b64(during)]);
    expect(s.bufferedItems.map((it) => it.seq)).toEqual([5, 6, 7]);
    expect(s.resumeToken).toBe('tok-2');
    expect(s.state).toBe('open');

    // The replay from the result log overlaps what the client has; only new indexes come out.
    b.send(result(0));
    b.send(result(1));
    await waitUntil(() => s.lastResultIndex === 1, 'result 1');
    expect(seen).toEqual(['result:0', 'disconnected', 'reconnected:gw-b', 'result:1']);
    expect(s.duplicateResults).toBe(1);
    expect(s.sendAudio(bytes(2))).toBe(8);
    await b.waitFor('audio_chunk', (f) => f.seq === 8);
    // Nothing else was resent before it.
    expect(b.ofType('utterance').map((f) => f.seq)).toEqual([6]);

    // A second drop resumes with the refreshed token, back on gateway A (round-robin).
    b.ws.terminate();
    const a2 = await gwA.peer(1);
    const init2 = await a2.waitFor('session_init');
    expect(init2.resume).toEqual({
      session_id: 'sess-1',
      resume_token: 'tok-2',
      last_result_index: 1,
      next_utterance_index: 2,
      last_accepted_seq: 4,
    });
  });

  it('after a resume resends exactly the whole utterances the server did not accept, with their seq', async () => {
    const gwA = await gateway();
    const gwB = await gateway();
    const s = session([gwA.url('/ws/session'), gwB.url('/ws/session')]);
    const accepted: number[] = [];
    s.on('accepted', (f) => accepted.push(f.utterance_index));
    const a = await open(s, gwA);
    const utts = Array.from({ length: 6 }, (_, i) => bytes(20 + i));
    expect(utts.map((u) => s.sendUtterance(u))).toEqual([0, 1, 2, 3, 4, 5]);
    await waitUntil(() => a.ofType('utterance').length === 6, 'sent to A');
    expect(a.ofType('utterance').map((f) => f.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(a.ofType('audio_chunk')).toEqual([]);
    for (const i of [0, 1]) {
      a.send({
        type: 'utterance_accepted',
        utterance_index: i,
        job_id: `j${i}`,
        reason: 'is_final',
        last_chunk_seq: i,
      });
    }
    await waitUntil(() => s.bufferedItems[0]?.seq === 2, 'accepted 0 and 1');
    a.ws.terminate();

    // The gateway had accepted utterances 2 and 3 as well; the client never saw those frames.
    const b = await gwB.peer(0);
    await b.waitFor('session_init');
    b.send(ack({ resume_token: 'tok-2', next_utterance_index: 4, last_accepted_seq: 3 }));
    await waitUntil(() => b.ofType('utterance').length === 2, 'resent to B');
    // A marker sent after the resend proves nothing else was resent before it.
    expect(s.sendAudio(bytes(1))).toBe(6);
    await b.waitFor('audio_chunk', (f) => f.seq === 6);
    expect(b.ofType('utterance')).toEqual([
      { type: 'utterance', seq: 4, data: b64(utts[4]!) },
      { type: 'utterance', seq: 5, data: b64(utts[5]!) },
    ]);
    expect(b.ofType('audio_chunk').map((f) => f.seq)).toEqual([6]);

    // Accepting them releases them; the replayed accepted frames of 2 and 3 are ignored.
    for (const i of [2, 3, 4, 5]) {
      b.send({
        type: 'utterance_accepted',
        utterance_index: i,
        job_id: `j${i}`,
        reason: 'is_final',
        last_chunk_seq: i,
      });
    }
    await waitUntil(() => s.bufferedItems.length === 1, 'accepted 4 and 5');
    expect(s.bufferedItems.map((it) => it.seq)).toEqual([6]);
    expect(s.bufferedBytes).toBe(1);
    expect(accepted).toEqual([0, 1, 4, 5]);
  });

  it('stops on RESUME_REJECTED: emits error and closed, no further reconnects, sends throw', async () => {
    const gwA = await gateway();
    const gwB = await gateway();
    const s = session([gwA.url('/ws/session'), gwB.url('/ws/session')]);
    const errors: string[] = [];
    const closed: string[] = [];
    s.on('error', (e) => errors.push(e.code));
    s.on('closed', (i) => closed.push(`${i.reason}:${i.error?.code}`));
    const a = await open(s, gwA);
    s.sendAudio(bytes(10));
    a.ws.terminate();
    const b = await gwB.peer(0);
    await b.waitFor('session_init');
    b.send({ type: 'error', code: 'RESUME_REJECTED', message: 'bad token' });
    await waitUntil(() => s.state === 'closed', 'closed');
    expect(errors).toEqual(['RESUME_REJECTED']);
    expect(closed).toEqual(['error:RESUME_REJECTED']);
    expect(b.ofType('audio_chunk')).toEqual([]);
    expect(() => s.sendAudio(bytes(1))).toThrow(/closed/);
    await b.closed;
    expect(gwA.peers).toHaveLength(1);
  });

  it('stops on SESSION_NOT_FOUND too', async () => {
    const gw = await gateway();
    const s = session([gw.url('/ws/session')]);
    const closed: string[] = [];
    s.on('closed', (i) => closed.push(`${i.reason}:${i.error?.code}`));
    const first = await open(s, gw);
    first.ws.close(1001);
    const second = await gw.peer(1);
    await second.waitFor('session_init', (f) => f.resume?.session_id === 'sess-1');
    second.send({ type: 'error', code: 'SESSION_NOT_FOUND', message: 'expired' });
    await waitUntil(() => closed.length === 1, 'closed');
    expect(closed).toEqual(['error:SESSION_NOT_FOUND']);
  });

  it('bounds audio buffered during a disconnect by maxBufferedBytes', async () => {
    const gwA = await gateway();
    const gwB = await gateway();
    const s = session([gwA.url('/ws/session'), gwB.url('/ws/session')], { maxBufferedBytes: 100 });
    const a = await open(s, gwA);
    a.ws.terminate();
    await (await gwB.peer(0)).waitFor('session_init');
    expect(s.state).toBe('reconnecting');
    expect(s.sendAudio(bytes(60))).toBe(0);
    expect(() => s.sendAudio(bytes(60))).toThrow(BufferFullError);
    expect(s.sendAudio(bytes(40))).toBe(1); // the refused chunk took no seq
    expect(s.bufferedBytes).toBe(100);
  });

  it('rejects start() on an init error and surfaces it', async () => {
    const gw = await gateway();
    const s = session([gw.url('/ws/session')]);
    const started = s.start();
    const peer = await gw.peer(0);
    await peer.waitFor('session_init');
    peer.send({ type: 'error', code: 'NO_POOL_FOR_LANG_PAIR', message: 'no zh:en pool' });
    await expect(started).rejects.toMatchObject({ code: 'NO_POOL_FOR_LANG_PAIR' });
  });

  it('names the refused field: no TTS node for a features.tts session (v1.9)', async () => {
    const gw = await gateway();
    const s = session([gw.url('/ws/session')], { features: { tts: true } });
    const started = s.start();
    const peer = await gw.peer(0);
    expect(await peer.waitFor('session_init')).toMatchObject({ features: { tts: true } });
    peer.send({ type: 'error', code: 'NO_POOL_FOR_LANG_PAIR', message: 'no TTS', field: 'features' });
    await expect(started).rejects.toMatchObject({ code: 'NO_POOL_FOR_LANG_PAIR', field: 'features' });
  });

  it('sends client_heartbeat at the interval from the ack', async () => {
    const gw = await gateway();
    const s = session([gw.url('/ws/session')]);
    const peer = await open(s, gw, {
      config: { pause_ms: 3000, max_duration_ms: 20000, heartbeat_interval_ms: 20 },
    });
    await waitUntil(() => peer.ofType('client_heartbeat').length >= 3, 'three heartbeats');
    expect(typeof peer.ofType('client_heartbeat')[0]!.ts).toBe('number');
  });

  it('with serverTimeoutMs, drops a silent connection and resumes', async () => {
    const gw = await gateway();
    const s = session([gw.url('/ws/session')], { serverTimeoutMs: 60, heartbeatIntervalMs: 20 });
    const reasons: string[] = [];
    s.on('disconnected', (d) => reasons.push(d.reason));
    const first = await open(s, gw);
    // The gateway stops talking (half-open connection): the client gives up on it.
    const second = await gw.peer(1);
    const init = await second.waitFor('session_init');
    expect(init.resume).toEqual({
      session_id: 'sess-1',
      resume_token: 'tok-1',
      last_result_index: -1,
      next_utterance_index: 0,
      last_accepted_seq: -1,
    });
    expect(reasons).toEqual(['server timeout']);
    await first.closed;
  });

  it('close() sends session_close, resolves with session_closed and closes the socket normally', async () => {
    const gw = await gateway();
    const s = session([gw.url('/ws/session')]);
    const closed: unknown[] = [];
    s.on('closed', (i) => closed.push(i));
    const peer = await open(s, gw);
    peer.send(result(0));
    await waitUntil(() => s.lastResultIndex === 0, 'result');
    const closing = s.close();
    await peer.waitFor('session_close');
    peer.send({ type: 'session_closed', last_result_index: 0 });
    expect(await closing).toEqual({ type: 'session_closed', last_result_index: 0 });
    expect(closed).toEqual([
      { reason: 'closed', lastResultIndex: 0, frame: { type: 'session_closed', last_result_index: 0 } },
    ]);
    expect((await peer.closed).code).toBe(1000);
    expect(s.state).toBe('closed');
  });

  it('close() gives up after its timeout when session_closed never comes', async () => {
    const gw = await gateway();
    const s = session([gw.url('/ws/session')]);
    const peer = await open(s, gw);
    expect(await s.close(30)).toBeNull();
    await peer.waitFor('session_close');
    expect(s.state).toBe('closed');
  });

  it('works over an injected transport', async () => {
    const m = memSession(false);
    await m.start();
    m.s.sendAudio(new Uint8Array([1, 2, 3]), { isFinal: true });
    expect(m.text[1]).toEqual({ type: 'audio_chunk', seq: 0, data: 'AQID', is_final: true });
  });

  it('v1.13: sends binary audio when the ack allows it and the transport can; keeps its own copy for resend', async () => {
    const m = memSession(true);
    // Queued before the session is open; the caller then reuses its buffer.
    const buf = Buffer.from([1, 2, 3]);
    m.s.sendAudio(buf, { isFinal: true });
    buf.fill(9);
    await m.start({ binary_audio: true });
    m.s.sendUtterance(new Uint8Array([4]));
    expect(m.text.map((f) => f.type)).toEqual(['session_init']);
    const frames = m.binary.map((b) => decodeBinaryFrame(b));
    expect(frames).toMatchObject([
      { ok: true, kind: 2, frame: { type: 'audio_chunk', seq: 0, is_final: true, data: '' } },
      { ok: true, kind: 3, frame: { type: 'utterance', seq: 1, data: '' } },
    ]);
    expect(frames.map((f) => (f.ok ? [...f.audio] : null))).toEqual([[1, 2, 3], [4]]);
  });

  it('v1.13: text audio when the ack does not say binary_audio (an older gateway)', async () => {
    const m = memSession(true);
    await m.start();
    m.s.sendAudio(new Uint8Array([1, 2, 3]), { isFinal: true });
    expect(m.binary).toHaveLength(0);
    expect(m.text[1]).toEqual({ type: 'audio_chunk', seq: 0, data: 'AQID', is_final: true });
  });

  it('v1.13: binaryResults asks binary_audio on binary transports only; binary results carry their bytes, other binary frames are errors', async () => {
    for (const binaryTransport of [true, false]) {
      const text: Frame[] = [];
      let t!: Transport;
      const s = session(['mem://gateway'], {
        binaryResults: true,
        transportFactory: () => {
          t = {
            binary: binaryTransport,
            onbinary: null,
            onopen: null,
            onmessage: null,
            onclose: null,
            send: (f) => text.push(JSON.parse(f)),
            close: () => queueMicrotask(() => t.onclose?.(1000, '')),
          };
          queueMicrotask(() => t.onopen?.());
          return t;
        },
      });
      const results: TranslationResult[] = [];
      const errors: { code: string; message: string }[] = [];
      s.on('result', (r) => results.push(r));
      s.on('error', (e) => errors.push(e));
      const started = s.start();
      await waitUntil(() => text.length === 1, 'session_init');
      expect(text[0]!.binary_audio).toBe(binaryTransport ? true : undefined);
      t.onmessage?.(JSON.stringify(ack()));
      await started;
      if (!binaryTransport) {
        await s.close();
        continue;
      }
      const result = {
        type: 'translation_result' as const,
        utterance_index: 0,
        job_id: 'sess-1.0',
        src_lang: 'zh',
        tgt_lang: 'en',
        text_asr: 'a',
        text_translated: 'b',
        tts_format: 'pcm16',
        node_id: 'n',
        timings: { queue_ms: 0, node_ms: 0, total_ms: 0 },
      };
      t.onbinary?.(encodeBinaryTts(result, new Uint8Array([7, 8, 9])));
      t.onmessage?.(JSON.stringify({ ...result, utterance_index: 1, tts_audio: 'AQI=' }));
      t.onbinary?.(encodeBinaryAudio({ type: 'utterance' }, new Uint8Array([1])));
      t.onbinary?.(new Uint8Array([1, 5, 0]));
      expect(results.map((r) => r.tts_audio)).toEqual(['', 'AQI=']);
      expect(results.map((r) => [...ttsAudio(r)!])).toEqual([
        [7, 8, 9],
        [1, 2],
      ]);
      expect(ttsAudio({ ...result })).toBeUndefined();
      expect(errors).toMatchObject([
        { code: 'BAD_SERVER_FRAME', message: 'unexpected binary utterance frame' },
        { code: 'BAD_SERVER_FRAME', message: /shorter than its 8-byte header/ },
      ]);
      await s.close();
    }
  });
});
