import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../../../test/support/redis';
import {
  connectRedis,
  isScriptError,
  Keyspace,
  laneId,
  parseLaneId,
  type RedisClient,
  type RoomMember,
  RoomStore,
  ScriptErrorCode,
  utterancesPerMinute,
} from '../src/index';

const ks = new Keyspace({ prefix: 'lingua:rooms:', cells: 2, shards: 4 });
let server: RedisServer;
let redis: RedisClient;
let rooms: RoomStore;

beforeAll(async () => {
  server = await startRedis();
  redis = connectRedis({ url: server.url, role: 'worker' });
  rooms = new RoomStore(redis, ks, { maxMembers: 3, idleMs: 60_000, maxRoomsPerTenant: 2 });
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

const m = (sessionId: string, listens = 'en'): RoomMember => ({
  sessionId,
  displayName: sessionId.toUpperCase(),
  speaks: 'zh',
  listens,
  tgt: 'en',
  instance: 'gw-1',
  tts: false,
});

const T = 1_700_000_000_000;

describe('room scripts', () => {
  it('a member wanting speech is stored as such; a record written before v1.10 decodes as not wanting it', async () => {
    await rooms.join('acme', 'tts', { ...m('a'), tts: true });
    await rooms.join('acme', 'tts', m('b'));
    // A member record as a v1.9 gateway wrote it (no `v`).
    await redis.hset(
      ks.roomMembers('acme', 'tts'),
      'c',
      JSON.stringify({ n: 'C', s: 'zh', l: 'en', t: 'en', i: 'gw-0' }),
    );
    expect(await redis.hget(ks.roomMembers('acme', 'tts'), 'b')).not.toContain('"v"');
    const ls = await rooms.fanout('acme', 'tts', 'b', 0, T);
    expect(Object.fromEntries(ls.map((l) => [l.sessionId, l.tts]))).toEqual({ a: true, c: false });
    for (const s of ['a', 'b', 'c']) await rooms.leave('acme', 'tts', s);
    await rooms.forget('acme', 'tts');
  });

  it('join is idempotent and bounded; fan-out gives each listener its first index once; leave cleans up', async () => {
    expect((await rooms.join('acme', 'r1', m('a'))).status).toBe('joined');
    expect((await rooms.join('acme', 'r1', m('a', 'fr'))).status).toBe('rejoined');
    await rooms.join('acme', 'r1', m('b'));
    const three = await rooms.join('acme', 'r1', m('c'));
    expect(three.members.map((x) => x.sessionId).sort()).toEqual(['a', 'b', 'c']);
    expect(three.members.find((x) => x.sessionId === 'a')?.listens).toBe('fr');
    const full = await rooms.join('acme', 'r1', m('d')).catch((e) => e);
    expect(isScriptError(full, ScriptErrorCode.ROOM_FULL)).toBe(true);
    // Another tenant's room of the same id is another room.
    expect((await rooms.join('other', 'r1', m('d'))).members).toHaveLength(1);

    const f5 = await rooms.fanout('acme', 'r1', 'a', 5, T);
    expect(f5.map((l) => [l.sessionId, l.first]).sort()).toEqual([
      ['b', 5],
      ['c', 5],
    ]);
    const f6 = await rooms.fanout('acme', 'r1', 'a', 6, T);
    expect(f6.every((l) => l.first === 5)).toBe(true);
    const notMember = await rooms.fanout('acme', 'r1', 'zz', 0, T).catch((e) => e);
    expect(isScriptError(notMember, ScriptErrorCode.NOT_MEMBER)).toBe(true);

    // Leaving forgets b's first indexes; re-joining starts at the next fan-out.
    expect((await rooms.leave('acme', 'r1', 'b')).removed).toBe(true);
    expect((await rooms.leave('acme', 'r1', 'b')).removed).toBe(false);
    await rooms.join('acme', 'r1', m('b'));
    const f7 = await rooms.fanout('acme', 'r1', 'a', 7, T);
    expect(Object.fromEntries(f7.map((l) => [l.sessionId, l.first]))).toEqual({ b: 7, c: 5 });

    // The room keys carry the idle TTL.
    for (const k of [ks.roomMembers('acme', 'r1'), ks.roomFirst('acme', 'r1'), ks.roomStats('acme', 'r1')]) {
      const ttl = await redis.pttl(k);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
    // The last one out deletes the room.
    for (const id of ['a', 'b', 'c']) await rooms.leave('acme', 'r1', id);
    expect(
      await redis.exists(
        ks.roomMembers('acme', 'r1'),
        ks.roomFirst('acme', 'r1'),
        ks.roomStats('acme', 'r1'),
      ),
    ).toBe(0);
  });

  it('counts each utterance once per minute bucket: a re-plan or re-sent index does not count again', async () => {
    const min = (n: number) => n * 60_000;
    await rooms.join('acme', 'stats', m('a'));
    await rooms.join('acme', 'stats', m('b'));
    const at = min(1000) + 30_000; // half way through minute 1000
    for (const i of [0, 1, 2]) await rooms.fanout('acme', 'stats', 'a', i, at);
    await rooms.fanout('acme', 'stats', 'a', 1, at); // re-plan of an older index
    await rooms.fanout('acme', 'stats', 'a', 2, at); // the same index re-sent
    await rooms.fanout('acme', 'stats', 'b', 0, at + 1000);
    const list = async (now: number) => (await rooms.list(1000, now)).find((r) => r.room === 'stats')!;
    expect((await list(at + 1000)).utterancesPerMin).toBe(4);
    // Next minute: one more; the previous minute's 4 weigh by what is left of the window.
    await rooms.fanout('acme', 'stats', 'a', 3, min(1001) + 15_000);
    expect((await list(min(1001) + 15_000)).utterancesPerMin).toBe(4);
    expect((await list(min(1002) + 30_000)).utterancesPerMin).toBe(0.5);
    expect((await list(min(1004))).utterancesPerMin).toBe(0);
    // A skipped minute resets the previous bucket.
    await rooms.fanout('acme', 'stats', 'b', 1, min(1005));
    expect((await list(min(1005))).utterancesPerMin).toBe(1);
    // A member that leaves takes its counter with it (bounded by the member limit).
    await rooms.leave('acme', 'stats', 'a');
    expect(await redis.hexists(ks.roomStats('acme', 'stats'), 's:a')).toBe(0);
    await rooms.leave('acme', 'stats', 'b');
    expect(await redis.exists(ks.roomStats('acme', 'stats'))).toBe(0);
  });

  it('utterances per minute: the sliding-window estimate from two buckets', () => {
    const now = 7 * 60_000 + 45_000; // 3/4 through minute 7
    expect(utterancesPerMinute({ b: null, c: 0, p: 0 }, now)).toBe(0);
    expect(utterancesPerMinute({ b: 7, c: 10, p: 8 }, now)).toBe(12);
    expect(utterancesPerMinute({ b: 6, c: 8, p: 3 }, now)).toBe(2);
    expect(utterancesPerMinute({ b: 5, c: 8, p: 3 }, now)).toBe(0);
  });

  it('lane ids round-trip and never parse from a plain session id', () => {
    const sid = '0b6f0a8e-1c1e-4a55-9b7a-0f8f3f4b2d11';
    expect(parseLaneId(laneId(sid, 'pt-BR'))).toEqual({ speaker: sid, lang: 'pt-BR' });
    expect(parseLaneId(sid)).toBeNull();
  });
});
