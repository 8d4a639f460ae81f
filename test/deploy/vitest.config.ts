import { defineConfig } from 'vitest/config';

// `npm run test:deploy`: the deployment under Docker (docs/deploy.md#testing-the-deployment).
// One compose project at a time: the machine has two cores.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/deploy/**/*.test.ts'],
    globalSetup: ['test/deploy/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
