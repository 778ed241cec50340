// Builds the `rs-cert-watchdog` executable (dist/cli.mjs). Runs on `npm ci` through `prepare`.
// The options are the CLI part of lib/bundling/esbuild-options.json, shared with the Lambda bundles
// and the benchmarks (plain JSON: no TypeScript runner is needed here).
//
// Everything is bundled (no module resolution in node_modules at start-up), and code split: the
// ACME client, the AWS SDK clients and the DNS providers are dynamic imports in the CLI, so they
// land in chunks loaded only by the paths that use them (an order, a credentialsSecret, Route 53).
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { acmeClientCryptoStub } from '../lambdas/bundling/acme-client-crypto-plugin.mjs';
import { axiosWithoutUndici } from '../lambdas/bundling/axios-without-undici-plugin.mjs';

const { cli } = JSON.parse(
  readFileSync(new URL('../lib/bundling/esbuild-options.json', import.meta.url), 'utf8'),
);

/** Commander's `require('node:child_process')` (executable subcommands, unused) gets a stub: ~6 ms per start. */
const commanderWithoutChildProcess = {
  name: 'commander-without-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer)
        ? { path: fileURLToPath(new URL('../lambdas/bundling/child-process-unused.cjs', import.meta.url)) }
        : undefined,
    );
  },
};

// `--outdir DIR` builds the same executable elsewhere (a test's own copy, never half-rewritten by
// another test's build); the default is dist/.
const at = process.argv.indexOf('--outdir');
const outdir = at > 0 && process.argv[at + 1] ? process.argv[at + 1] : 'dist';
rmSync(`${outdir}/cli-chunks`, { recursive: true, force: true });
await build({
  ...cli,
  absWorkingDir: fileURLToPath(new URL('..', import.meta.url)), // the aliases are relative to the repository
  plugins: [commanderWithoutChildProcess, axiosWithoutUndici, acmeClientCryptoStub],
  entryPoints: { cli: 'lambdas/cli/bin.ts' },
  outdir,
  logLevel: 'warning',
});
chmodSync(`${outdir}/cli.mjs`, 0o755);
