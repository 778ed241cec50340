import { describe, expect, it } from 'vitest';
import { coversName, describeLeaf, parseCertificateChain } from '../../lambdas/domain/certificate';
import { inspectCertificate } from '../../lambdas/domain/report';
import { ClusterCertificateSet } from '../../lambdas/domain/rs/client';
import { createCa, issueCert } from '../support/pki';

const now = new Date();
const inDays = (n: number) => new Date(now.getTime() + n * 86_400_000);

describe('certificate inspection', () => {
  it('reads a chain: leaf details, chain length, key match', async () => {
    const root = await createCa({ commonName: 'Test Root' });
    const intermediate = await createCa({ commonName: 'Test Intermediate', issuer: root });
    const leaf = await issueCert({
      ca: intermediate,
      chain: [intermediate],
      dnsNames: ['redis.example.com', '*.redis.example.com'],
      // 100-day lifetime, 20 days left: inside the 30-day window.
      notBefore: inDays(-80),
      notAfter: inDays(20),
    });
    const set = new ClusterCertificateSet({ proxy_cert: leaf.chainPem, proxy_key: leaf.keyPem });
    const report = inspectCertificate('proxy', set, { now, renewBeforeDays: 30, managed: true });
    expect(report).toMatchObject({
      name: 'proxy',
      status: 'expiring',
      dnsNames: ['redis.example.com', '*.redis.example.com'],
      chainLength: 2,
      keyMatches: true,
      keyType: 'rsa',
      keySize: 2048,
      serialNumber: leaf.serialNumber.toUpperCase(),
      fingerprint256: leaf.fingerprint256,
      error: null,
    });
    expect(report.issuer).toContain('Test Intermediate');
    expect(report.daysLeft).toBeCloseTo(20, 1);
  });

  it('reads ECDSA certificates (node-forge cannot)', async () => {
    const ca = await createCa({ keyKind: 'ecdsa' });
    const leaf = await issueCert({ ca, dnsNames: ['ec.example.com'], keyKind: 'ecdsa' });
    const details = describeLeaf(parseCertificateChain(leaf.certPem));
    expect(details.keyType).toBe('ecdsa-prime256v1');
    expect(details.keySize).toBe(256);
  });

  it('reports a key that does not belong to the certificate', async () => {
    const ca = await createCa();
    const a = await issueCert({ ca, dnsNames: ['a.example.com'], freshKey: true });
    const b = await issueCert({ ca, dnsNames: ['b.example.com'], freshKey: true });
    const set = new ClusterCertificateSet({ api_cert: a.certPem, api_key: b.keyPem });
    const report = inspectCertificate('api', set, { now, renewBeforeDays: 30, managed: false });
    expect(report.keyMatches).toBe(false);
    expect(report.error?.message).toMatch(/api_key does not belong to api_cert/);
  });

  it.each([
    ['garbage', 'not a certificate', /no PEM CERTIFICATE block/],
    ['empty', '', /empty/],
    ['truncated', '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n', /truncated/],
    ['corrupt body', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /does not parse/],
  ])('marks a %s field invalid with the reason, without throwing', (_label, pem, reason) => {
    const set = new ClusterCertificateSet({ cm_cert: pem });
    const report = inspectCertificate('cm', set, { now, renewBeforeDays: 30, managed: false });
    expect(report.status).toBe('invalid');
    expect(report.error?.name).toBe('CertificateParseError');
    expect(report.error?.message).toMatch(reason);
  });

  it('never shows private keys when the set is printed or serialized', async () => {
    const ca = await createCa();
    const leaf = await issueCert({ ca, dnsNames: ['a.example.com'] });
    const set = new ClusterCertificateSet({ api_cert: leaf.certPem, api_key: leaf.keyPem });
    const { inspect } = await import('node:util');
    for (const shown of [JSON.stringify(set), inspect(set), String(set)]) {
      expect(shown).not.toContain('PRIVATE KEY');
    }
    expect(set.names()).toEqual(['api']);
  });

  it('matches wildcard names one label deep', () => {
    expect(coversName(['*.redis.example.com'], 'db1.redis.example.com')).toBe(true);
    expect(coversName(['*.redis.example.com'], 'a.b.redis.example.com')).toBe(false);
    expect(coversName(['*.redis.example.com'], 'redis.example.com')).toBe(false);
    expect(coversName(['*.redis.example.com'], '*.redis.example.com')).toBe(true);
    expect(coversName(['Redis.Example.com'], 'redis.example.COM')).toBe(true);
  });
});
