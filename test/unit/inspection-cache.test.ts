/**
 * The per-process memory of certificate inspections (lambdas/domain/certificate.ts): an unchanged
 * certificate and key are not parsed again, and any change to either is inspected afresh.
 */

import { createHash } from 'node:crypto';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  loadInspectionMemory,
  saveInspectionMemory,
} from '../../lambdas/adapters/local-directory/inspection-memory';
import {
  clearInspectionCache,
  exportInspectionMemory,
  importInspectionMemory,
  inspectionCacheStats,
  keyMatchesLeafPem,
} from '../../lambdas/domain/certificate';
import { inspectCertificate } from '../../lambdas/domain/report';
import { ClusterCertificateSet } from '../../lambdas/domain/rs/client';
import { createCa, issueCert } from '../support/pki';

const now = new Date();
const options = { now, renewBeforeDays: 30, managed: true };

describe('inspection cache', () => {
  beforeEach(() => clearInspectionCache());

  it('parses an unchanged certificate and key once, and gives the same report again', async () => {
    const ca = await createCa();
    const leaf = await issueCert({ ca, dnsNames: ['a.example.com'] });
    const set = new ClusterCertificateSet({ proxy_cert: leaf.chainPem, proxy_key: leaf.keyPem });
    const first = inspectCertificate('proxy', set, options);
    first.dnsNames.push('mutated-by-a-caller.example.com');
    const second = inspectCertificate('proxy', set, options);
    expect(second).toMatchObject({ keyMatches: true, dnsNames: ['a.example.com'], error: null });
    expect(inspectionCacheStats).toMatchObject({ leafMisses: 1, leafHits: 1, keyMisses: 1, keyHits: 1 });
  });

  it('inspects again when the key or the certificate changes', async () => {
    const ca = await createCa();
    const a = await issueCert({ ca, dnsNames: ['a.example.com'], freshKey: true });
    const b = await issueCert({ ca, dnsNames: ['b.example.com'], freshKey: true });
    expect(keyMatchesLeafPem(a.chainPem, a.keyPem)).toBe(true);
    // Same certificate, another key: a miss, and the truth for the new pair.
    expect(keyMatchesLeafPem(a.chainPem, b.keyPem)).toBe(false);
    // Another certificate, the first key: a miss too.
    expect(keyMatchesLeafPem(b.chainPem, a.keyPem)).toBe(false);
    expect(keyMatchesLeafPem(a.chainPem, b.keyPem)).toBe(false);
    expect(inspectionCacheStats).toMatchObject({ keyMisses: 3, keyHits: 1 });
    const report = inspectCertificate(
      'proxy',
      new ClusterCertificateSet({ proxy_cert: a.chainPem, proxy_key: b.keyPem }),
      options,
    );
    expect(report.keyMatches).toBe(false);
    expect(report.error?.message).toMatch(/proxy_key does not belong to proxy_cert/);
  });

  it("parses each issuer once: the leaves of one CA's chains share its parse, and a broken issuer is still named", async () => {
    const ca = await createCa();
    const a = await issueCert({ ca, dnsNames: ['a.example.com'] });
    const b = await issueCert({ ca, dnsNames: ['b.example.com'] });
    // Each chain carries its issuer after the leaf, as an ACME chain carries its CA's intermediate.
    const chainOf = (leaf: { certPem: string }) => `${leaf.certPem.trim()}\n${ca.certPem.trim()}\n`;
    const first = inspectCertificate('proxy', new ClusterCertificateSet({ proxy_cert: chainOf(a) }), options);
    const second = inspectCertificate(
      'proxy',
      new ClusterCertificateSet({ proxy_cert: chainOf(b) }),
      options,
    );
    expect([first.chainLength, second.chainLength]).toEqual([2, 2]);
    expect(inspectionCacheStats).toMatchObject({ leafMisses: 2, issuerParses: 1 });
    // The same leaf with a corrupt issuer block: a new field, refused by name, every time.
    const corrupt = `${a.certPem.trim()}\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`;
    for (let i = 0; i < 2; i++) {
      const report = inspectCertificate('proxy', new ClusterCertificateSet({ proxy_cert: corrupt }), options);
      expect(report.status).toBe('invalid');
      expect(report.error?.message).toMatch(/certificate #2 of the chain does not parse/);
    }
  });

  it('never remembers a field that does not parse', async () => {
    const ca = await createCa();
    const leaf = await issueCert({ ca, dnsNames: ['a.example.com'] });
    const broken = new ClusterCertificateSet({ proxy_cert: leaf.chainPem, proxy_key: 'not a key' });
    for (let i = 0; i < 2; i++) {
      const report = inspectCertificate('proxy', broken, options);
      expect(report.error?.message).toMatch(/private key does not parse/);
    }
    expect(inspectionCacheStats.keyMisses).toBe(2);
    expect(inspectionCacheStats.keyHits).toBe(0);
  });

  it('carries over to a new process through the exported memory: nothing parsed again, the same report', async () => {
    const ca = await createCa();
    const leaf = await issueCert({ ca, dnsNames: ['a.example.com'], freshKey: true });
    const set = new ClusterCertificateSet({ proxy_cert: leaf.chainPem, proxy_key: leaf.keyPem });
    const before = inspectCertificate('proxy', set, options);
    const memory = JSON.parse(JSON.stringify(exportInspectionMemory()));
    const text = JSON.stringify(memory);
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(leaf.keyPem.split('\n')[1]);
    // The keys are the digests earlier versions wrote: SHA-256 of each part and a NUL, in base64.
    const sha = (...parts: string[]) => {
      const h = createHash('sha256');
      for (const part of parts) h.update(part).update('\0');
      return h.digest('base64');
    };
    expect(Object.keys(memory.leaves)).toEqual([sha(leaf.chainPem)]);
    expect(Object.keys(memory.keyMatches)).toEqual([sha(leaf.chainPem, leaf.keyPem)]);

    clearInspectionCache(); // a new process
    expect(importInspectionMemory(memory)).toBe(2);
    const after = inspectCertificate('proxy', set, options);
    expect(after).toEqual(before);
    expect(inspectionCacheStats).toMatchObject({ leafMisses: 0, leafHits: 1, keyMisses: 0, keyHits: 1 });
  });

  it('keeps only what the run used, and ignores a memory of another version or shape', async () => {
    const ca = await createCa();
    const a = await issueCert({ ca, dnsNames: ['a.example.com'] });
    const b = await issueCert({ ca, dnsNames: ['b.example.com'] });
    inspectCertificate('proxy', new ClusterCertificateSet({ proxy_cert: a.chainPem }), options);
    const withA = exportInspectionMemory();
    clearInspectionCache();
    importInspectionMemory(withA);
    inspectCertificate('proxy', new ClusterCertificateSet({ proxy_cert: b.chainPem }), options);
    expect(Object.keys(exportInspectionMemory().leaves)).toHaveLength(1); // b only: a left the fleet

    clearInspectionCache();
    expect(importInspectionMemory({ ...withA, version: 2 })).toBe(0);
    expect(importInspectionMemory('not a memory')).toBe(0);
    const [digest, details] = Object.entries(withA.leaves)[0]!;
    expect(
      importInspectionMemory({ version: 1, leaves: { [digest]: { ...details, notAfter: 'soon' } } }),
    ).toBe(0);
    inspectCertificate('proxy', new ClusterCertificateSet({ proxy_cert: a.chainPem }), options);
    expect(inspectionCacheStats.leafMisses).toBe(1);
  });

  it('lives in the CLI state directory as a 0600 file between runs', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'inspection-memory-'));
    expect(await loadInspectionMemory(stateDir)).toBe(0); // none yet
    const ca = await createCa();
    const leaf = await issueCert({ ca, dnsNames: ['a.example.com'] });
    const set = new ClusterCertificateSet({ proxy_cert: leaf.chainPem, proxy_key: leaf.keyPem });
    inspectCertificate('proxy', set, options);
    await saveInspectionMemory(stateDir);
    const file = join(stateDir, 'inspection-memory.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).not.toContain('PRIVATE KEY');
    clearInspectionCache();
    expect(await loadInspectionMemory(stateDir)).toBe(2);
    inspectCertificate('proxy', set, options);
    expect(inspectionCacheStats).toMatchObject({ leafMisses: 0, keyMisses: 0 });
    // Nothing changed: the file is not written again, nor the memory turned into text to compare.
    const written = (await stat(file)).mtimeMs;
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      await saveInspectionMemory(stateDir);
      expect(stringify).not.toHaveBeenCalled();
    } finally {
      stringify.mockRestore();
    }
    expect((await stat(file)).mtimeMs).toBe(written);
    // A new certificate in the fleet: written.
    inspectCertificate(
      'proxy',
      new ClusterCertificateSet({
        proxy_cert: (await issueCert({ ca, dnsNames: ['b.example.com'] })).chainPem,
      }),
      options,
    );
    await saveInspectionMemory(stateDir);
    expect(Object.keys(JSON.parse(await readFile(file, 'utf8')).leaves)).toHaveLength(2);
  });
});
