/**
 * The CLI's stand-in for acme-client's crypto module (lambdas/bundling/acme-client-crypto.cjs, via
 * the esbuild plugin beside it) answers as the original does for every helper acme-client's
 * protocol code calls, and the CLI's ACME path no longer reaches an ASN.1 framework: in the import
 * graph of dist/cli.mjs as scripts/build-cli.mjs builds it, nothing but the local CA's loader
 * (lambdas/adapters/local-ca/x509.ts, off the ACME path) reaches @peculiar/*, asn1js, pvtsutils,
 * tsyringe or reflect-metadata.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import acme from 'acme-client';
import type { BuildOptions, Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { acmeClientCryptoStub } from '../../lambdas/bundling/acme-client-crypto-plugin.mjs';
import { lambdaBuildOptions } from '../../lib/bundling/esbuild-options';
import { importGraph } from '../support/import-graph';
import { createCa, issueCert } from '../support/pki';

const require = createRequire(import.meta.url);
const stub = require('../../lambdas/bundling/acme-client-crypto.cjs') as typeof acme.crypto;
const REPO = resolve(import.meta.dirname, '../..');

describe("the stand-in for acme-client's crypto module", () => {
  it('gives the same JWK, PEM split, PEM body and certificate info as acme-client', async () => {
    const rsa = await acme.crypto.createPrivateRsaKey();
    const ec = await acme.crypto.createPrivateEcdsaKey('P-384');
    for (const key of [rsa, ec]) {
      expect(JSON.stringify(stub.getJwk(key))).toBe(JSON.stringify(acme.crypto.getJwk(key)));
      expect(JSON.stringify(stub.getJwk(key.toString()))).toBe(JSON.stringify(acme.crypto.getJwk(key)));
    }
    const ca = await createCa({ commonName: 'Example CA' });
    const leaf = await issueCert({
      ca,
      commonName: 'leaf.example.com',
      dnsNames: ['leaf.example.com', '*.leaf.example.com'],
    });
    const chain = `${leaf.certPem}\n${ca.certPem}`;
    expect(stub.splitPemChain(chain).map((p) => p.trim())).toEqual(
      acme.crypto.splitPemChain(chain).map((p) => p.trim()),
    );
    expect(stub.splitPemChain(Buffer.from(chain))).toHaveLength(2);
    expect(stub.getPemBodyAsB64u(chain)).toBe(acme.crypto.getPemBodyAsB64u(chain));
    const [, csr] = await acme.crypto.createCsr({ commonName: 'a.example.com' }, ec);
    expect(stub.getPemBodyAsB64u(csr)).toBe(acme.crypto.getPemBodyAsB64u(csr));
    expect(() => stub.getPemBodyAsB64u('no PEM here')).toThrow(/Unable to parse PEM body/);
    const ours = stub.readCertificateInfo(chain);
    const theirs = acme.crypto.readCertificateInfo(chain);
    expect(ours.issuer).toEqual(theirs.issuer);
    expect(ours.domains).toEqual(theirs.domains);
    expect(ours.notBefore.getTime()).toBe(theirs.notBefore.getTime());
    expect(ours.notAfter.getTime()).toBe(theirs.notAfter.getTime());
  });

  it('refuses, by name, the helpers rs-cert-watchdog does not use', async () => {
    expect(() => stub.createCsr({ commonName: 'x' })).toThrow(/acme-client-crypto\.cjs.*node:crypto/);
    expect(() => stub.readCsrDomains('')).toThrow(/readCsrDomains is not bundled/);
  });
});

const FRAMEWORK =
  /^node_modules\/(acme-client\/node_modules\/)?(@peculiar\/|asn1js\/|pvtsutils\/|pvutils\/|tsyringe\/|reflect-metadata\/)/;
const X509_LOADER = 'lambdas/adapters/local-ca/x509.ts';

describe('the CLI’s ACME path carries no ASN.1 framework', () => {
  it('only the local CA’s loader reaches @peculiar/x509 and its dependencies', async () => {
    const { cli } = require('../../lib/bundling/esbuild-options.json') as { cli: BuildOptions };
    const entry = 'lambdas/cli/bin.ts';
    const reached = await reachedFrom(entry, { ...cli, plugins: [acmeClientCryptoStub] });
    expect([...reached].filter((f) => FRAMEWORK.test(f))).toEqual([]);
    // The issuer and acme-client are in the graph, acme-client's own crypto module is not.
    expect(reached.has('lambdas/adapters/acme/issuer.ts')).toBe(true);
    expect(reached.has('node_modules/acme-client/src/client.js')).toBe(true);
    expect(reached.has('node_modules/acme-client/src/crypto/index.js')).toBe(false);
    expect(reached.has('lambdas/bundling/acme-client-crypto.cjs')).toBe(true);
    // Without the plugin the same graph does reach them: the check above can fail.
    const plainReached = await reachedFrom(entry, cli);
    expect([...plainReached].some((f) => FRAMEWORK.test(f))).toBe(true);
  });
});

describe('the issue function’s ACME path carries no ASN.1 framework either', () => {
  it('its bundle takes acme-client prebuilt with the same stand-in, and axios without undici', async () => {
    const options = lambdaBuildOptions(REPO);
    const lean = options.alias['acme-client'] as string;
    expect(lean).toMatch(/acme-client-lean-[0-9a-f]{16}\.cjs$/);
    const entry = 'lambdas/handlers/issue.ts';
    const reached = await reachedFrom(entry, options);
    expect([...reached].filter((f) => FRAMEWORK.test(f))).toEqual([]);
    expect(reached.has('lambdas/adapters/acme/issuer.ts')).toBe(true);
    expect([...reached].some((f) => f.endsWith(lean.slice(lean.lastIndexOf('/'))))).toBe(true);
    // What the prebuilt file holds: the stand-in and the patched axios, not acme-client's crypto.
    const text = readFileSync(lean, 'utf8');
    expect(text).toContain('lambdas/bundling/acme-client-crypto.cjs');
    expect(text).not.toContain('node_modules/acme-client/src/crypto/index.js');
    expect(text).not.toMatch(/G\.FormData/);
    expect(text).toContain('node_modules/acme-client/src/client.js');
    // Without the alias the same entry does reach them: the check above can fail.
    const { 'acme-client': _dropped, ...plainAlias } = options.alias;
    const plainReached = await reachedFrom(entry, { ...options, alias: plainAlias });
    expect([...plainReached].some((f) => FRAMEWORK.test(f))).toBe(true);
  });
});

/** What `entry` reaches, past the local CA's loader, in the import graph esbuild builds with `options`. */
async function reachedFrom(entry: string, options: BuildOptions): Promise<Set<string>> {
  return reachable(await importGraph(entry, options), entry, (from) => from !== X509_LOADER);
}

/** Every input reachable from `entry` through imports whose importer passes `follow`. */
function reachable(metafile: Metafile, entry: string, follow: (from: string) => boolean): Set<string> {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop() as string;
    if (!follow(file)) continue;
    for (const imported of metafile.inputs[file]?.imports ?? []) {
      if (imported.external || seen.has(imported.path)) continue;
      seen.add(imported.path);
      queue.push(imported.path);
    }
  }
  return seen;
}
