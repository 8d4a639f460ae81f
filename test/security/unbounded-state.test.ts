/**
 * Issue 9, finding 5 (unbounded state), as an attacker would try it: node registrations with
 * fresh ids left keys without TTL forever (500 KB hardware blobs, pair hints for 16×16 invented
 * languages), and the reorder buffer held ~25 MB per session. Now: oversized registrations are
 * refused naming the field, departed nodes and their pair hints are forgotten, the reorder
 * buffer is bounded in bytes, and a scan finds no key without a TTL outside the allow-list.
 */
import { connectRedis, Keyspace, type RedisClient } from '@lingua/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeToken } from '../support/auth';
import { checkBoundedState } from '../support/bounded-state';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, rawNode, simOutput, type TestNode, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

const prefix = 'lingua:state:';
const ks = new Keyspace({ prefix, cells: 2, shards: 2 });
let redis: RedisServer;
let r: RedisClient;
let cluster: TestCluster;
let honestNode: TestNode;

beforeAll(async () => {
  redis = await startRedis();
  r = connectRedis({ url: redis.url, role: 'worker', name: 'state-test' });
  cluster = await startGateways(redis.url, 2, {
    keyPrefix: prefix,
    cells: 2,
    shards: 2,
    nodeForgetMs: 1500,
    sweepIntervalMs: 200,
    maxReorderBytes: 64 * 1024,
  });
  honestNode = await rawNode(cluster.urls('node')[0]!, 'honest-1', { max: 8, heartbeatMs: 1000 });
});
afterAll(async () => {
  honestNode?.close();
  r?.disconnect();
  await cluster?.stop();
  await redis?.stop();
});

const b64 = (b: Buffer) => b.toString('base64');

async function register(nodeId: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'node_register',
    node_id: nodeId,
    token: await nodeToken(nodeId),
    services: ['asr', 'nmt'],
    asr_langs: ['zh'],
    tts_langs: ['en'],
    max_concurrent_jobs: 2,
    ...extra,
  };
}

async function honestResult(fill: number): Promise<void> {
  const s = await RawPeer.connect(cluster.urls('session')[1]!);
  s.send({ type: 'session_init', src_lang: 'zh', tgt_lang: 'en', audio_format: 'pcm16', sample_rate: 16000 });
  await s.next('session_init_ack');
  const audio = Buffer.alloc(1600, fill);
  s.send({ type: 'utterance', seq: 0, data: b64(audio) });
  const [res] = await s.next('translation_result');
  expect(res).toMatchObject(simOutput(audio, 'zh', 'en'));
  s.close();
}

