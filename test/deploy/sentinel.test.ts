/**
 * The Redis Sentinel variant (deploy/compose/sentinel.yml): primary, replica, 3 sentinels;
 * gateways connect with redis+sentinel://. The base drill (one gateway killed, another stopped)
 * and then the Redis primary killed mid-load: the sentinels promote the replica, the gateways
 * follow, and every accepted utterance still gets exactly one right outcome.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/peers';
import { ComposeProject, docker } from './support/compose';
import { deployCredentials } from './support/credentials';
import { expectCleanDrill, gatewayFaults, waitCluster, waitHealthy } from './support/drill';

const SERVICES = [
  'redis',
  'redis-replica',
  'sentinel1',
  'sentinel2',
  'sentinel3',
  'gw1',
  'gw2',
  'gw3',
  'lb',
  'node1',
  'node2',
];
const creds = await deployCredentials();
const project = new ComposeProject(
  ['docker-compose.cluster.yml', 'deploy/compose/sentinel.yml'],
  {},
  creds.secrets,
);
let http = '';
/** set once the deployment formed: the drill has no point without it */
let formed = false;

async function primaryPerSentinel(): Promise<string> {
  return docker([
    'exec',
    await project.containerId('sentinel1'),
    'redis-cli',
    '-p',
    '26379',
    'sentinel',
    'get-master-addr-by-name',
    'lingua',
  ]);
}

beforeAll(async () => {
  await project.up(SERVICES);
  http = `http://${await project.hostPort('lb', 8080)}`;
});

afterAll(async () => {
  await project.down();
  expect(await project.leftovers()).toEqual([]);
});

describe('docker-compose.cluster.yml + deploy/compose/sentinel.yml', () => {
  it('the sentinels watch the primary and its replica; the gateways find it through them', async () => {
    await waitHealthy(project, SERVICES);
    expect((await primaryPerSentinel()).split('\n')[0]).toBe('redis');
    await until(
      async () =>
        /num-slaves\s+1\b/.test(
          (
            await docker([
              'exec',
              await project.containerId('sentinel1'),
              'redis-cli',
              '-p',
              '26379',
              'sentinel',
              'master',
              'lingua',
            ])
          ).replace(/\n/g, ' '),
        ),
      'sentinel1 sees one replica',
      60_000,
    );
    await waitCluster(http, ['gw-1', 'gw-2', 'gw-3'], ['sim-1', 'sim-2'], creds.adminToken);
    formed = true;
  });

  it('sessions survive gateway kill and stop, and the primary killed mid-load', async () => {
    expect(formed, 'the deployment did not form').toBe(true);
    const r = await expectCleanDrill('sentinel', http, creds.sessionToken, [
      ...gatewayFaults(project),
      {
        name: 'docker kill redis (the primary)',
        inject: async () => {
          await project.kill('redis');
          await until(
            async () => (await primaryPerSentinel().catch(() => '')).split('\n')[0] === 'redis-replica',
            'the sentinels to promote redis-replica',
            120_000,
          );
        },
      },
    ]);
    expect(r.tally).toMatchObject({ lost: 0, duplicated: 0, wrong: 0, unaccepted: 0, accepted: r.sent });
  });
});
