/**
 * Protocol v1.12 binary `job_assign`: a node that registers with `binary_audio: true` gets its
 * assignments as binary frames laid out as docs/protocol.md says (decoded here by hand, as a
 * third-party node would), and the node SDK's `binaryAudio` option gives handlers the same
 * bytes through `jobAudio`. Nodes that do not ask keep getting JSON with base64.
 */
import { createSimNode } from '@lingua/node-sdk';
import { parseServerToNodeFrame } from '@lingua/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { nodeToken } from '../support/auth';
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

async function session(): Promise<RawPeer> {
  const s = await RawPeer.connect(cluster.urls('session')[0]!);
  s.send({ type: 'session_init', src_lang: 'zh', tgt_lang: 'en', audio_format: 'pcm16', sample_rate: 16000 });
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
