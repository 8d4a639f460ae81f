import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    setupFiles: ['test/support/setup.ts'],
    pool: 'forks',
    // Two cores: integration suites start real redis-server and gateway processes.
    maxWorkers: 2,
  },
});
