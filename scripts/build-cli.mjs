// Builds the `rs-cert-watchdog` executable (dist/cli.mjs). Runs on `npm ci` through `prepare`.
// The options are the CLI part of lib/bundling/esbuild-options.json, shared with the Lambda bundles
// and the benchmarks (plain JSON: no TypeScript runner is needed here).
import { chmodSync, readFileSync } from 'node:fs';
import { build } from 'esbuild';

const { cli } = JSON.parse(
  readFileSync(new URL('../lib/bundling/esbuild-options.json', import.meta.url), 'utf8'),
);

await build({
  ...cli,
  entryPoints: ['lambdas/cli/bin.ts'],
  outfile: 'dist/cli.mjs',
  logLevel: 'warning',
});
chmodSync('dist/cli.mjs', 0o755);
