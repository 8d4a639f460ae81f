/**
 * Protocol v1.12 binary `job_assign`: a node that registers with `binary_audio: true` gets its
 * assignments as binary frames laid out as docs/protocol.md says (decoded here by hand, as a
 * third-party node would), and the node SDK's `binaryAudio` option gives handlers the same
 * bytes through `jobAudio`. Nodes that do not ask keep getting JSON with base64.
 *
 * v1.13 binary client audio: `audio_chunk` / `utterance` as binary frames (built here by hand,
 * as a third-party client would), mixed with text ones on one session; malformed ones refused
 * with a clear error while the session goes on; the client SDK sends binary when the ack says
 * the gateway takes it, text when told not to.
 *
 * v1.13 binary TTS: a node's `job_result` with its TTS as a binary frame (built here by hand),
 * and `translation_result` / `room_result` with TTS as binary frames to sessions that asked
 * `session_init.binary_audio` (decoded here by hand), base64 text to those that did not; the
 * TTS limit holds for binary bytes; resume replays binary; the SDK options end to end.
 */
import { createHash } from 'node:crypto';
import { LinguaSession, ttsAudio } from '@lingua/client-sdk';
import { createSimNode, type LinguaNode } from '@lingua/node-sdk';
import { parseServerToNodeFrame, type TranslationResult } from '@lingua/protocol';
import { type Transport, webSocketTransportFactory } from '@lingua/protocol/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { nodeToken, sessionToken } from '../support/auth';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, simOutput, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let cluster: TestCluster;

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGateways(redis.url, 1);
});
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

/** docs/protocol.md "Binary job_assign", byte by byte. */
function decodeByHand(buf: Buffer): { header: Record<string, unknown>; audio: Buffer } {
  expect(buf[0], 'format').toBe(0x01);
  expect(buf[1], 'kind: job_assign').toBe(0x01);
  expect([buf[2], buf[3]], 'reserved').toEqual([0, 0]);
  const n = buf.readUInt32BE(4);
  return { header: JSON.parse(buf.subarray(8, 8 + n).toString('utf8')), audio: buf.subarray(8 + n) };
}

/** A zh → en session on `url` (default: the file's cluster), acked; `extra` goes into session_init. */
async function session(
  url = cluster.urls('session')[0]!,
  extra: Record<string, unknown> = {},
): Promise<RawPeer> {
  const s = await RawPeer.connect(url);
  s.send({
    type: 'session_init',
    src_lang: 'zh',
    tgt_lang: 'en',
    audio_format: 'pcm16',
    sample_rate: 16000,
    ...extra,
  });
  await s.next('session_init_ack');
  return s;
}

