import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // Builds dist/cli.mjs once (the CLI tests run it as a process: test/support/cli-process.ts), and
    // Node 24 and the Lambda bundles (one cdk synth) when the run executes them.
    globalSetup: ['test/global-setup.ts'],
    // Handlers log and publish metrics through Powertools; tests assert on results, not on stdout.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: Pebble, the simulator and RSA key generation share them.
    maxWorkers: 2,
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
  },
});
