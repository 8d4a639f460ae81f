/**
 * test:deploy builds the production image once (deploy/Dockerfile) for every test file, unless
 * LINGUA_TEST_IMAGE names an image that exists already. Needs a Docker engine and
 * docker-compose, and the images the compose files name (node, redis, nginx, prom/prometheus).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, testImage } from './support/compose';

const run = promisify(execFile);

export default async function setup(): Promise<void> {
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 30_000 });
    await run('docker-compose', ['version', '--short'], { timeout: 30_000 });
  } catch (err) {
    throw new Error(
      `test:deploy needs a running Docker engine and docker-compose (see docs/deploy.md#testing-the-deployment): ${(err as Error).message}`,
    );
  }
  if (process.env.LINGUA_TEST_IMAGE) return;
  const logDir = join(ROOT, '.tmp');
  mkdirSync(logDir, { recursive: true });
  const started = Date.now();
  const revision = await run('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).then(
    (r) => r.stdout.trim(),
    () => 'unknown',
  );
  try {
    const { stdout, stderr } = await run(
      'docker',
      ['build', '-f', 'deploy/Dockerfile', '-t', testImage(), '--build-arg', `REVISION=${revision}`, '.'],
      { cwd: ROOT, timeout: 900_000, maxBuffer: 256 << 20 },
    );
    writeFileSync(join(logDir, 'deploy-test-build.log'), stdout + stderr);
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    writeFileSync(join(logDir, 'deploy-test-build.log'), `${e.stdout ?? ''}${e.stderr ?? ''}`);
    throw new Error(
      `docker build failed (log: .tmp/deploy-test-build.log):\n${(e.stderr ?? e.message).slice(-4000)}`,
    );
  }
  process.stdout.write(
    `test:deploy: built ${testImage()} in ${Math.round((Date.now() - started) / 1000)} s\n`,
  );
  // The legacy builder leaves the build stages behind as untagged images: drop them.
  await run('docker', ['image', 'prune', '-f', '--filter', 'label=org.lingua.stage=build'], {
    timeout: 120_000,
  }).catch(() => {});
}