describe('binary job_assign (v1.12)', () => {
  it('a node that asks gets raw audio in the documented layout; its results are correct', async () => {
    const ws = new WebSocket(cluster.urls('node')[0]!);
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const binary: { header: Record<string, unknown>; audio: Buffer }[] = [];
    const texts: Record<string, unknown>[] = [];
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        texts.push(JSON.parse(data.toString()));
        return;
      }
      const f = decodeByHand(data as Buffer);
      binary.push(f);
      const out = simOutput(f.audio, String(f.header.src_lang), String(f.header.tgt_lang));
      ws.send(JSON.stringify({ type: 'job_accepted', job_id: f.header.job_id, attempt: f.header.attempt }));
      ws.send(
        JSON.stringify({
          type: 'job_result',
          job_id: f.header.job_id,
          attempt: f.header.attempt,
          success: true,
          ...out,
        }),
      );
    });
    ws.send(
      JSON.stringify({
        type: 'node_register',
        node_id: 'bin-raw',
        token: await nodeToken('bin-raw'),
        services: ['asr', 'nmt'],
        asr_langs: ['zh'],
        tts_langs: ['en'],
        max_concurrent_jobs: 4,
        binary_audio: true,
      }),
    );
    await until(() => texts.some((f) => f.type === 'node_register_ack'), 'node_register_ack');
    const s = await session();
    const audios = [Buffer.alloc(3200, 7), Buffer.from(Array.from({ length: 4001 }, (_, i) => i % 251))];
    for (const [i, a] of audios.entries())
      s.send({ type: 'audio_chunk', seq: i, data: a.toString('base64'), is_final: true });
    const results = await s.next('translation_result', 2);
    results.forEach((r, i) => {
      expect(r).toMatchObject({
        utterance_index: i,
        node_id: 'bin-raw',
        ...simOutput(audios[i]!, 'zh', 'en'),
      });
    });
    expect(binary.map((f) => f.audio.equals(audios[f.header.utterance_index as number]!))).toEqual([
      true,
      true,
    ]);
    // The header is a job_assign like the JSON one, with "audio": "" (it validates once the
    // bytes are put back as base64), and no job_assign came as text.
    for (const f of binary) {
      expect(f.header).toMatchObject({
        type: 'job_assign',
        audio: '',
        audio_format: 'pcm16',
        sample_rate: 16000,
      });
      const asJson = JSON.stringify({ ...f.header, audio: f.audio.toString('base64') });
      expect(parseServerToNodeFrame(asJson).ok).toBe(true);
    }
    expect(texts.filter((f) => f.type === 'job_assign')).toEqual([]);
    ws.close();
    s.ws.close();
  });

  it('the node SDK with binaryAudio: handlers read the bytes with jobAudio (every other suite runs JSON nodes)', async () => {
    const node = createSimNode({
      urls: cluster.urls('node'),
      nodeId: 'bin-sdk',
      token: await nodeToken('bin-sdk'),
      binaryAudio: true,
    });
    const jobs: { audio: string }[] = [];
    node.on('job', (j) => jobs.push(j));
    await node.start();
    const s = await session();
    const audios = Array.from({ length: 4 }, (_, i) => Buffer.alloc(640 * (i + 1), i + 3));
    for (const [i, a] of audios.entries())
      s.send({ type: 'audio_chunk', seq: i, data: a.toString('base64'), is_final: true });
    const results = await s.next('translation_result', 4);
    results.forEach((r, i) => {
      expect(r).toMatchObject({ node_id: 'bin-sdk', ...simOutput(audios[i]!, 'zh', 'en') });
    });
    // They came binary: the JSON field is empty, the handler had the bytes from jobAudio.
    expect(jobs.map((j) => j.audio)).toEqual(['', '', '', '']);
    await node.close();
    s.ws.close();
  });
});

/** docs/protocol.md "Binary frames", byte by byte, as a third-party client would build it. */
function binaryAudioByHand(kind: 2 | 3, header: Record<string, unknown>, audio: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify({ ...header, data: '' }), 'utf8');
  const head = Buffer.alloc(8);
  head[0] = 0x01;
  head[1] = kind;
  head.writeUInt32BE(json.length, 4);
  return Buffer.concat([head, json, audio]);
}

