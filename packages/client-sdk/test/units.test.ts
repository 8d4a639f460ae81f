import { randomBytes } from 'node:crypto';
import {
  backoffDelay,
  fromBase64,
  fromBase64Portable,
  toBase64,
  toBase64Portable,
  webSocketTransportFactory,
} from '@lingua/protocol/sdk';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BufferFullError, UnackedAudio, type UnackedItem } from '../src/unacked';

describe('base64', () => {
  it('matches Buffer on both the Node path and the browser (btoa/atob) path', () => {
    for (const len of [0, 1, 2, 3, 4, 5, 255, 0x6000 - 1, 0x6000, 0x6000 + 1, 50_003]) {
      const bytes = new Uint8Array(randomBytes(len));
      const expected = Buffer.from(bytes).toString('base64');
      expect(toBase64(bytes)).toBe(expected);
      expect(toBase64Portable(bytes)).toBe(expected);
      expect(fromBase64(expected)).toEqual(bytes);
      expect(fromBase64Portable(expected)).toEqual(bytes);
    }
  });

  it('encodes only the view of a subarray', () => {
    const big = new Uint8Array(randomBytes(64));
    const view = big.subarray(5, 17);
    expect(toBase64(view)).toBe(Buffer.from(view).toString('base64'));
    expect(toBase64Portable(view)).toBe(Buffer.from(view).toString('base64'));
  });
});

describe('backoffDelay', () => {
  it('doubles from initialMs, caps at maxMs, and jitter only shortens', () => {
    const opts = { initialMs: 100, maxMs: 1000, jitter: 0 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, opts))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(0, {})).toBeLessThanOrEqual(100);
    expect(backoffDelay(50, {})).toBeLessThanOrEqual(5000);
    expect(backoffDelay(2, { initialMs: 100, jitter: 0.5 }, () => 1)).toBe(200);
    expect(backoffDelay(2, { initialMs: 100, jitter: 0.5 }, () => 0)).toBe(400);
  });
});

describe('webSocketTransportFactory', () => {
  afterEach(() => vi.unstubAllGlobals());

  /** Records which class was opened with which url; never connects. */
  const fakeSocket = (name: string, opened: string[]) =>
    class {
      readyState = 0;
      onopen = null;
      onmessage = null;
      onclose = null;
      onerror = null;
      constructor(url: string) {
        opened.push(`${name}:${url}`);
      }
      send() {}
      close() {}
    };

  it('prefers the global WebSocket, falls back to the injected class, else throws', () => {
    const opened: string[] = [];
    const factory = webSocketTransportFactory(fakeSocket('fallback', opened));
    vi.stubGlobal('WebSocket', undefined);
    factory('ws://a');
    vi.stubGlobal('WebSocket', fakeSocket('global', opened));
    factory('ws://b');
    expect(opened).toEqual(['fallback:ws://a', 'global:ws://b']);
    vi.stubGlobal('WebSocket', undefined);
    expect(() => webSocketTransportFactory()('ws://c')).toThrow(/no WebSocket/);
  });

  it('a token goes as a bearer header through the Node fallback, else into ?token=', () => {
    const opened: string[] = [];
    const withHeaders = class {
      readyState = 0;
      onopen = null;
      onmessage = null;
      onclose = null;
      onerror = null;
      constructor(url: string, opts?: { headers?: Record<string, string> }) {
        opened.push(`fallback:${url}:${opts?.headers?.authorization}`);
      }
      send() {}
      close() {}
    };
    vi.stubGlobal('WebSocket', fakeSocket('global', opened));
    webSocketTransportFactory(withHeaders)('ws://a/ws/session', { token: 't.k' });
    // No header-capable class (a browser): the token goes into the query.
    webSocketTransportFactory()('ws://b/ws/session?x=1', { token: 't k' });
    expect(opened).toEqual([
      'fallback:ws://a/ws/session:Bearer t.k',
      'global:ws://b/ws/session?x=1&token=t+k',
    ]);
  });
});

const chunk = (seq: number, isFinal = false, bytes = 10): UnackedItem => ({
  kind: 'chunk',
  seq,
  data: new TextEncoder().encode(`c${seq}`),
  isFinal,
  bytes,
});
/** A whole `utterance` message: a final chunk of its own. */
const utt = (seq: number, bytes = 10): UnackedItem => ({
  kind: 'chunk',
  seq,
  data: new TextEncoder().encode(`u${seq}`),
  isFinal: true,
  bytes,
  whole: true,
});
const names = (u: UnackedAudio) => u.list().map((it) => new TextDecoder().decode(it.data));

describe('UnackedAudio', () => {
  it('drops items covered by last_chunk_seq, any reason', () => {
    const u = new UnackedAudio(1000);
    for (let s = 0; s < 5; s++) u.add(chunk(s));
    u.onAccepted({ reason: 'pause', last_chunk_seq: 2 });
    expect(names(u)).toEqual(['c3', 'c4']);
    expect(u.bytes).toBe(20);
    u.onAccepted({ reason: 'max_duration', last_chunk_seq: 4 });
    expect(u.size).toBe(0);
    expect(u.bytes).toBe(0);
  });

  it('releases a whole utterance by its own seq, and the chunks before it', () => {
    const u = new UnackedAudio(1000);
    u.add(chunk(0));
    u.add(chunk(1, true));
    u.add(utt(2));
    u.add(chunk(3));
    u.add(utt(4));
    u.onAccepted({ reason: 'is_final', last_chunk_seq: 1 });
    expect(names(u)).toEqual(['u2', 'c3', 'u4']);
    u.onAccepted({ reason: 'is_final', last_chunk_seq: 2 });
    expect(names(u)).toEqual(['c3', 'u4']);
    // A replayed or late frame for something already released changes nothing.
    u.onAccepted({ reason: 'is_final', last_chunk_seq: 1 });
    u.onAccepted({ reason: 'is_final' });
    expect(names(u)).toEqual(['c3', 'u4']);
    // Utterance 4 finalizes the open chunk 3 with it.
    u.onAccepted({ reason: 'is_final', last_chunk_seq: 4 });
    expect(u.size).toBe(0);
    expect(u.bytes).toBe(0);
  });

  it('on resume keeps exactly the items above last_accepted_seq, chunks and utterances in order', () => {
    const u = new UnackedAudio(1000);
    u.add(chunk(0));
    u.add(utt(1));
    u.add(chunk(2));
    u.add(utt(3));
    u.add(utt(4));
    u.add(chunk(5));
    expect(u.onResume(3).map((it) => [new TextDecoder().decode(it.data), it.seq])).toEqual([
      ['u4', 4],
      ['c5', 5],
    ]);
    expect(u.bytes).toBe(20);
    expect(u.onResume(-1).map((it) => it.seq)).toEqual([4, 5]);
    expect(u.onResume(5)).toEqual([]);
    expect(u.bytes).toBe(0);
  });

  it('enforces maxBytes without taking the item', () => {
    const u = new UnackedAudio(25);
    u.add(chunk(0));
    u.add(chunk(1));
    expect(() => u.add(chunk(2))).toThrow(BufferFullError);
    expect(u.size).toBe(2);
    const err = (() => {
      try {
        u.reserve(6);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(BufferFullError);
    expect((err as BufferFullError).code).toBe('BUFFER_FULL');
    expect((err as Error).message).toMatch(/maxBufferedBytes/);
    u.reserve(5);
  });
});
