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
});

describe('room scripts', () => {
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

    const f5 = await rooms.fanout('acme', 'r1', 'a', 5);
    expect(f5.map((l) => [l.sessionId, l.first]).sort()).toEqual([
      ['b', 5],
      ['c', 5],
    ]);
    const f6 = await rooms.fanout('acme', 'r1', 'a', 6);
    expect(f6.every((l) => l.first === 5)).toBe(true);
    const notMember = await rooms.fanout('acme', 'r1', 'zz', 0).catch((e) => e);
    expect(isScriptError(notMember, ScriptErrorCode.NOT_MEMBER)).toBe(true);

    // Leaving forgets b's first indexes; re-joining starts at the next fan-out.
    expect((await rooms.leave('acme', 'r1', 'b')).removed).toBe(true);
    expect((await rooms.leave('acme', 'r1', 'b')).removed).toBe(false);
    await rooms.join('acme', 'r1', m('b'));
    const f7 = await rooms.fanout('acme', 'r1', 'a', 7);
    expect(Object.fromEntries(f7.map((l) => [l.sessionId, l.first]))).toEqual({ b: 7, c: 5 });

    // Both room keys carry the idle TTL.
    for (const k of [ks.roomMembers('acme', 'r1'), ks.roomFirst('acme', 'r1')]) {
      const ttl = await redis.pttl(k);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
    // The last one out deletes the room.
    for (const id of ['a', 'b', 'c']) await rooms.leave('acme', 'r1', id);
    expect(await redis.exists(ks.roomMembers('acme', 'r1'), ks.roomFirst('acme', 'r1'))).toBe(0);
  });

  it('lane ids round-trip and never parse from a plain session id', () => {
    const sid = '0b6f0a8e-1c1e-4a55-9b7a-0f8f3f4b2d11';
    expect(parseLaneId(laneId(sid, 'pt-BR'))).toEqual({ speaker: sid, lang: 'pt-BR' });
    expect(parseLaneId(sid)).toBeNull();
  });
});
