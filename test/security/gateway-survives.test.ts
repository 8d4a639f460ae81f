/**
 * Issue 9 A / C (connection level), against a real gateway process on each transport: hostile
 * HTTP and upgrade inputs, frame bombs, silent and abusive sockets. After each attack the
 * process is alive and an honest session alongside still gets correct results.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProc, startGatewayProc, stopProc } from '../../bench/lib/procs';
import { RawPeer, rawNode, type TestNode, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';
import { expectCorrectResults, honestSession, rawHttp, TRANSPORTS, tryUpgrade } from './support';

// Long enough for a first registration on a loaded 2-core machine (cold scripts), short enough to wait for.
const INIT_TIMEOUT_MS = 6000;
const PENDING_CAP = 8;
const ABUSE_LIMIT = 50;

describe.each(TRANSPORTS)('gateway process on the %s transport', (transport) => {
  let redis: RedisServer;
  let gw: GatewayProc;
  let node: TestNode;
  let honest: RawPeer;
  let base: string;

  beforeAll(async () => {
    redis = await startRedis();
    gw = await startGatewayProc(`sec-${transport}`, redis.url, {
      LINGUA_TRANSPORT: transport,
      LINGUA_KEY_PREFIX: `lingua:sec:${transport}:`,
      LINGUA_INIT_TIMEOUT_MS: String(INIT_TIMEOUT_MS),
      LINGUA_MAX_PENDING_CONNECTIONS: String(PENDING_CAP),
      LINGUA_ABUSE_LIMIT: String(ABUSE_LIMIT),
      LINGUA_PAUSE_MS: '200',
    });
    base = `ws://127.0.0.1:${gw.port}`;
    node = await rawNode(`${base}/ws/node`, `sec-node-${transport}`, { max: 8 });
    honest = await honestSession(`${base}/ws/session`);
  });
  afterAll(async () => {
    honest?.close();
    node?.close();
    if (gw) await stopProc(gw.child, 'SIGKILL');
    await redis?.stop();
  });

  const alive = async () => {
    expect(gw.child.exitCode).toBeNull();
    expect(gw.child.signalCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${gw.port}/health`)).status).toBe(200);
  };

  it('reports its transport in /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${gw.port}/metrics`)).text();
    expect(text).toMatch(new RegExp(`lingua_transport_info\\{impl="${transport}"[^}]*\\} 1`));
    expect(text).toMatch(new RegExp(`lingua_uws_native\\{[^}]*\\} ${transport === 'uws' ? 1 : 0}`));
  });

  it('malformed percent-escapes and other hostile upgrades/requests do not stop it', async () => {
    // The query that used to throw inside the upgrade callback and end the process.
    const escaped = await tryUpgrade(`${base}/ws/session?token=%E0%A4%A`);
    expect(escaped.status).toBe(101);
    escaped.ws!.close();
    for (const q of ['%', '%%%', 'token=%ZZ', 'token=%E0%A4%A&token=%', `token=${'%E0'.repeat(3000)}`]) {
      const r = await tryUpgrade(`${base}/ws/node?${q}`);
      expect([101, 400, 431]).toContain(r.status);
      r.ws?.close();
    }
    const http = `http://127.0.0.1:${gw.port}`;
    expect((await fetch(`${http}/api/v1/jobs/%E0%A4%A`)).status).toBe(404);
    expect((await fetch(`${http}/metrics?x=%E0%A4%A`)).status).toBe(200);
    expect(
      (await fetch(`${http}/health`, { method: 'POST', body: 'x'.repeat(200_000) })).status,
    ).toBeGreaterThanOrEqual(400);
    // Raw protocol abuse: garbage, a non-WebSocket upgrade, a missing key, huge headers, a stall.
    const raw = [
      'GARBAGE\r\n\r\n',
      'GET /ws/session HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      'GET /ws/session HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\nSec-WebSocket-Key: x\r\n\r\n',
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`,
      'PROPFIND /%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n',
      `GET /ws/session?token=%E0%A4%A HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 1).toString('base64')}\r\n\r\n`,
      'GET /health HTTP/1.1\r\nHost: x\r\n', // never finishes its headers
    ];
    for (const bytes of raw) await rawHttp(gw.port, bytes, 1000);
    await alive();
    await expectCorrectResults(honest, 3);
  });

  it('frame bombs get BAD_MESSAGE and leave the session usable', async () => {
    const s = await RawPeer.connect(`${base}/ws/session`);
    const init = {
      type: 'session_init',
      src_lang: 'zh',
      tgt_lang: 'en',
      audio_format: 'opus',
      sample_rate: 16000,
    };
    s.send(
      `{"type":"session_init","src_lang":"zh","tgt_lang":"en","audio_format":"pcm16","sample_rate":16000,"features":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`,
    );
    s.send({ ...init, byte_rate: 1e308 });
    s.send({ ...init, byte_rate: -5 });
    s.send({ ...init, features: { tts: false, blob: 'x'.repeat(50_000) } });
    s.send(`[${'['.repeat(200_000)}${']'.repeat(200_000)}]`);
    s.send({ type: 'audio_chunk', seq: Number.MAX_SAFE_INTEGER * 4, data: '' });
    const errs = await s.next('error', 6);
    expect(errs.map((e) => e.code)).toEqual([
      'BAD_MESSAGE',
      'BAD_MESSAGE',
      'BAD_MESSAGE',
      'BAD_MESSAGE',
      'BAD_MESSAGE',
      'BAD_MESSAGE',
    ]);
    expect(errs[1]).toMatchObject({ field: 'byte_rate' });
    expect(errs[3]).toMatchObject({ field: 'features' });
    s.send({ ...init, byte_rate: 4000 });
    await s.next('session_init_ack');
    expect(s.closed).toBeNull();
    s.close();
    await alive();
    await expectCorrectResults(honest, 2);
  });

  it('sockets that never complete session_init / node_register are closed after the deadline', async () => {
    const silentSession = await RawPeer.connect(`${base}/ws/session`);
    const silentNode = await RawPeer.connect(`${base}/ws/node`);
    const chatty = await RawPeer.connect(`${base}/ws/session`);
    chatty.send({ type: 'client_heartbeat', ts: 1 }); // talks, but never initialises
    for (const p of [silentSession, silentNode, chatty]) await until(() => p.closed, 'close', 30_000);
    expect(silentSession.closed).toMatchObject({ code: 1008, reason: 'session_init timeout' });
    expect(silentNode.closed).toMatchObject({ code: 1008, reason: 'node_register timeout' });
    expect(chatty.closed?.code).toBe(1008);
    expect(silentSession.ofType('error')).toMatchObject([{ code: 'NOT_INITIALIZED' }]);
    expect(silentNode.ofType('error')).toMatchObject([{ code: 'NODE_NOT_REGISTERED' }]);
    // the honest ones, initialised long ago, are untouched
    expect(honest.closed).toBeNull();
    expect(node.closed).toBeNull();
    await expectCorrectResults(honest, 1);
  });

  it('over the cap of not-yet-initialised connections, upgrades get 503; room comes back', async () => {
    const held = await Promise.all(Array.from({ length: PENDING_CAP }, () => tryUpgrade(`${base}/ws/node`)));
    expect(held.map((h) => h.status)).toEqual(Array(PENDING_CAP).fill(101));
    expect((await tryUpgrade(`${base}/ws/session`)).status).toBe(503);
    expect((await tryUpgrade(`${base}/ws/node`)).status).toBe(503);
    await expectCorrectResults(honest, 1);
    // one held socket registers: it no longer counts, so one new connection fits
    const first = held[0]!.ws!;
    const acked = new Promise((r) =>
      first.on('message', (d) => String(d).includes('node_register_ack') && r(true)),
    );
    first.send(
      JSON.stringify({
        type: 'node_register',
        node_id: `sec-extra-${transport}`,
        services: ['asr', 'nmt'],
        asr_langs: ['de'],
        tts_langs: ['fr'],
        max_concurrent_jobs: 1,
      }),
    );
    await acked;
    const again = await tryUpgrade(`${base}/ws/session`);
    expect(again.status).toBe(101);
    for (const h of [...held, again]) h.ws?.close();
    const text = await (await fetch(`http://127.0.0.1:${gw.port}/metrics`)).text();
    expect(text).toMatch(/lingua_connections_refused_total\{[^}]*reason="pending_cap"[^}]*\} [1-9]/);
  });

  it('rejected frames count toward the abuse limit: 5,000 frames before registering close the socket', async () => {
    const n = await RawPeer.connect(`${base}/ws/node`);
    const frame = JSON.stringify({ type: 'job_accepted', job_id: 'j.1', attempt: 1 });
    for (let i = 0; i < 5000 && n.ws.readyState === n.ws.OPEN; i++) n.send(frame);
    await until(() => n.closed, 'close', 30_000);
    expect(n.closed).toMatchObject({ code: 1008, reason: 'too many rejected frames' });
    const errs = n.ofType('error');
    expect(errs.length).toBeLessThanOrEqual(ABUSE_LIMIT + 1);
    expect(errs.every((e) => e.code === 'NODE_NOT_REGISTERED')).toBe(true);

    // an initialised session that keeps sending refused frames is closed the same way
    const s = await honestSession(`${base}/ws/session`);
    s.send({ type: 'session_close' });
    await until(() => s.closed, 'closed after session_close');
    const s2 = await honestSession(`${base}/ws/session`);
    for (let i = 0; i < ABUSE_LIMIT + 5 && s2.ws.readyState === s2.ws.OPEN; i++) {
      s2.send({
        type: 'session_init',
        src_lang: 'zh',
        tgt_lang: 'en',
        audio_format: 'pcm16',
        sample_rate: 16000,
      });
    }
    await until(() => s2.closed, 'close', 30_000);
    expect(s2.closed).toMatchObject({ code: 1008, reason: 'too many rejected frames' });
    await alive();
    await expectCorrectResults(honest, 2);
  });
});
