/**
 * The production image itself: runs as `node`, carries OCI labels and a health check, has only
 * production dependencies (no TypeScript, tsx or test tools), serves as gateway, simulated node
 * and CLI (`lingua` on PATH), and stays within 250 MB of its base image.
 */
import { describe, expect, it } from 'vitest';
import { docker, testImage } from './support/compose';

const MB = 1024 * 1024;

async function inspect(image: string, format: string): Promise<string> {
  return docker(['image', 'inspect', '--format', format, image]);
}

function run(...args: string[]): Promise<string> {
  return docker(['run', '--rm', '--network', 'none', testImage(), ...args]);
}

describe('the image', () => {
  it('runs as the unprivileged node user with labels, a health check and the gateway as default', async () => {
    const config = JSON.parse(await inspect(testImage(), '{{json .Config}}')) as {
      User: string;
      Labels: Record<string, string>;
      Healthcheck?: { Test: string[] };
      Cmd: string[];
      StopSignal?: string;
    };
    expect(config.User).toBe('node');
    expect(await run('id', '-u')).toBe('1000');
    for (const l of ['title', 'description', 'version', 'revision', 'licenses', 'base.name']) {
      expect(config.Labels[`org.opencontainers.image.${l}`], l).toBeTruthy();
    }
    expect(config.Healthcheck?.Test.join(' ')).toContain('lingua-probe');
    expect(config.Cmd).toEqual(['node', 'dist/gateway.js']);
    expect(config.StopSignal).toBe('SIGTERM');
  });

  it('has production dependencies only and no TypeScript sources', async () => {
    const modules = (await run('ls', '/app/node_modules')).split('\n');
    for (const dev of [
      'typescript',
      'tsx',
      'vitest',
      'esbuild',
      '@biomejs',
      'testcontainers',
      'playwright-core',
    ]) {
      expect(modules, dev).not.toContain(dev);
    }
    for (const prod of ['ioredis', 'bullmq', 'pino', 'prom-client', 'ws'])
      expect(modules, prod).toContain(prod);
    expect(
      await run(
        'find',
        '/app',
        '-name',
        '*.ts',
        '-not',
        '-name',
        '*.d.ts',
        '-not',
        '-path',
        '*/node_modules/*',
      ),
    ).toBe('');
  });

  it('serves as CLI and simulated node', async () => {
    expect(await run('lingua', '--help')).toMatch(/^Usage: lingua /);
    expect(await run('node', 'dist/sim-node.js', '--help')).toMatch(
      /^usage: (LINGUA_NODE_TOKEN=<node token> )?sim-main --url /,
    );
  });

  it('adds at most 250 MB to its base image', async () => {
    const size = Number(await inspect(testImage(), '{{.Size}}'));
    const base =
      (await inspect(testImage(), '{{index .Config.Labels "org.opencontainers.image.base.name"}}')) ||
      'node:24-trixie-slim';
    const baseSize = Number(await inspect(base, '{{.Size}}'));
    console.log(
      `image ${Math.round(size / MB)} MB, base ${base} ${Math.round(baseSize / MB)} MB, +${Math.round((size - baseSize) / MB)} MB`,
    );
    expect(size - baseSize).toBeLessThanOrEqual(250 * MB);
  });
});
