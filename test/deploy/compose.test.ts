/**
 * docker-compose.cluster.yml as an operator runs it: Redis, 3 gateways behind nginx, 2
 * simulated nodes and Prometheus, from the production image, with credentials (fresh secrets
 * through a 0600 env file, tokens minted with the gateway's code). Every service reaches `healthy`
 * with its own check; sessions stream through nginx while one gateway is SIGKILLed (docker
 * kill) and another stopped (docker-compose stop: SIGTERM, graceful drain, exit 0); every
 * accepted utterance gets exactly one right result; nginx passes no session without a session
 * token, no session token on /ws/node and no admin call without the admin token; Prometheus
 * scrapes all three gateways and loaded the alert rules; teardown leaves nothing behind.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/peers';
import { ComposeProject } from './support/compose';
import { checkRefusals, deployCredentials } from './support/credentials';
import { expectCleanDrill, gatewayFaults, waitCluster, waitHealthy } from './support/drill';

const SERVICES = ['redis', 'gw1', 'gw2', 'gw3', 'lb', 'node1', 'node2', 'prometheus'];
const creds = await deployCredentials();
const project = new ComposeProject(['docker-compose.cluster.yml'], {}, creds.secrets);
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

describe('docker-compose.cluster.yml', () => {
  it('every service becomes healthy and the cluster forms behind nginx', async () => {
    expect(existsSync(project.secretEnvFile!), 'the env file is deleted after up').toBe(false);
    await waitHealthy(project, SERVICES);
    const view = await waitCluster(http, ['gw-1', 'gw-2', 'gw-3'], ['sim-1', 'sim-2'], creds.adminToken);
    expect(
      view.instances
        .filter((i) => i.alive)
        .map((i) => i.id)
        .sort(),
    ).toEqual(['gw-1', 'gw-2', 'gw-3']);
    // metrics stay on the private network
    expect((await fetch(`${http}/metrics`)).status).toBe(404);
    formed = true;
  });

  it('through nginx: no session without a token, no session token on /ws/node, no admin call without the admin token', async () => {
    expect(formed, 'the deployment did not form').toBe(true);
    const r = await checkRefusals(http, creds);
    expect(r.sessionWithoutToken).toMatchObject({ code: 1008, message: expect.stringMatching(/required/) });
    expect(r.sessionTokenOnNode).toMatchObject({
      code: 1008,
      message: expect.stringMatching(/session token/),
    });
    expect([r.adminWithoutToken, r.adminWrongToken, r.adminWithToken]).toEqual([401, 401, 200]);
  });

  it('Prometheus scrapes every gateway and loaded the alert rules', async () => {
    const prom = `http://${await project.hostPort('prometheus', 9090)}`;
    const targets = await until(
      async () => {
        const r = await fetch(`${prom}/api/v1/targets?state=active`).catch(() => null);
        if (!r?.ok) return null;
        const body = (await r.json()) as {
          data: { activeTargets: { labels: { instance: string }; health: string }[] };
        };
        const up = body.data.activeTargets.filter((t) => t.health === 'up').map((t) => t.labels.instance);
        return up.length === 3 ? up.sort() : null;
      },
      'Prometheus: 3 gateway targets up',
      120_000,
    );
    expect(targets).toEqual(['gw1:8080', 'gw2:8080', 'gw3:8080']);
    const rules = (await (await fetch(`${prom}/api/v1/rules`)).json()) as {
      data: { groups: { name: string; rules: { name: string; health: string }[] }[] };
    };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.length).toBeGreaterThan(5);
    expect(loaded.filter((r) => r.health === 'err')).toEqual([]);
  });

  it('sessions through nginx survive docker kill of one gateway and docker-compose stop of another', async () => {
    expect(formed, 'the deployment did not form').toBe(true);
    const r = await expectCleanDrill('compose', http, creds.sessionToken, gatewayFaults(project));
    expect(r.tally).toMatchObject({ lost: 0, duplicated: 0, wrong: 0, unaccepted: 0, accepted: r.sent });
  });
});