describe('finding 5: unbounded state', () => {
  it('a registration with a 500 KB hardware blob is refused naming hardware; nothing is stored', async () => {
    const n = await RawPeer.connect(cluster.urls('node')[0]!);
    n.send(await register('fat-1', { hardware: { cpu_cores: 8, blob: 'z'.repeat(500_000) } }));
    const [err] = await n.next('error');
    expect(err).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'hardware' });
    expect(String(err!.message)).toMatch(/hardware is 5000\d\d bytes as JSON, the limit is 4096/);
    expect(await r.exists(ks.node('fat-1'))).toBe(0);
    // Under the limit, unknown hardware fields are ignored, not stored.
    n.send(await register('lean-1', { hardware: { cpu_cores: 8, junk: 'q'.repeat(3000) } }));
    await n.next('node_register_ack');
    const caps = (await r.hget(ks.node('lean-1'), 'caps')) ?? '';
    expect(JSON.parse(caps).hardware).toEqual({ cpu_cores: 8 });
    expect(caps.length).toBeLessThan(200);
    n.close();
    await honestResult(1);
  });

  it('16×16 invented languages are refused naming the field; no pair hint is created', async () => {
    const n = await RawPeer.connect(cluster.urls('node')[1]!);
    const langs = Array.from({ length: 16 }, (_, i) => `q${String.fromCharCode(97 + i)}`);
    n.send(await register('babel-1', { asr_langs: langs, tts_langs: langs }));
    const [err] = await n.next('error');
    expect(err).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'tts_langs' });
    expect(String(err!.message)).toMatch(/makes 240 language pairs, one node may serve at most 64/);
    // More than 64 languages per list is a schema error.
    n.send(await register('babel-2', { asr_langs: Array.from({ length: 65 }, (_, i) => `l${i}`) }));
    const errs = await n.next('error', 2);
    expect(errs[1]).toMatchObject({ code: 'BAD_MESSAGE', field: 'asr_langs' });
    expect(await r.exists(ks.node('babel-1'))).toBe(0);
    expect(await r.exists(ks.pairCells('qa', 'qb'))).toBe(0);
    expect(await r.sismember(ks.allPairs(), 'qa:qb')).toBe(0);
    n.close();
  });

  it('200 fresh-id registrations with invented pairs: all forgotten after LINGUA_NODE_FORGET_MS, pair hints too', async () => {
    const urls = cluster.urls('node');
    const ids: string[] = [];
    for (let i = 0; i < 200; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, j) => {
          const id = `drive-by-${i + j}`;
          ids.push(id);
          const n = await RawPeer.connect(urls[(i + j) % 2]!);
          // each one a pair nobody else serves: x<k>:y<k>
          n.send(
            await register(id, {
              asr_langs: [`x${i + j}`],
              tts_langs: [`y${i + j}`],
              hardware: { cpu_cores: 4 },
            }),
          );
          await n.next('node_register_ack');
          n.close();
          await until(() => n.closed, 'closed');
        }),
      );
    }
    // The forget-nodes sweep (every 200 ms here) deletes them 1.5 s after they went offline.
    await until(
      async () => {
        const left = await Promise.all(ids.map((id) => r.exists(ks.node(id))));
        return left.every((x) => x === 0);
      },
      'every drive-by node forgotten',
      20_000,
    );
    await until(
      async () => (await r.smembers(ks.allPairs())).sort().join() === 'en:zh,zh:en',
      'pair hints pruned to the live pairs',
    );
    const served: string[] = [];
    for (const c of [0, 1]) {
      const listed = await r.smembers(ks.cellNodes(c));
      expect(listed.filter((id) => id.startsWith('drive-by-'))).toEqual([]);
      served.push(...(await r.hkeys(ks.cellPairs(c))));
    }
    expect(served.sort()).toEqual(['en:zh', 'zh:en']); // the honest node's pairs only
    expect(await r.exists(ks.pairCells('x7', 'y7'))).toBe(0);
    expect((await r.smembers(ks.allPairs())).sort()).toEqual(['en:zh', 'zh:en']);
    await honestResult(2); // the live pair's hints were kept
  });

  it('the reorder buffer is bounded in bytes: past LINGUA_MAX_REORDER_BYTES a chunk gets SEQ_GAP; resending is exact', async () => {
    const s = await RawPeer.connect(cluster.urls('session')[0]!);
    s.send({
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'pcm16',
      sample_rate: 16000,
    });
    await s.next('session_init_ack');
    const part = (seq: number) => Buffer.alloc(16_000, seq + 1);
    // seq 0 is "lost"; 1..4 (64000 bytes) fit in 64 KiB, 5 does not (it would before: 32 chunks).
    for (let seq = 1; seq <= 5; seq++) s.send({ type: 'audio_chunk', seq, data: b64(part(seq)) });
    const [gap] = await s.next('error');
    expect(gap).toMatchObject({ code: 'SEQ_GAP' });
    expect(String(gap!.message)).toMatch(/seq 5 is too far ahead; resend from seq 0/);
    for (let seq = 0; seq <= 5; seq++) {
      s.send({ type: 'audio_chunk', seq, data: b64(part(seq)), is_final: seq === 5 });
    }
    const [acc] = await s.next('utterance_accepted');
    expect(acc).toMatchObject({ utterance_index: 0, last_chunk_seq: 5 });
    const [res] = await s.next('translation_result');
    expect(res).toMatchObject(simOutput(Buffer.concat([0, 1, 2, 3, 4, 5].map(part)), 'zh', 'en'));
    s.close();
  });

  it('junk in features is refused (100k levels deep, 500 KB) or not stored (unknown switches)', async () => {
    const depth = 100_000;
    const deep = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    const init = (features: string) =>
      `{"type":"session_init","src_lang":"zh","tgt_lang":"en","audio_format":"pcm16","sample_rate":16000,"features":${features}}`;
    const s = await RawPeer.connect(cluster.urls('session')[0]!);
    // protocol v1.2: nesting beyond 32 levels, and features over 4096 bytes, are BAD_MESSAGE;
    // the session stays uninitialised and the socket usable.
    s.send(init(`{"tts":false,"x":${deep}}`));
    const [deepErr] = await s.next('error');
    expect(deepErr).toMatchObject({ code: 'BAD_MESSAGE' });
    s.send(init(`{"tts":false,"junk":"${'j'.repeat(500_000)}"}`));
    const errs = await s.next('error', 2);
    expect(errs[1]).toMatchObject({ code: 'BAD_MESSAGE', field: 'features' });
    // Unknown switches within the bounds are accepted and dropped: only defined ones are stored.
    s.send(init(`{"tts":false,"x":{"y":[1,2,3]},"junk":"${'j'.repeat(3000)}"}`));
    const [ack] = await s.next('session_init_ack');
    const audio = Buffer.alloc(640, 3);
    s.send({ type: 'utterance', seq: 0, data: b64(audio) });
    const [acc] = await s.next('utterance_accepted');
    await s.next('translation_result');
    const sid = String(ack!.session_id);
    expect(await r.hget(ks.session(sid), 'feat')).toBe('{"tts":false}');
    expect(await r.hget(`${ks.shardOfSession(sid)}job:${acc!.job_id}`, 'feat')).toBe('{"tts":false}');
    s.close();
  });

  it('afterwards no key is left without a TTL outside the allow-list', async () => {
    const report = await checkBoundedState(r, ks);
    expect(report.violations).toEqual([]);
    expect(report.keys).toBeGreaterThan(0);
    // the honest node is the one node record kept (its live connection owns it)
    expect(report.allowed['node hash (online/draining)']).toBe(1);
    // The scan does catch what it must: a session record without TTL, an offline node's hash.
    await r.hset(ks.session('no-ttl'), 'owner', 'x');
    await r.hset(ks.node('ghost'), 'state', 'offline');
    const bad = await checkBoundedState(r, ks);
    expect(bad.violations).toEqual([`${ks.node('ghost')} (hash)`, `${ks.session('no-ttl')} (hash)`].sort());
    await r.del(ks.session('no-ttl'), ks.node('ghost'));
  });
});
