import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionToken } from '../support/auth';
import { checkBoundedState } from '../support/bounded-state';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, rawNode, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let cluster: TestCluster;

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGateways(redis.url, 2, { roomMaxMembers: 2, tenantMaxRooms: 2, roomIdleMs: 1500 });
});
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

async function session(i: number, tenant?: string): Promise<RawPeer> {
  const url = cluster.urls('session')[i % 2]!;
  const peer = await RawPeer.connect(url, tenant ? { token: await sessionToken({ tenant }) } : {});
  peer.send({
    type: 'session_init',
    src_lang: 'zh',
    tgt_lang: 'en',
    audio_format: 'pcm16',
    sample_rate: 16000,
  });
  await peer.next('session_init_ack');
  return peer;
}

const join = (p: RawPeer, room: string) => p.send({ type: 'room_join', room_id: room });

describe('meeting room lifecycle', () => {
  it('limits, tenants, leaving on close, idle expiry: clear errors and no key left behind', async () => {
    const node = await rawNode(cluster.urls('node')[0]!, 'life-node', { asr: ['zh'], tts: ['en'] });
    const [a, b, c] = [await session(0), await session(1), await session(0)];
    join(a, 'one');
    await a.next('room_joined');
    join(b, 'one');
    await b.next('room_joined');
    // members per room
    join(c, 'one');
    const [full] = await c.next('error');
    expect(full).toMatchObject({ code: 'ROOM_FULL' });
    expect(full!.message).toContain('LINGUA_ROOM_MAX_MEMBERS');
    // rooms per tenant: 'one' and 'two' live, a third is refused
    join(c, 'two');
    await c.next('room_joined');
    const d = await session(1);
    join(d, 'three');
    const [tooMany] = await d.next('error');
    expect(tooMany).toMatchObject({ code: 'TOO_MANY_ROOMS' });
    expect(tooMany!.message).toContain('LINGUA_TENANT_MAX_ROOMS');
    // another tenant: its own rooms (same id, another room) and its own limit
    const other = await session(0, 'other-tenant');
    join(other, 'one');
    const [otherJoined] = await other.next('room_joined');
    expect(otherJoined!.members).toHaveLength(1);
    expect(a.ofType('room_member_joined')).toHaveLength(1); // b only

    // leave without a room, then a session that closes leaves its room
    d.send({ type: 'room_leave' });
    expect((await d.next('error', 2))[1]).toMatchObject({ code: 'NOT_IN_ROOM' });
    b.send({ type: 'session_close' });
    await b.next('session_closed');
    const [left] = await a.next('room_member_left');
    expect(left).toMatchObject({ room_id: 'one' });

    // idle expiry: 'two' has no speech; its keys expire and it stops counting
    const { ks } = cluster.gateways[0]!.ctx;
    const r = cluster.gateways[0]!.ctx.redis;
    await until(
      async () => (await r.exists(ks.roomMembers('test-tenant', 'two'))) === 0,
      'room "two" expired',
    );
    join(d, 'three');
    await d.next('room_joined');
    // a member speaking into an expired room is told it left
    await until(
      async () => (await r.exists(ks.roomMembers('test-tenant', 'one'))) === 0,
      'room "one" expired',
    );
    a.send({ type: 'utterance', seq: 0, data: Buffer.from('into the void '.repeat(8)).toString('base64') });
    expect((await a.next('room_left'))[0]).toMatchObject({ room_id: 'one' });
    await a.next('translation_result');

    for (const p of [a, c, d, other]) {
      p.send({ type: 'session_close' });
      await p.next('session_closed');
    }
    // Every room key is gone with its last member; nothing is left without a TTL.
    const roomKeys = await r.keys(`${ks.prefix}{r:*`);
    expect(roomKeys).toEqual([]);
    const report = await checkBoundedState(r, ks);
    expect(report.violations).toEqual([]);
    node.close();
  });

  it('room changes are rate limited per connection: RATE_LIMITED with retry_after_ms, the session stays usable', async () => {
    const tenant = 'churn-co';
    const p = await session(0, tenant);
    // join/leave 8 times at once: the first 5 pass (the burst), the rest are refused
    for (let i = 0; i < 4; i++) {
      join(p, 'churn');
      p.send({ type: 'room_leave' });
    }
    const limited = await until(() => {
      const errs = p.ofType('error').filter((e) => e.code === 'RATE_LIMITED');
      return errs.length >= 3 ? errs : null;
    }, 'three room changes refused');
    expect(limited[0]!.message).toMatch(/room changes/);
    expect(limited[0]!.retry_after_ms).toBeGreaterThan(0);
    expect(p.ofType('room_joined').length + p.ofType('room_left').length).toBe(5);
    expect(p.closed).toBeNull();
    p.close();
  });
});