describe('binary client audio (v1.13)', () => {
  let node: LinguaNode;
  beforeAll(async () => {
    node = createSimNode({
      urls: cluster.urls('node'),
      nodeId: 'bin-client-node',
      token: await nodeToken('bin-client-node'),
    });
    await node.start();
  });
  afterAll(async () => {
    await node?.close();
  });

  it('the ack says so; binary chunks, utterances and text chunks share one seq counter; results are of the bytes sent', async () => {
    const s = await session();
    const [ack] = s.ofType('session_init_ack');
    expect(ack!.binary_audio).toBe(true);
    const a = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
    const b = Buffer.alloc(1280, 0x2a);
    const c = Buffer.from(Array.from({ length: 999 }, (_, i) => 255 - (i % 256)));
    // Utterance 0: a binary chunk then a text one (is_final) -> one utterance of a + b.
    s.ws.send(binaryAudioByHand(2, { type: 'audio_chunk', seq: 0 }, a));
    s.send({ type: 'audio_chunk', seq: 1, data: b.toString('base64'), is_final: true });
    // Utterance 1: a binary sequenced whole utterance. Utterance 2: binary chunk with is_final.
    s.ws.send(binaryAudioByHand(3, { type: 'utterance', seq: 2 }, c));
    s.ws.send(binaryAudioByHand(2, { type: 'audio_chunk', seq: 3, is_final: true }, b));
    const accepted = await s.next('utterance_accepted', 3);
    expect(accepted.map((f) => f.last_chunk_seq)).toEqual([1, 2, 3]);
    const results = await s.next('translation_result', 3);
    const want = [Buffer.concat([a, b]), c, b];
    results.forEach((r, i) => {
      expect(r).toMatchObject({ utterance_index: i, ...simOutput(want[i]!, 'zh', 'en') });
    });
    // A re-sent binary chunk (same seq) is a duplicate like a re-sent text one: no new utterance.
    s.ws.send(binaryAudioByHand(2, { type: 'audio_chunk', seq: 3, is_final: true }, b));
    s.send({ type: 'client_heartbeat', ts: 1 });
    await s.next('server_heartbeat');
    expect(s.ofType('utterance_accepted')).toHaveLength(3);
    s.ws.close();
  });

  it('refuses a malformed binary frame with BAD_MESSAGE naming what is wrong; the session goes on', async () => {
    const s = await session();
    const audio = Buffer.alloc(640, 1);
    const good = binaryAudioByHand(2, { type: 'audio_chunk', seq: 0, is_final: true }, audio);
    const cases: [Buffer, RegExp, string | undefined][] = [
      [good.subarray(0, 6), /shorter than its 8-byte header/, undefined],
      [Buffer.from([1, 9, ...good.subarray(2)]), /unknown binary frame kind 9/, undefined],
      [Buffer.from([1, 1, ...good.subarray(2)]), /not a job_assign/, 'type'],
      [binaryAudioByHand(3, { type: 'audio_chunk', seq: 0 }, audio), /not a utterance/, 'type'],
      [
        Buffer.concat([good.subarray(0, 4), Buffer.from([0xff, 0, 0, 0]), good.subarray(8)]),
        /past the frame/,
        undefined,
      ],
      [binaryAudioByHand(2, { type: 'audio_chunk', seq: -1 }, audio), /seq/, 'seq'],
    ];
    // "data" must be "" in the header: the audio follows it.
    const json = Buffer.from(JSON.stringify({ type: 'audio_chunk', seq: 0, data: 'AQ==' }));
    const head = Buffer.from([1, 2, 0, 0, 0, 0, 0, 0]);
    head.writeUInt32BE(json.length, 4);
    cases.push([Buffer.concat([head, json, audio]), /data: must be ""/, 'data']);
    for (const [frame] of cases) s.ws.send(frame);
    const errors = await s.next('error', cases.length);
    cases.forEach(([, message, field], i) => {
      expect(errors[i]).toMatchObject({ code: 'BAD_MESSAGE' });
      expect(String(errors[i]!.message)).toMatch(message);
      expect(errors[i]!.field).toBe(field);
    });
    // Nothing of a refused frame was kept: seq 0 is still expected, and the good frame works.
    s.ws.send(good);
    const [r] = await s.next('translation_result');
    expect(r).toMatchObject({ utterance_index: 0, ...simOutput(audio, 'zh', 'en') });
    expect(s.closed).toBeNull();
    s.ws.close();
  });

  it('a binary frame over the frame limit is PAYLOAD_TOO_LARGE, like a text one', async () => {
    const s = await session();
    const limit = cluster.gateways[0]!.cfg.maxPayloadBytes;
    s.ws.send(binaryAudioByHand(2, { type: 'audio_chunk', seq: 0 }, Buffer.alloc(limit + 1)));
    const [err] = await s.next('error');
    expect(err).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    s.ws.close();
  });

  it('the client SDK sends binary audio by default when the ack allows it, text with binaryAudio: false', async () => {
    const audios = [Buffer.alloc(2000, 5), Buffer.from(Array.from({ length: 777 }, (_, i) => i % 256))];
    for (const binaryAudio of [undefined, false]) {
      const sent = { text: [] as string[], binary: 0 };
      const base = webSocketTransportFactory(WebSocket as never);
      const s = new LinguaSession({
        urls: cluster.urls('session'),
        srcLang: 'zh',
        tgtLang: 'en',
        token: await sessionToken(),
        ...(binaryAudio === false ? { binaryAudio } : {}),
        transportFactory: (url, opts) => {
          const t = base(url, opts);
          const send = t.send.bind(t);
          const sendBinary = t.sendBinary!.bind(t);
          const spy: Transport = t;
          spy.send = (text) => {
            sent.text.push(JSON.parse(text).type);
            send(text);
          };
          spy.sendBinary = (bytes) => {
            sent.binary++;
            sendBinary(bytes);
          };
          return spy;
        },
      });
      const results: TranslationResult[] = [];
      s.on('result', (r) => results.push(r));
      await s.start();
      s.sendAudio(audios[0]!.subarray(0, 1000));
      s.sendAudio(audios[0]!.subarray(1000), { isFinal: true });
      s.sendUtterance(audios[1]!);
      await until(() => results.length === 2, 'two results');
      expect(results.map((r) => r.text_asr)).toEqual(audios.map((a) => simOutput(a, 'zh', 'en').text_asr));
      if (binaryAudio === false) {
        expect(sent.binary).toBe(0);
        expect(sent.text.filter((t) => t === 'audio_chunk' || t === 'utterance')).toHaveLength(3);
      } else {
        expect(sent.binary).toBe(3);
        expect(sent.text).not.toContain('audio_chunk');
        expect(sent.text).not.toContain('utterance');
      }
      await s.close();
    }
  });
});

