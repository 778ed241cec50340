// acme-client as the Lambda bundles take it: one CommonJS file of acme-client and its axios, built
// with the two plugins the CLI build uses (its crypto module on node:crypto instead of
// @peculiar/x509 1.x and asn1js; axios without the undici probes). The stack's NodejsFunctions run
// esbuild's command line, which takes no plugins, so they alias `acme-client` to this file instead
// (lib/bundling/esbuild-options.ts). Built once per content of its inputs into
// node_modules/.cache/rs-cert-watchdog/; `node acme-client-lean.mjs OUT` builds it (esbuild's JS API,
// where plugins run, in a process of its own: the CDK's synth is synchronous).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
// The lock file pins every package version inside the file (acme-client, axios, follow-redirects,
// debug, ...) and esbuild's own.
const INPUTS = [
  join(ROOT, 'package-lock.json'),
  join(ROOT, 'lib', 'bundling', 'esbuild-options.json'),
  join(HERE, 'acme-client-crypto.cjs'),
  join(HERE, 'acme-client-crypto-plugin.mjs'),
  join(HERE, 'axios-without-undici-plugin.mjs'),
  fileURLToPath(import.meta.url),
];

/** The built file for the current inputs, built now when it is not there yet. */
export function leanAcmeClientFile() {
  const hash = createHash('sha256');
  for (const file of INPUTS) hash.update(readFileSync(file));
  const out = join(
    ROOT,
    'node_modules',
    '.cache',
    'rs-cert-watchdog',
    `acme-client-lean-${hash.digest('hex').slice(0, 16)}.cjs`,
  );
  if (!existsSync(out))
    execFileSync(process.execPath, [fileURLToPath(import.meta.url), out], { stdio: 'inherit' });
  return out;
}

async function build(out) {
  const { build: esbuild } = await import('esbuild');
  const { acmeClientCryptoStub } = await import('./acme-client-crypto-plugin.mjs');
  const { axiosWithoutUndici } = await import('./axios-without-undici-plugin.mjs');
  const { lambda } = JSON.parse(readFileSync(join(ROOT, 'lib', 'bundling', 'esbuild-options.json'), 'utf8'));
  // The Lambda build's own aliases (form-data, node-forge), but not acme-client's: that is this file.
  const alias = Object.fromEntries(
    Object.entries(lambda.alias)
      .filter(([name]) => name !== 'acme-client')
      .map(([name, path]) => [name, join(ROOT, path)]),
  );
  mkdirSync(dirname(out), { recursive: true });
  const partial = `${out}.${process.pid}.tmp`;
  await esbuild({
    stdin: { contents: "module.exports = require('acme-client');", resolveDir: ROOT, loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: lambda.target,
    mainFields: ['main'],
    alias,
    plugins: [acmeClientCryptoStub, axiosWithoutUndici],
    outfile: partial,
    // Inline, so that the Lambda build maps through it: stack traces and the environment-read test
    // (test/lambda/bundle-environment.test.ts) still name acme-client's, axios' and debug's sources.
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'warning',
  });
  renameSync(partial, out); // whole or not at all: another process may be waiting for it
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: node lambdas/bundling/acme-client-lean.mjs OUT.cjs');
  await build(out);
}
