import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateways, type TestCluster } from '../support/gateways';
import { RawPeer, until } from '../support/peers';
import { type RedisServer, startRedis } from '../support/redis';

let redis: RedisServer;
let cluster: TestCluster;

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startGateways(redis.url, 1, { authToken: 's3cret', adminToken: 'adm1n' });
});
afterAll(async () => {
  await cluster?.stop();
  await redis?.stop();
});

describe('auth', () => {
  it('a session without a valid token gets UNAUTHORIZED and close 1008; with ?token= it works', async () => {
    const [url] = cluster.urls('session');
    const bad = await RawPeer.connect(`${url}?token=wrong`);
    const [err] = await bad.next('error');
    expect(err).toMatchObject({ code: 'UNAUTHORIZED' });
    await until(() => bad.closed, 'close');
    expect(bad.closed?.code).toBe(1008);
    const good = await RawPeer.connect(`${url}?token=s3cret`);
    good.send({ type: 'client_heartbeat', ts: 1 });
    await good.next('server_heartbeat');
    expect(good.closed).toBeNull();
    good.close();
  });

  it('a node with a wrong token is refused; admin routes need the bearer token', async () => {
    const node = await RawPeer.connect(cluster.urls('node')[0]!);
    node.send({
      type: 'node_register',
      node_id: 'n-x',
      token: 'nope',
      services: ['asr', 'nmt'],
      asr_langs: ['zh'],
      tts_langs: ['en'],
      max_concurrent_jobs: 1,
    });
    const [err] = await node.next('error');
    expect(err).toMatchObject({ code: 'UNAUTHORIZED' });
    await until(() => node.closed, 'close');
    expect(node.closed?.code).toBe(1008);
    const base = `http://127.0.0.1:${cluster.gateways[0]!.port}`;
    expect((await fetch(`${base}/api/v1/cluster`)).status).toBe(401);
    const ok = await fetch(`${base}/api/v1/cluster`, { headers: { authorization: 'Bearer adm1n' } });
    expect(ok.status).toBe(200);
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });
});
