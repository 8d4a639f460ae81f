/**
 * Room member leases (room-leases.ts, room-touch-2): a member whose instance died leaves the
 * member list once nobody held it for LINGUA_ROOM_MEMBER_LEASE_MS, the others are told, members
 * that stay connected are never removed, and the vanished session can still resume and re-join.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, rawNode, type TestNode, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

const prefix = 'lingua:leases:';
const leaseMs = 1500;
let redis: RedisServer;
let cluster: TestCluster;
let node: TestNode;

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGateways(redis.url, 2, { keyPrefix: prefix, roomMemberLeaseMs: leaseMs });
  node = await rawNode(cluster.urls('node')[0]!, 'lease-node', { asr: ['zh'], tts: ['en'] });
});
afterAll(async () => {
  node?.close();
  await cluster?.stop();
  await redis?.stop();
});

const init = {
  type: 'session_init',
  src_lang: 'zh',
  tgt_lang: 'en',
  audio_format: 'pcm16',
  sample_rate: 16000,
};

async function member(url: string, name: string): Promise<RawPeer> {
  const peer = await RawPeer.connect(url);
  peer.send(init);
  await peer.next('session_init_ack');
  peer.send({ type: 'room_join', room_id: 'standup', display_name: name });
  await peer.next('room_joined');
  return peer;
}

describe('room member leases', () => {
  it('a member whose gateway died leaves after the lease; the others are told; it re-joins on resume', async () => {
    const doomed = await startGateways(redis.url, 1, {
      keyPrefix: prefix,
      instanceId: 'gw-doomed',
      roomMemberLeaseMs: leaseMs,
    });
    const [a, b] = [
      await member(cluster.urls('session')[0]!, 'a'),
      await member(cluster.urls('session')[1]!, 'b'),
    ];
    const c = await member(doomed.urls('session')[0]!, 'c');
    const [ack] = c.ofType('session_init_ack');
    const cid = String(ack!.session_id);
    const { ks } = cluster.gateways[0]!.ctx;
    const r = cluster.gateways[0]!.ctx.redis;
    const membersKey = ks.roomMembers('test-tenant', 'standup');
    expect((await r.hkeys(membersKey)).sort()).toHaveLength(3);

    await doomed.stop(); // ungraceful: no detach, no leave — the member vanishes
    const [leftA] = await a.next('room_member_left', 1, 20_000);
    const [leftB] = await b.next('room_member_left', 1, 20_000);
    expect(leftA).toMatchObject({ room_id: 'standup', session_id: cid });
    expect(leftB).toMatchObject({ room_id: 'standup', session_id: cid });
    expect(await r.hexists(membersKey, cid)).toBe(0);
    expect(await r.hexists(ks.roomStats('test-tenant', 'standup'), `a:${cid}`)).toBe(0);
    const expired = await Promise.all(cluster.gateways.map((g) => g.ctx.metrics.roomMembersExpired.get()));
    expect(expired.reduce((n, m) => n + (m.values[0]?.value ?? 0), 0)).toBe(1);
    // the members still held keep their leases: renewed, never removed
    const aid = String(a.ofType('session_init_ack')[0]!.session_id);
    const leaseOfA = async () => Number(await r.hget(ks.roomStats('test-tenant', 'standup'), `a:${aid}`));
    const first = await leaseOfA();
    await until(async () => (await leaseOfA()) > first, 'a renewed lease');
    expect(await r.hlen(membersKey)).toBe(2);

    // the vanished session resumes on a live gateway: back in the room, the others are told
    const again = await RawPeer.connect(cluster.urls('session')[0]!);
    again.send({
      ...init,
      resume: { session_id: cid, resume_token: ack!.resume_token, last_result_index: -1 },
    });
    await again.next('session_init_ack');
    const [rejoined] = await again.next('room_joined');
    expect((rejoined!.members as unknown[]).length).toBe(3);
    const joined = await a.next('room_member_joined', 3); // b, c, then c again
    expect(joined[2]).toMatchObject({ room_id: 'standup', member: { session_id: cid } });
    expect(await r.hexists(membersKey, cid)).toBe(1);
    for (const p of [a, b, again]) p.close();
  });
});
