/**
 * Prometheus's own tools on the observability kit, run from the Prometheus image: the alert
 * rules parse (`promtool check rules`), each alert fires on the situation it describes and not
 * on a healthy cluster (`promtool test rules`), and the compose Prometheus config is valid.
 */
import { describe, expect, it } from 'vitest';
import { docker, ROOT } from './support/compose';

const IMAGE = 'prom/prometheus:v2.54.1';

function promtool(args: string[]): Promise<string> {
  return docker([
    'run',
    '--rm',
    '--network',
    'none',
    '-v',
    `${ROOT}/deploy/prometheus:/etc/prometheus:ro`,
    '-w',
    '/etc/prometheus',
    '--entrypoint',
    'promtool',
    IMAGE,
    ...args,
  ]);
}

describe('promtool', () => {
  it('check rules: alerts.yml is valid', async () => {
    const out = await promtool(['check', 'rules', 'alerts.yml']);
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('test rules: every alert fires when it should and stays quiet otherwise', async () => {
    const out = await promtool(['test', 'rules', 'alerts.test.yml']);
    expect(out).toMatch(/SUCCESS/);
  });

  it('check config: the compose Prometheus config and its rule file', async () => {
    const out = await promtool(['check', 'config', 'prometheus.yml']);
    expect(out).toMatch(/SUCCESS/);
  });
});
