import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Tests start CLI processes and servers; on a loaded 2-core machine (8 engineers, load average
    // 20) one CLI call takes 5-10x its quiet time and e2e tests took up to 205 s. The limit only
    // catches hangs: no test may depend on finishing within a tight time.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // the JSON report lets .ci/run print a plain 'N passed, N failed' closing line
    reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
    maxWorkers: 2,
  },
});
