/** The SDKs' shared connect/reconnect loop, over fake transports and fake timers. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Connection, type ConnectionHandlers, type Transport } from '../src/sdk/index';

interface Fake extends Transport {
  url: string;
  opts: unknown;
  sent: string[];
  closedWith: [number | undefined, string | undefined] | null;
}

function setup(extra: { transportOptions?: () => { token?: string } } = {}) {
  const made: Fake[] = [];
  const log: string[] = [];
  const handlers: ConnectionHandlers = {
    open: () => log.push('open'),
    text: (t) => log.push(`text:${t}`),
    lost: (code, reason) => log.push(`lost:${code}:${reason}`),
    fatal: (err, url) => log.push(`fatal:${url}:${err.message}`),
  };
  const conn = new Connection(
    {
      urls: ['ws://a', 'ws://b'],
      factory: (url, opts) => {
        const t: Fake = {
          url,
          opts,
          sent: [],
          closedWith: null,
          onopen: null,
          onmessage: null,
          onclose: null,
          send(text) {
            if (this.closedWith) throw new Error('closed');
            this.sent.push(text);
          },
          close(code, reason) {
            this.closedWith = [code, reason];
          },
        };
        made.push(t);
        return t;
      },
      reconnect: { initialMs: 100, maxMs: 1000, jitter: 0 },
      handshakeTimeoutMs: 5000,
      handshakeTimeoutReason: 'handshake timeout',
      ...extra,
    },
    handlers,
  );
  return { conn, made, log };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Connection', () => {
  it('reconnects to the next URL with exponential backoff, reset by established()', () => {
    const { conn, made, log } = setup();
    conn.connect();
    made[0]!.onopen?.();
    made[0]!.onmessage?.('hello');
    expect(conn.send('x')).toBe(true);
    expect(made[0]!.sent).toEqual(['x']);
    made[0]!.onclose?.(1006, 'gone');
    expect(conn.connected).toBe(false);
    expect(conn.send('y')).toBe(false);
    vi.advanceTimersByTime(99);
    expect(made).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(made.map((t) => t.url)).toEqual(['ws://a', 'ws://b']);
    made[1]!.onclose?.(1006, 'gone again');
    vi.advanceTimersByTime(200); // second attempt: 200 ms
    expect(made.map((t) => t.url)).toEqual(['ws://a', 'ws://b', 'ws://a']);
    conn.established();
    made[2]!.onclose?.(1006, 'after a handshake');
    vi.advanceTimersByTime(100); // back to the first delay
    expect(made).toHaveLength(4);
    expect(log).toEqual([
      'open',
      'text:hello',
      'lost:1006:gone',
      'lost:1006:gone again',
      'lost:1006:after a handshake',
    ]);
  });

  it('drops a connection whose handshake does not complete in time, and ignores its late events', () => {
    const { conn, made, log } = setup();
    conn.connect();
    made[0]!.onopen?.();
    vi.advanceTimersByTime(5000);
    expect(made[0]!.closedWith).toEqual([4000, 'handshake timeout']);
    expect(log).toEqual(['open', 'lost:4000:handshake timeout']);
    made[0]!.onclose?.(1000, 'late'); // abandoned: detached
    expect(log).toHaveLength(2);
    vi.advanceTimersByTime(100);
    made[1]!.onopen?.();
    conn.established();
    vi.advanceTimersByTime(60_000); // no deadline any more
    expect(made[1]!.closedWith).toBeNull();
  });

  it('drop() abandons the transport and reconnects; stop() ends everything and hands the socket back', () => {
    const { conn, made, log } = setup();
    conn.connect();
    conn.drop('server timeout');
    expect(made[0]!.closedWith).toEqual([4000, 'server timeout']);
    vi.advanceTimersByTime(100);
    expect(made).toHaveLength(2);
    const t = conn.stop();
    expect(t).toBe(made[1]);
    expect(made[1]!.closedWith).toBeNull(); // the owner closes it its own way
    made[1]!.onclose?.(1006, 'x');
    vi.advanceTimersByTime(60_000);
    expect(made).toHaveLength(2);
    expect(log).toEqual(['lost:4000:server timeout']);
  });

  it('a stop() from the lost handler (the owner closed) prevents the reconnect', () => {
    const { conn, made } = setup();
    let stopped = false;
    const c = new Connection(
      {
        urls: ['ws://a'],
        factory: (url) => {
          const t = { url, onopen: null, onmessage: null, onclose: null, send() {}, close() {} } as never;
          made.push(t);
          return t;
        },
        handshakeTimeoutMs: 1000,
        handshakeTimeoutReason: 'x',
      },
      {
        open() {},
        text() {},
        lost: () => {
          stopped = true;
          c.stop();
        },
        fatal() {},
      },
    );
    c.connect();
    made[0]!.onclose?.(1006, '');
    vi.advanceTimersByTime(60_000);
    expect(stopped).toBe(true);
    expect(made).toHaveLength(1);
    conn.stop();
  });

  it('passes per-attempt transport options, and reports a factory that throws', () => {
    let n = 0;
    const { conn, made } = setup({ transportOptions: () => ({ token: `t${++n}` }) });
    conn.connect();
    made[0]!.onclose?.(1006, '');
    vi.advanceTimersByTime(100);
    expect(made.map((t) => t.opts)).toEqual([{ token: 't1' }, { token: 't2' }]);
    conn.stop();

    const log: string[] = [];
    const bad = new Connection(
      {
        urls: ['ws://bad'],
        factory: () => {
          throw new Error('bad url');
        },
        handshakeTimeoutMs: 1000,
        handshakeTimeoutReason: 'x',
      },
      { open() {}, text() {}, lost() {}, fatal: (err, url) => log.push(`${url}: ${err.message}`) },
    );
    bad.connect();
    expect(log).toEqual(['ws://bad: bad url']);
    expect(bad.connected).toBe(false);
    const none = { open() {}, text() {}, lost() {}, fatal() {} };
    const noUrls = { urls: [], factory: () => made[0]!, handshakeTimeoutMs: 1, handshakeTimeoutReason: '' };
    expect(() => new Connection(noUrls, none)).toThrow(TypeError);
  });
});