/** docs/protocol.md "Binary frames": a node's job_result with its TTS after the header. */
function binaryResultByHand(header: Record<string, unknown>, tts: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify({ ...header, tts_audio: '' }), 'utf8');
  const head = Buffer.alloc(8);
  head[0] = 0x01;
  head[1] = 0x04;
  head.writeUInt32BE(json.length, 4);
  return Buffer.concat([head, json, tts]);
}

/** docs/protocol.md "Binary frames", byte by byte: a result with TTS (kind 5 or 6). */
function decodeResultByHand(buf: Buffer, kind: 5 | 6): { header: Record<string, unknown>; tts: Buffer } {
  expect([buf[0], buf[1], buf[2], buf[3]], 'format, kind, reserved').toEqual([1, kind, 0, 0]);
  const n = buf.readUInt32BE(4);
  return { header: JSON.parse(buf.subarray(8, 8 + n).toString('utf8')), tts: buf.subarray(8 + n) };
}

/** The simulated node's TTS (docs/protocol.md): the 32 bytes of sha256(audio). */
const simTts = (audio: Buffer) => createHash('sha256').update(audio).digest();

describe('binary TTS results (v1.13)', () => {
  let tc: TestCluster;
  const MAX_TTS = 4096;
  beforeAll(async () => {
    tc = await startGateways(redis.url, 1, { maxTtsBytes: MAX_TTS });
  });
  afterAll(async () => {
    await tc?.stop();
  });

  /** A node that answers every job_assign with a hand-built binary job_result of `tts(audio)`. */
  async function binaryNode(id: string, tts: (audio: Buffer) => Buffer) {
    const ws = new WebSocket(tc.urls('node')[0]!);
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const texts: Record<string, unknown>[] = [];
    const sent = new Map<number, Buffer>();
    ws.on('message', (data, isBinary) => {
      expect(isBinary, 'this node did not ask for binary job_assign').toBe(false);
      const f = JSON.parse(data.toString());
      texts.push(f);
      if (f.type !== 'job_assign') return;
      const audio = Buffer.from(f.audio, 'base64');
      const speech = tts(audio);
      sent.set(f.utterance_index, speech);
      ws.send(JSON.stringify({ type: 'job_accepted', job_id: f.job_id, attempt: f.attempt }));
      const header = { type: 'job_result', job_id: f.job_id, attempt: f.attempt, success: true };
      ws.send(
        binaryResultByHand(
          { ...header, ...simOutput(audio, f.src_lang, f.tgt_lang), tts_format: 'pcm16' },
          speech,
        ),
      );
    });
    ws.send(
      JSON.stringify({
        type: 'node_register',
        node_id: id,
        token: await nodeToken(id),
        services: ['asr', 'nmt', 'tts'],
        asr_langs: ['zh', 'fr'],
        tts_langs: ['en'],
        max_concurrent_jobs: 4,
      }),
    );
    await until(() => texts.find((f) => f.type === 'node_register_ack'), 'node_register_ack');
    return { ws, texts, sent };
  }

  function ttsSession(binary: boolean, extra: Record<string, unknown> = {}): Promise<RawPeer> {
    return session(tc.urls('session')[0]!, {
      features: { tts: true },
      ...(binary ? { binary_audio: true } : {}),
      ...extra,
    });
  }

  // Bigger than the simulated node's 32 bytes, so a copy bug or a cut would show.
  const bigTts = (audio: Buffer) =>
    Buffer.concat(Array.from({ length: 100 }, (_, i) => simTts(Buffer.concat([audio, Buffer.from([i])]))));
  const audios = [Buffer.alloc(3200, 9), Buffer.from(Array.from({ length: 2001 }, (_, i) => (i * 13) % 256))];

  it("a node's binary TTS reaches an opted-in client as binary translation_results, others as base64 of the same bytes; resume replays binary", async () => {
    const node = await binaryNode('tts-bin-raw', bigTts);
    expect(node.texts.find((f) => f.type === 'node_register_ack')).toMatchObject({ binary_audio: true });
    const bin = await ttsSession(true);
    for (const [i, a] of audios.entries())
      bin.send({ type: 'utterance', seq: i, data: a.toString('base64') });
    await bin.next('utterance_accepted', 2);
    await until(() => bin.binaryFrames.length === 2, 'two binary results');
    const check = (frames: Buffer[]) =>
      frames.forEach((buf, i) => {
        const { header, tts } = decodeResultByHand(buf, 5);
        expect(header).toMatchObject({
          type: 'translation_result',
          utterance_index: i,
          node_id: 'tts-bin-raw',
          tts_audio: '',
          tts_format: 'pcm16',
          ...simOutput(audios[i]!, 'zh', 'en'),
        });
        expect(tts.length).toBe(3200);
        expect(tts.equals(node.sent.get(i)!)).toBe(true);
      });
    check(bin.binaryFrames);
    // Only the results went binary; everything else on the socket stayed text.
    expect(bin.ofType('translation_result')).toEqual([]);
    expect(bin.ofType('utterance_accepted')).toHaveLength(2);

    // Without the opt-in: text with the same bytes as base64.
    const text = await ttsSession(false);
    for (const [i, a] of audios.entries())
      text.send({ type: 'utterance', seq: i, data: a.toString('base64') });
    const results = await text.next('translation_result', 2);
    results.forEach((r, i) => {
      expect(Buffer.from(String(r.tts_audio), 'base64').equals(node.sent.get(i)!)).toBe(true);
    });
    expect(text.binaryFrames).toEqual([]);

    // Resume replays the result log: binary again for a connection that asks, text for one that does not.
    const [ack] = bin.ofType('session_init_ack');
    bin.close();
    for (const binary of [true, false]) {
      const resume = { session_id: ack!.session_id, resume_token: ack!.resume_token, last_result_index: -1 };
      const again = await ttsSession(binary, { resume });
      if (binary) {
        await until(() => again.binaryFrames.length === 2, 'two replayed binary results');
        check(again.binaryFrames);
        expect(again.ofType('translation_result')).toEqual([]);
      } else {
        const replayed = await again.next('translation_result', 2);
        expect(replayed.map((r) => Buffer.from(String(r.tts_audio), 'base64').length)).toEqual([3200, 3200]);
        expect(again.binaryFrames).toEqual([]);
      }
      again.close();
      await until(() => again.closed, 'closed');
    }
    text.close();
    node.ws.close();
  });

  it('binary TTS over LINGUA_MAX_TTS_BYTES is refused naming tts_audio and fails over at once, like base64', async () => {
    const evil = await binaryNode('tts-bin-evil', () => Buffer.alloc(MAX_TTS + 1, 3));
    const s = await ttsSession(true);
    s.send({ type: 'utterance', seq: 0, data: audios[0]!.toString('base64') });
    const err = await until(() => evil.texts.find((f) => f.type === 'error'), 'error to the node');
    expect(err).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'tts_audio' });
    expect(String(err.message)).toMatch(new RegExp(`${MAX_TTS + 1} bytes, the limit is ${MAX_TTS}`));
    // A node that stays within the limit gets the job and its TTS arrives.
    const good = await binaryNode('tts-bin-good', simTts);
    await until(() => s.binaryFrames.length === 1, 'the result');
    const { header, tts } = decodeResultByHand(s.binaryFrames[0]!, 5);
    expect(header).toMatchObject({ utterance_index: 0, node_id: 'tts-bin-good' });
    expect(tts.equals(simTts(audios[0]!))).toBe(true);
    s.close();
    evil.ws.close();
    good.ws.close();
  });

  it('room_result with TTS goes binary (kind 6) to a listener that asked, text to one that did not', async () => {
    const node = await binaryNode('tts-bin-room', bigTts);
    const speaker = await ttsSession(false);
    const listeners = [
      await ttsSession(true, { src_lang: 'fr' }),
      await ttsSession(false, { src_lang: 'fr' }),
    ];
    for (const p of [speaker, ...listeners]) {
      p.send({ type: 'room_join', room_id: 'tts-room', listen_lang: 'en' });
      await p.next('room_joined');
    }
    speaker.send({ type: 'utterance', seq: 0, data: audios[1]!.toString('base64') });
    await until(() => listeners[0]!.binaryFrames.length === 1, 'binary room_result');
    const { header, tts } = decodeResultByHand(listeners[0]!.binaryFrames[0]!, 6);
    expect(header).toMatchObject({
      type: 'room_result',
      room_id: 'tts-room',
      utterance_index: 0,
      tgt_lang: 'en',
      tts_audio: '',
      tts_format: 'pcm16',
    });
    expect(tts.equals(node.sent.get(0)!)).toBe(true);
    const [plain] = await listeners[1]!.next('room_result');
    expect(Buffer.from(String(plain!.tts_audio), 'base64').equals(node.sent.get(0)!)).toBe(true);
    expect(listeners[1]!.binaryFrames).toEqual([]);
    for (const p of [speaker, ...listeners]) p.close();
    node.ws.close();
  });

  it('the SDKs: a binaryAudio node sends binary job_results, a binaryResults session gets binary results; ttsAudio works in both modes', async () => {
    const nodeSent = { binary: 0 };
    const base = webSocketTransportFactory(WebSocket as never);
    const node = createSimNode({
      urls: tc.urls('node'),
      nodeId: 'tts-bin-sdk',
      token: await nodeToken('tts-bin-sdk'),
      binaryAudio: true,
      transportFactory: (url, opts) => {
        const t = base(url, opts);
        const sendBinary = t.sendBinary!.bind(t);
        t.sendBinary = (bytes) => {
          nodeSent.binary++;
          sendBinary(bytes);
        };
        return t;
      },
    });
    await node.start();
    for (const binaryResults of [true, false]) {
      const s = new LinguaSession({
        urls: tc.urls('session'),
        srcLang: 'zh',
        tgtLang: 'en',
        token: await sessionToken(),
        features: { tts: true },
        binaryResults,
      });
      const results: TranslationResult[] = [];
      s.on('result', (r) => results.push(r));
      await s.start();
      for (const a of audios) s.sendUtterance(a);
      await until(() => results.length === 2, 'two results');
      results.forEach((r, i) => {
        expect(r).toMatchObject(simOutput(audios[i]!, 'zh', 'en'));
        // "" only in a binary result: a text one carries the base64.
        expect(r.tts_audio === '').toBe(binaryResults);
        expect(Buffer.from(ttsAudio(r)!).equals(simTts(audios[i]!))).toBe(true);
      });
      await s.close();
    }
    expect(nodeSent.binary).toBe(4);
    await node.close();
  });
});

