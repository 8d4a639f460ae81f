import { configDefaults, defineConfig } from 'vitest/config';

// Tests that start real redis-server processes live under test/ and in the two cluster suites
// below; everything else in packages/*/test is pure and runs in seconds (`npm run test:unit`).
const needsRedis = ['packages/cluster/test/jobs.test.ts', 'packages/cluster/test/node-selection.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    setupFiles: ['test/support/setup.ts'],
    pool: 'forks',
    // Two cores: integration suites start real redis-server and gateway processes.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['packages/*/test/**/*.test.ts'], exclude: needsRedis },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [...needsRedis, 'test/**/*.test.ts'],
          // Docker: `npm run test:deploy` (test/deploy/vitest.config.ts)
          exclude: [...configDefaults.exclude, 'test/deploy/**'],
        },
      },
    ],
  },
});
