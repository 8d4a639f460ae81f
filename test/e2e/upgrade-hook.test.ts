/**
 * The upgrade-time auth hook (`Gateway.start(cfg, log, { authorize })`): it sees the path, raw
 * query and headers, refuses with an HTTP status or a close code, and its claims reach the
 * connection (the tenant of the session's jobs comes from them).
 */
import { type Authorize, Gateway, loadConfig } from '@lingua/gateway';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCorrectResults, honestSession, tryUpgrade } from '../security/support';
import { INSECURE } from '../support/auth';
import { RawPeer, rawNode, type TestNode, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let gw: Gateway;
let node: TestNode;
const seen: { kind: string; path: string; query: string; key: string }[] = [];

const authorize: Authorize = (kind, req) => {
  seen.push({ kind, path: req.path, query: req.query, key: req.header('x-key') });
  if (kind === 'node') {
    return req.header('x-key') === 'node-ok' || req.query === 'key=node-ok'
      ? { ok: true }
      : { ok: false, status: 401, code: 'UNAUTHORIZED', message: 'node key required' };
  }
  const tenant = /(?:^|&)t=([a-z]+)/.exec(req.query)?.[1];
  return tenant
    ? { ok: true, claims: { tenant } }
    : { ok: false, status: 401, code: 'UNAUTHORIZED', message: 'tenant token required', close: 1008 };
};

beforeAll(async () => {
  redis = await startRedis();
  const cfg = loadConfig(
    {},
    {
      redisUrl: redis.url,
      keyPrefix: 'lingua:test:hook:',
      port: 0,
      host: '127.0.0.1',
      instanceId: 'gw-hook',
      logLevel: 'silent',
      // The hook alone decides here: no session/node/admin credentials configured.
      ...INSECURE,
      ...(process.env.LINGUA_TRANSPORT ? { transport: process.env.LINGUA_TRANSPORT } : {}),
    },
  );
  gw = await Gateway.start(cfg, pino({ level: 'silent' }), { authorize });
});
afterAll(async () => {
  node?.close();
  await gw?.stop(false);
  await redis?.stop();
});

describe('upgrade auth hook', () => {
  it('refuses by HTTP status or by close code, and attaches claims to the connection', async () => {
    const base = `ws://127.0.0.1:${gw.port}`;
    expect((await tryUpgrade(`${base}/ws/node`)).status).toBe(401);
    expect(seen.at(-1)).toEqual({ kind: 'node', path: '/ws/node', query: '', key: '' });
    node = await rawNode(`${base}/ws/node?key=node-ok`, 'hook-node');

    const refused = await RawPeer.connect(`${base}/ws/session?t=%E0%A4%A`);
    const [err] = await refused.next('error');
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', message: 'tenant token required' });
    await until(() => refused.closed, 'close');
    expect(refused.closed?.code).toBe(1008);
    expect(seen.at(-1)).toEqual({ kind: 'session', path: '/ws/session', query: 't=%E0%A4%A', key: '' });

    const s = await honestSession(`${base}/ws/session?t=acme`);
    await expectCorrectResults(s, 1);
    const [acc] = s.ofType('utterance_accepted');
    const job = await gw.ctx.store.getJob(String(acc!.job_id));
    expect(job?.tenant).toBe('acme');
    s.close();
  });
});
