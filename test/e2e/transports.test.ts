/**
 * The two transports in one cluster: gw-1 on native uWS where its binary loads (else the node
 * transport), gw-2 always on `ws` + `node:http`. Sessions and nodes on either side, a resume
 * from one implementation to the other, and the dashboard's event stream on both: the suite's
 * e2e flows hold on each implementation without running every suite twice.
 */
import { LinguaSession } from '@lingua/client-sdk';
import { createSimNode, simulatedOutput } from '@lingua/node-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRANSPORTS } from '../security/support';
import { adminHeaders, nodeToken, sessionToken } from '../support/auth';
import { startGateways, type TestCluster } from '../support/gateways';
import { until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let a: TestCluster;
let b: TestCluster;
const prefix = `lingua:test:mixed:${Math.random().toString(36).slice(2, 8)}:`;

beforeAll(async () => {
  redis = await startRedis();
  a = await startGateways(redis.url, 1, {
    keyPrefix: prefix,
    instanceId: 'gw-a',
    transport: TRANSPORTS.at(-1)!,
  });
  b = await startGateways(redis.url, 1, { keyPrefix: prefix, instanceId: 'gw-b', transport: 'node' });
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await redis?.stop();
});

const utterance = (s: number, k: number) => new Uint8Array(960).fill((31 * s + k) % 256);

describe('a cluster mixing both transports', () => {
  it('reports each transport; sessions on either side get correct results in order', async () => {
    expect(a.gateways[0]!.native).toBe(TRANSPORTS.includes('uws'));
    expect(b.gateways[0]!.native).toBe(false);
    const token = await nodeToken('mixed-*');
    const sessionTok = await sessionToken();
    const nodes = [a, b].map((c, i) =>
      createSimNode({ urls: c.urls('node'), nodeId: `mixed-${i}`, token, latencyMs: [5, 20] }),
    );
    await Promise.all(nodes.map((n) => n.start()));
    const sessions = [a, b, a, b].map(
      (c) => new LinguaSession({ urls: c.urls('session'), srcLang: 'zh', tgtLang: 'en', token: sessionTok }),
    );
    const results = sessions.map(() => [] as { utterance_index: number; text_asr: string }[]);
    sessions.forEach((s, i) => {
      s.on('result', (r) => results[i]!.push(r));
    });
    await Promise.all(sessions.map((s) => s.start()));
    sessions.forEach((s, i) => {
      for (let k = 0; k < 5; k++) s.sendUtterance(utterance(i, k));
    });
    await until(() => results.every((r) => r.length === 5), '4 × 5 results', 30_000);
    results.forEach((rs, i) => {
      expect(rs.map((r) => r.utterance_index)).toEqual([0, 1, 2, 3, 4]);
      for (const [k, r] of rs.entries()) {
        expect(r.text_asr).toBe(simulatedOutput(Buffer.from(utterance(i, k)), 'zh', 'en', false).text_asr);
      }
    });
    await Promise.all(sessions.map((s) => s.close()));
    await Promise.all(nodes.map((n) => n.close()));
  });

  it('a session resumes from one implementation onto the other without loss or duplicates', async () => {
    const node = createSimNode({
      urls: b.urls('node'),
      nodeId: 'mixed-r',
      token: await nodeToken('mixed-r'),
      latencyMs: 10,
    });
    await node.start();
    const session = new LinguaSession({
      urls: [...a.urls('session'), ...b.urls('session')],
      srcLang: 'zh',
      tgtLang: 'en',
      token: await sessionToken(),
      reconnect: { initialMs: 20, maxMs: 200 },
    });
    const results: { utterance_index: number; text_asr: string }[] = [];
    session.on('result', (r) => results.push(r));
    const reconnected: string[] = [];
    session.on('reconnected', (ack) => reconnected.push(ack.instance_id));
    const ack = await session.start();
    expect(ack.instance_id).toBe('gw-a');
    for (let k = 0; k < 3; k++) session.sendUtterance(utterance(9, k));
    await until(() => results.length >= 3, '3 results');
    const actor = a.gateways[0]!.ctx.sessions.get(ack.session_id)!;
    (actor as unknown as { transport: { close(c: number, r: string): void } }).transport.close(
      4000,
      'test: drop',
    );
    await until(() => reconnected.length > 0, 'reconnect');
    expect(reconnected[0]).toBe('gw-b');
    for (let k = 3; k < 6; k++) session.sendUtterance(utterance(9, k));
    await until(() => results.length >= 6, '6 results', 15_000);
    expect(results.map((r) => r.utterance_index)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const [k, r] of results.entries()) {
      expect(r.text_asr).toBe(simulatedOutput(Buffer.from(utterance(9, k)), 'zh', 'en', false).text_asr);
    }
    await session.close();
    await node.close();
  });

  it('serves the dashboard feed (SSE) and the API on both', async () => {
    for (const c of [a, b]) {
      const port = c.gateways[0]!.port;
      const ctl = new AbortController();
      const r = await fetch(`http://127.0.0.1:${port}/api/v1/events`, {
        signal: ctl.signal,
        headers: adminHeaders(),
      });
      expect(r.headers.get('content-type')).toContain('text/event-stream');
      const reader = r.body!.getReader();
      let text = '';
      while (!text.includes('event: snapshot')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value!).toString();
      }
      expect(text).toContain(`"served_by":"${c.gateways[0]!.cfg.instanceId}"`);
      ctl.abort();
      const cluster = await (
        await fetch(`http://127.0.0.1:${port}/api/v1/cluster`, { headers: adminHeaders() })
      ).json();
      expect(cluster.served_by).toBe(c.gateways[0]!.cfg.instanceId);
    }
  });
});
