/**
 * The Redis Cluster variant (deploy/compose/redis-cluster.yml): 3 masters with a replica each,
 * formed by a one-shot container; gateways on 16 cells and shards. The same drill as the base
 * file: sessions through nginx while one gateway is killed and another stopped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComposeProject, docker } from './support/compose';
import { deployCredentials } from './support/credentials';
import { expectCleanDrill, gatewayFaults, waitCluster, waitHealthy } from './support/drill';

const REDIS = ['redis', 'redis-2', 'redis-3', 'redis-4', 'redis-5', 'redis-6'];
const SERVICES = [...REDIS, 'redis-cluster-init', 'gw1', 'gw2', 'gw3', 'lb', 'node1', 'node2'];
const creds = await deployCredentials();
const project = new ComposeProject(
  ['docker-compose.cluster.yml', 'deploy/compose/redis-cluster.yml'],
  {},
  creds.secrets,
);
let http = '';
/** set once the deployment formed: the drill has no point without it */
let formed = false;

beforeAll(async () => {
  await project.up(SERVICES);
  http = `http://${await project.hostPort('lb', 8080)}`;
});

afterAll(async () => {
  await project.down();
  expect(await project.leftovers()).toEqual([]);
});

describe('docker-compose.cluster.yml + deploy/compose/redis-cluster.yml', () => {
  it('forms a 3-master cluster with replicas, and the gateways use it', async () => {
    await waitHealthy(
      project,
      SERVICES.filter((s) => s !== 'redis-cluster-init'),
    );
    expect(await project.state('redis-cluster-init')).toMatchObject({ status: 'exited', exitCode: 0 });
    const info = await docker(['exec', await project.containerId('redis'), 'redis-cli', 'cluster', 'info']);
    expect(info).toMatch(/cluster_state:ok/);
    expect(info).toMatch(/cluster_size:3/);
    expect(info).toMatch(/cluster_known_nodes:6/);
    // clients are sent to nodes by name (cluster-announce-hostname)
    const shards = await docker([
      'exec',
      await project.containerId('redis'),
      'redis-cli',
      'cluster',
      'shards',
    ]);
    for (const n of REDIS) expect(shards).toContain(n);
    await waitCluster(http, ['gw-1', 'gw-2', 'gw-3'], ['sim-1', 'sim-2'], creds.adminToken);
    // keys spread over every master (16 cells and shards)
    const counts = await Promise.all(
      ['redis', 'redis-2', 'redis-3', 'redis-4', 'redis-5', 'redis-6'].map(async (s) => {
        const role = await docker(['exec', await project.containerId(s), 'redis-cli', 'role']);
        if (!role.startsWith('master')) return -1;
        return Number(await docker(['exec', await project.containerId(s), 'redis-cli', 'dbsize']));
      }),
    );
    const masters = counts.filter((n) => n >= 0);
    expect(masters.length).toBe(3);
    for (const n of masters) expect(n).toBeGreaterThan(0);
    formed = true;
  });

  it('sessions through nginx survive docker kill of one gateway and docker-compose stop of another', async () => {
    expect(formed, 'the deployment did not form').toBe(true);
    const r = await expectCleanDrill('redis-cluster', http, creds.sessionToken, gatewayFaults(project));
    expect(r.tally).toMatchObject({ lost: 0, duplicated: 0, wrong: 0, unaccepted: 0, accepted: r.sent });
  });
});
