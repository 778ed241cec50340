// Builds the `rs-cert-watchdog` executable (dist/cli.mjs). Runs on `npm ci` through `prepare`.
//
// Everything is bundled (no module resolution in node_modules at start-up), and code split: the
// ACME client, the AWS SDK clients and the DNS providers are dynamic imports in the CLI, so they
// land in chunks loaded only by the paths that use them (an order, a credentialsSecret, Route 53).
import { chmodSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist/cli-chunks', { recursive: true, force: true });
await build({
  entryPoints: { cli: 'lambdas/cli/bin.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'cli-chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minifySyntax: true,
  // Error names are an interface (errors.ts sets them explicitly); keep class names readable in stacks.
  keepNames: true,
  sourcemap: 'linked',
  // acme-client and the AWS SDK are CommonJS: give their `require` of Node built-ins a real require.
  banner: {
    js: [
      '#!/usr/bin/env node',
      "import { createRequire as __rsCreateRequire } from 'node:module';",
      'const require = __rsCreateRequire(import.meta.url);',
    ].join('\n'),
  },
  logLevel: 'warning',
});
chmodSync('dist/cli.mjs', 0o755);
