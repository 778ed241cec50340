/**
 * @peculiar/x509 (the local CA's signer, the AWS Private CA issuer's CSR) needs a Reflect metadata
 * polyfill installed before it loads, and a bundler does not keep a CommonJS polyfill's place in
 * the order of ES module imports: in dist/cli.mjs the polyfill's chunk had not run when the x509
 * chunk loaded, and every local-ca and aws-private-ca renewal failed. The product therefore loads
 * the library only through lambdas/adapters/local-ca/x509.ts's `loadX509()`, which awaits the
 * polyfill first. This checks, in the import graph esbuild builds for every Lambda handler (with
 * the stack's own options) and for the CLI, that nothing reaches @peculiar/x509 or tsyringe any
 * other way, so the ordering cannot come back. What the built CLI does with it is tested by running
 * it (test/integration/private-ca.test.ts).
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { lambdaBuildOptions } from '../../lib/bundling/esbuild-options';
import { importGraph as buildGraph } from '../support/import-graph';

const REPO = resolve(import.meta.dirname, '../..');
const LOADER = 'lambdas/adapters/local-ca/x509.ts';
/** The 2.x library the product signs with (acme-client carries its own 1.x, which loads its polyfill itself). */
const X509 = /^node_modules\/@peculiar\/x509\//;
const TSYRINGE = /^node_modules\/tsyringe\//;
/** Either copy of the library: the only importers tsyringe may have (besides itself). */
const X509_ANY = /^node_modules\/(acme-client\/node_modules\/)?@peculiar\/x509\//;
const REFLECT = /^node_modules\/reflect-metadata\//;

const entries = [
  ...readdirSync(join(REPO, 'lambdas/handlers'))
    .filter((f) => f.endsWith('.ts') && f !== 'events.ts')
    .map((f) => `lambdas/handlers/${f}`),
  'lambdas/cli/bin.ts',
];

const graphs = new Map<string, Promise<Metafile>>();

/** The import graph of one entry, built once per test file. */
function importGraph(entry: string): Promise<Metafile> {
  let graph = graphs.get(entry);
  if (!graph) {
    graph = buildGraph(entry, lambdaBuildOptions(REPO));
    graphs.set(entry, graph);
  }
  return graph;
}

describe('@peculiar/x509 loads only after its polyfill, in every bundle', () => {
  it.each(entries)('%s', async (entry) => {
    const { inputs } = await importGraph(entry);
    const offending: string[] = [];
    let loaderUsed = false;
    for (const [file, input] of Object.entries(inputs)) {
      for (const imported of input.imports) {
        const target = imported.path;
        if (file === LOADER) {
          loaderUsed = true;
          // The loader imports exactly these two, both on demand, the polyfill first (x509.ts).
          expect(imported.kind, `${file} → ${target}`).toBe('dynamic-import');
          expect(target).toMatch(new RegExp(`${X509.source}|${REFLECT.source}`));
          continue;
        }
        // tsyringe only from the library; the library only from the loader.
        if (X509.test(target) && !X509.test(file)) offending.push(`${file} → ${target} (${imported.kind})`);
        const fromLibrary = X509_ANY.test(file) || TSYRINGE.test(file);
        if (TSYRINGE.test(target) && !fromLibrary) offending.push(`${file} → ${target} (${imported.kind})`);
      }
    }
    expect(offending, 'imports that bypass loadX509()').toEqual([]);
    // Every bundle that carries the library carries the loader.
    const carriesX509 = Object.keys(inputs).some((f) => X509.test(f));
    expect(loaderUsed).toBe(carriesX509);
  });

  it('the issue function and the CLI carry it; check, push, verify, notify and the forwarder do not', async () => {
    const carries = async (entry: string) =>
      Object.keys((await importGraph(entry)).inputs).some((f) => X509.test(f));
    expect(await carries('lambdas/handlers/issue.ts')).toBe(true);
    expect(await carries('lambdas/cli/bin.ts')).toBe(true);
    for (const handler of ['check', 'push', 'verify', 'notify', 'slack-forwarder'])
      expect(await carries(`lambdas/handlers/${handler}.ts`), handler).toBe(false);
  });
});
