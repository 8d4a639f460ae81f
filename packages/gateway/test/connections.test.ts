/**
 * Connection-level bounds and guards, pure: SocketTransport over a fake connection (abuse
 * counting, init deadline, readiness, backpressure), the guard's rate-limited reporting, the
 * credentials upgrade hook and the query helpers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Authenticator, generateSecret, mintNodeToken, mintSessionToken, secretKey } from '../src/auth';
import { type ConnData, type ConnLimits, SocketTransport } from '../src/connections';
import { HandlerErrors } from '../src/handler-errors';
import { createMetrics } from '../src/metrics';
import { bearerToken, matchRoute, queryParam, safeDecode } from '../src/transport/http-util';
import type { UpgradeRequest, WsConn } from '../src/transport/types';
import { credentialsAuthorize } from '../src/upgrade-auth';

class FakeConn implements WsConn<ConnData> {
  sent: Record<string, unknown>[] = [];
  ended: { code: number; reason: string } | null = null;
  buffered = 0;
  closed = false;
  data = { kind: 'session', claims: {} } as ConnData;
  send(text: string) {
    this.sent.push(JSON.parse(text));
  }
  binary: Uint8Array[] = [];
  sendBinary(bytes: Uint8Array) {
    this.binary.push(bytes);
  }
  bufferedAmount() {
    return this.buffered;
  }
  end(code: number, reason: string) {
    this.closed = true;
    this.ended = { code, reason };
  }
  terminate() {
    this.closed = true;
  }
}

const LIMITS: ConnLimits = {
  maxBackpressureBytes: 1000,
  abuseLimit: 3,
  abuseWindowMs: 60_000,
  initTimeoutMs: 5000,
};

function make(kind: 'session' | 'node' = 'session', limits = LIMITS) {
  const conn = new FakeConn();
  let now = 0;
  const events = { settled: 0, refused: [] as string[] };
  const t = new SocketTransport(conn, kind, limits, {
    now: () => now,
    settled: () => {
      events.settled++;
    },
    refused: (r) => {
      events.refused.push(r);
    },
  });
  return { conn, t, events, advance: (ms: number) => (now += ms) };
}

describe('SocketTransport', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('closes 1008 once more than abuseLimit client-fault errors were sent within the window', () => {
    const { conn, t, events, advance } = make();
    t.send({ type: 'error', code: 'NOT_INITIALIZED', message: '' });
    t.send({ type: 'error', code: 'INTERNAL', message: '' }); // server-side: not counted
    t.send({ type: 'error', code: 'SEQ_GAP', message: '' }); // honest race: not counted
    t.send({ type: 'error', code: 'BAD_MESSAGE', message: '' });
    advance(61_000); // a new window
    t.send({ type: 'error', code: 'BAD_MESSAGE', message: '' });
    t.send({ type: 'error', code: 'SESSION_CLOSED', message: '' });
    t.send({ type: 'error', code: 'NOT_INITIALIZED', message: '' });
    expect(conn.ended).toBeNull();
    t.send({ type: 'error', code: 'NOT_INITIALIZED', message: '' });
    expect(conn.ended).toEqual({ code: 1008, reason: 'too many rejected frames' });
    expect(events.refused).toEqual(['abuse']);
    expect(t.send({ type: 'server_heartbeat', ts: 1 })).toBe(false);
  });

  it('an unready connection is told and closed at the init deadline; settled exactly once', () => {
    const { conn, t, events } = make('node');
    vi.advanceTimersByTime(4999);
    expect(conn.ended).toBeNull();
    vi.advanceTimersByTime(1);
    expect(conn.sent).toMatchObject([{ type: 'error', code: 'NODE_NOT_REGISTERED' }]);
    expect(conn.ended).toEqual({ code: 1008, reason: 'node_register timeout' });
    expect(events).toEqual({ settled: 1, refused: ['init_timeout'] });
    t.onClosed();
    expect(events.settled).toBe(1);
  });

  it('the ack makes it ready: no deadline afterwards, settled once', () => {
    const { conn, t, events } = make('session');
    t.send({ type: 'session_init_ack', session_id: 's' });
    expect(t.isReady).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(conn.ended).toBeNull();
    t.close(1000, 'bye');
    t.onClosed();
    expect(events.settled).toBe(1);
  });

  it('closing before ready settles once (the pending count cannot drift)', () => {
    const { t, events } = make();
    t.close(1000, 'x');
    t.onClosed();
    vi.advanceTimersByTime(10_000);
    expect(events).toEqual({ settled: 1, refused: [] });
  });

  it('over the backpressure limit it closes 1013 and reports send failure', () => {
    const { conn, t, events } = make();
    expect(t.send({ type: 'server_heartbeat', ts: 1 })).toBe(true);
    conn.buffered = 1001;
    expect(t.send({ type: 'server_heartbeat', ts: 2 })).toBe(false);
    expect(conn.ended?.code).toBe(1013);
    expect(events.refused).toEqual(['backpressure']);
  });
});

describe('HandlerErrors', () => {
  it('counts every error but logs once per interval per site, with the suppressed count', () => {
    let now = 0;
    const lines: Record<string, unknown>[] = [];
    const counted: string[] = [];
    const log = { error: (o: Record<string, unknown>) => lines.push(o) } as never;
    const h = new HandlerErrors(
      log,
      { handlerErrors: { inc: (l: { where: string }) => counted.push(l.where) } } as never,
      () => now,
      1000,
    );
    for (let i = 0; i < 100; i++) h.report('message', new Error('boom'));
    h.report('upgrade', new Error('other'));
    now = 1500;
    h.report('message', new Error('boom'));
    expect(counted).toHaveLength(102);
    expect(lines.map((l) => [l.where, l.suppressed])).toEqual([
      ['message', 0],
      ['upgrade', 0],
      ['message', 99],
    ]);
    expect(String(lines[0]!.stack).split('\n').length).toBeLessThanOrEqual(6);
  });
});

function upgradeReq(query: string, authorization = ''): UpgradeRequest {
  return {
    method: 'GET',
    path: '/ws/session',
    query,
    header: (n) => (n === 'authorization' ? authorization : ''),
    remoteAddress: '127.0.0.1',
  };
}

describe('credentials upgrade hook and query helpers', () => {
  it('takes the session token by query or bearer with its claims; refuses, never throws, otherwise', async () => {
    const [sessionSecret, nodeSecret] = [generateSecret(), generateSecret()];
    const auth = credentialsAuthorize(
      new Authenticator({ session: secretKey(sessionSecret), node: secretKey(nodeSecret), adminToken: '' }),
      createMetrics('gw-t', false, 'node'),
    );
    const tok = await mintSessionToken(secretKey(sessionSecret), { tenant: 'acme' }, { ttlSeconds: 60 });
    const nodeTok = await mintNodeToken(secretKey(nodeSecret), { nodeId: 'n-*' }, { ttlSeconds: 60 });
    expect(await auth('session', upgradeReq(`token=${tok}`))).toMatchObject({
      ok: true,
      claims: { tenant: 'acme' },
    });
    expect(await auth('session', upgradeReq('', `Bearer ${tok}`))).toMatchObject({
      ok: true,
      claims: { tenant: 'acme' },
    });
    for (const req of [
      upgradeReq('token=%E0%A4%A'),
      upgradeReq('token=wrong'),
      upgradeReq(''),
      upgradeReq(`token=${nodeTok}`),
    ]) {
      expect(await auth('session', req)).toMatchObject({ ok: false, code: 'UNAUTHORIZED', close: 1008 });
    }
    // Nodes: no token at the upgrade is fine (it comes in node_register); a wrong one is not.
    expect(await auth('node', upgradeReq(''))).toEqual({ ok: true, claims: { nodeToken: undefined } });
    expect(await auth('node', upgradeReq('', `Bearer ${nodeTok}`))).toEqual({
      ok: true,
      claims: { nodeToken: nodeTok },
    });
    expect(await auth('node', upgradeReq('', `Bearer ${tok}`))).toMatchObject({
      ok: false,
      code: 'UNAUTHORIZED',
    });
  });

  it('queryParam/safeDecode never throw; matchRoute handles params and wildcards', () => {
    expect(safeDecode('%E0%A4%A')).toBeUndefined();
    expect(queryParam('a=1&token=%E0%A4%A', 'token')).toBeUndefined();
    expect(queryParam('a=1', 'token')).toBe('');
    expect(queryParam('token=a%2Bb', 'token')).toBe('a+b');
    expect(bearerToken('token=%', 'Bearer h')).toBe('h');
    expect(matchRoute('/api/v1/jobs/:id', '/api/v1/jobs/j.1')).toEqual(['j.1']);
    expect(matchRoute('/api/v1/jobs/:id', '/api/v1/jobs/j.1/x')).toBeNull();
    expect(matchRoute('/dashboard', '/dashboard/')).toBeNull();
    expect(matchRoute('/*', '/anything/here')).toEqual([]);
  });
});
