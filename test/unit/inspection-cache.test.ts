/**
 * The per-process memory of certificate inspections (lambdas/domain/certificate.ts): an unchanged
 * certificate and key are not parsed again, and any change to either is inspected afresh.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  clearInspectionCache,
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
});