// The `ws` + node:http transport zero-fills every message's bytes after its callback under test
// (transport/node.ts `poisonMessages`): binary audio kept as a view into the socket's buffer,
// not copied out, would reach the node (or the result log) as zeros. `npm test` runs the uWS
// transport everywhere else, so this suite pins both binary legs that arrive at a gateway to
// the `ws` one.
describe('binary frames into the gateway on the ws transport (poisoned message buffers)', () => {
  let wc: TestCluster;
  beforeAll(async () => {
    wc = await startGateways(redis.url, 1, { transport: 'node' });
  });
  afterAll(async () => {
    await wc?.stop();
  });

  it('client audio and node TTS are copied out of the frame before its buffer is reused', async () => {
    const ws = new WebSocket(wc.urls('node')[0]!);
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const texts: Record<string, unknown>[] = [];
    const sent = new Map<number, Buffer>();
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString());
      texts.push(f);
      if (f.type !== 'job_assign') return;
      const audio = Buffer.from(f.audio, 'base64');
      const speech = simTts(audio);
      sent.set(f.utterance_index, speech);
      const header = { type: 'job_result', job_id: f.job_id, attempt: f.attempt, success: true };
      ws.send(binaryResultByHand({ ...header, ...simOutput(audio, f.src_lang, f.tgt_lang) }, speech));
    });
    ws.send(
      JSON.stringify({
        type: 'node_register',
        node_id: 'ws-transport-node',
        token: await nodeToken('ws-transport-node'),
        services: ['asr', 'nmt', 'tts'],
        asr_langs: ['zh'],
        tts_langs: ['en'],
        max_concurrent_jobs: 4,
      }),
    );
    await until(() => texts.find((f) => f.type === 'node_register_ack'), 'node_register_ack');
    const s = await session(wc.urls('session')[0]!, { features: { tts: true } });
    const audio = Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 31) % 256));
    s.ws.send(binaryAudioByHand(2, { type: 'audio_chunk', seq: 0, is_final: true }, audio));
    const [r] = await s.next('translation_result');
    // The node saw the client's bytes (its texts are their hash), and the client got the node's.
    expect(r).toMatchObject({ utterance_index: 0, ...simOutput(audio, 'zh', 'en') });
    expect(Buffer.from(String(r!.tts_audio), 'base64').equals(sent.get(0)!)).toBe(true);
    ws.close();
    s.ws.close();
  });
});
