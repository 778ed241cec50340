/**
 * Certificates that need clientAuth (syncer, ldap_client), renewed through the built CLI
 * (dist/cli.mjs, its own process) against the RS simulator by the two private-CA issuers: the local
 * CA (really signing) and AWS Private CA (a loopback stand-in speaking the SDK's protocol, reached
 * through AWS_ENDPOINT_URL_ACM_PCA; it signs the CSR it receives with a test CA, honouring the
 * extended key usages the request asks for).
 */
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EKU_CLIENT_AUTH, EKU_SERVER_AUTH } from '../../lambdas/domain/certificate';
import type { RenewReport } from '../../lambdas/domain/renewal/runner';
import type { FleetReport } from '../../lambdas/domain/report';
import { createCa, type TestCa } from '../support/pki';
import { startPrivateCaStandIn } from '../support/private-ca';
import { daysFromNow, secretsOf, startWorld, type World } from '../support/world';

const CA_ARN =
  'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/11111111-2222-3333-4444-555555555555';
const expiring = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };

const ekusOf = (pem: string) => {
  const cert = new X509Certificate(pem) as X509Certificate & { extKeyUsage?: string[] };
  return cert.extKeyUsage ?? cert.keyUsage ?? [];
};

describe('private CAs renew the certificates a public CA no longer can', () => {
  let world: World;
  let labCa: TestCa;

  beforeAll(async () => {
    world = await startWorld({
      clusters: {
        'prod-east': {
          certificates: {
            api: {
              dnsNames: ['cluster.example.com'],
              notBefore: daysFromNow(-10),
              notAfter: daysFromNow(355),
            },
            syncer: { dnsNames: ['syncer.example.com'], ...expiring },
            ldap_client: { dnsNames: ['ldap-client.example.com'], ...expiring },
          },
        },
      },
    });
    labCa = await createCa({ commonName: 'Lab CA for RS', keyKind: 'ecdsa' });
    await writeFile(join(world.dir, 'lab-ca.pem'), labCa.certPem);
    await writeFile(join(world.dir, 'lab-ca.key'), labCa.keyPem, { mode: 0o600 });
  });
  afterAll(() => world?.close());

  const certOf = (report: FleetReport, name: string) =>
    report.clusters[0]!.certificates.find((c) => c.name === name)!;

  it('warns in check and renew --dry-run when syncer is left on ACME, naming the fix', async () => {
    const config = await world.writeConfig(
      {
        acme: { directoryUrl: 'https://127.0.0.1:9/dir', email: 'ops@example.com' },
        dns: { provider: 'httpreq', endpoint: 'http://127.0.0.1:9' },
      },
      { 'prod-east': { certificates: { syncer: { domains: ['syncer.example.com'] } } } },
    );
    const check = await world.cli('check', '--config', config, '--json');
    expect(check.stderr).toMatch(/warning: prod-east\/syncer needs the clientAuth usage.*"type":"local-ca"/);
    expect(certOf(JSON.parse(check.stdout) as FleetReport, 'syncer').warnings?.[0]).toMatch(/aws-private-ca/);
    const dry = await world.cli('renew', '--config', config, '--dry-run', '--json');
    expect(dry.stderr).toMatch(/warning: prod-east\/syncer needs the clientAuth usage/);
  });

  it('the local CA renews syncer with serverAuth + clientAuth, pushed and verified, without ACME configured', async () => {
    const sim = world.sims['prod-east']!;
    const before = sim.certificate('syncer')!.fingerprint256;
    const config = await world.writeConfig(
      {},
      {
        'prod-east': {
          serverName: 'cluster.example.com',
          certificates: {
            syncer: {
              domains: ['syncer.example.com'],
              keyType: 'ecdsa-p256',
              issuer: { type: 'local-ca', certFile: 'lab-ca.pem', keyFile: 'lab-ca.key', validityDays: 6 },
            },
          },
        },
      },
    );
    const run = await world.cli('renew', '--config', config, '--json');
    const report = JSON.parse(run.stdout) as RenewReport;
    const syncer = certOf(report, 'syncer');
    expect(syncer.error).toBeNull();
    expect(syncer).toMatchObject({ action: 'renewed', issuerType: 'local-ca' });
    expect(run.stderr).not.toMatch(/warning/);

    const now = sim.certificate('syncer')!;
    expect(now.fingerprint256).not.toBe(before);
    expect(now.fingerprint256).toBe(syncer.renewed!.fingerprint256);
    for (const node of sim.nodes) expect(node.certificates.syncer).toBe(now.fingerprint256);
    expect(ekusOf(now.certPem)).toEqual(expect.arrayContaining([EKU_SERVER_AUTH, EKU_CLIENT_AUTH]));
    const leaf = new X509Certificate(now.certPem);
    expect(leaf.checkIssued(new X509Certificate(labCa.certPem))).toBe(true);
    expect(leaf.verify(new X509Certificate(labCa.certPem).publicKey)).toBe(true);
    const renewed = report.alerts.find((a) => a.kind === 'renewed' && a.certificate === 'syncer');
    expect(renewed).toMatchObject({ verification: 'cluster holds the new certificate' });

    const check = JSON.parse((await world.cli('check', '--config', config, '--json')).stdout) as FleetReport;
    expect(certOf(check, 'syncer')).toMatchObject({ status: 'ok', lifetimeDays: expect.closeTo(6, 1) });
    for (const secret of [...secretsOf(world), labCa.keyPem.split('\n')[2]!])
      expect(run.stdout + run.stderr).not.toContain(secret);
  });

  it('AWS Private CA renews ldap_client: IssueCertificate asks for clientAuth, GetCertificate until issued', async () => {
    const pcaCa = await createCa({ commonName: 'AWS Private CA (stand-in)' });
    const pca = await startPrivateCaStandIn(pcaCa, { pendingPolls: 1 });
    Object.assign(world.env, pca.env);
    try {
      const config = await world.writeConfig(
        {},
        {
          'prod-east': {
            serverName: 'cluster.example.com',
            certificates: {
              ldap_client: {
                domains: ['ldap-client.example.com'],
                issuer: { type: 'aws-private-ca', certificateAuthorityArn: CA_ARN, validityDays: 30 },
              },
            },
          },
        },
      );
      const run = await world.cli('renew', '--config', config, '--json');
      const ldap = certOf(JSON.parse(run.stdout) as RenewReport, 'ldap_client');
      expect(ldap.error).toBeNull();
      expect(ldap).toMatchObject({ action: 'renewed', issuerType: 'aws-private-ca' });
      const operations = pca.calls.map((c) => c.operation);
      expect(operations.filter((o) => o === 'IssueCertificate')).toHaveLength(1);
      // Not issued at the first look: asked again until it was.
      expect(operations.filter((o) => o === 'GetCertificate')).toHaveLength(2);
      const issueInput = pca.calls.find((c) => c.operation === 'IssueCertificate')!.input;
      expect(issueInput).toMatchObject({
        CertificateAuthorityArn: CA_ARN,
        ApiPassthrough: {
          Extensions: {
            ExtendedKeyUsage: [
              { ExtendedKeyUsageType: 'SERVER_AUTH' },
              { ExtendedKeyUsageType: 'CLIENT_AUTH' },
            ],
          },
        },
      });
      const pem = world.sims['prod-east']!.certificate('ldap_client')!.certPem;
      expect(ekusOf(pem)).toEqual(expect.arrayContaining([EKU_SERVER_AUTH, EKU_CLIENT_AUTH]));
      expect(new X509Certificate(pem).checkIssued(new X509Certificate(pcaCa.certPem))).toBe(true);
      for (const secret of secretsOf(world)) expect(run.stdout + run.stderr).not.toContain(secret);
    } finally {
      for (const name of Object.keys(pca.env)) delete world.env[name];
      await pca.close();
    }
  });
});
