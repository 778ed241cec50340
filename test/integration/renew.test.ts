import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDirectoryStore } from '../../lambdas/adapters/local-directory/state-directory';
import { keyMatchesLeaf, parseCertificateChain, parsePrivateKey } from '../../lambdas/domain/certificate';
import type { RenewReport } from '../../lambdas/domain/renewal/runner';
import { StateStore, type StoredCertificate } from '../../lambdas/domain/state';
import { daysFromNow, secretsOf, startWorld, type World } from '../support/world';

const expiring = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };

describe('rs-cert-watchdog renew against Pebble and the RS simulator', () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld({
      clusters: {
        'prod-east': {
          certificates: {
            api: { dnsNames: ['cluster.example.com'], ...expiring },
            cm: {
              dnsNames: ['cluster.example.com'],
              notBefore: daysFromNow(-10),
              notAfter: daysFromNow(355),
            },
            proxy: { dnsNames: ['*.redis.example.com'], ...expiring },
            syncer: { dnsNames: ['syncer.example.com'], ...expiring },
          },
        },
      },
      pebble: { nonceRejectPercent: 20 },
    });
  });
  afterAll(() => world.close());

  it('renews every due configured certificate, verifies it, and alerts on the rest', async () => {
    const sim = world.sims['prod-east']!;
    const config = await world.writeConfig(
      {},
      {
        'prod-east': {
          serverName: 'cluster.example.com',
          certificates: {
            api: { domains: ['cluster.example.com'] },
            proxy: { domains: ['*.redis.example.com', 'redis.example.com'], keyType: 'ecdsa-p256' },
          },
        },
      },
    );
    const before = {
      api: sim.certificate('api')!.fingerprint256,
      proxy: sim.certificate('proxy')!.fingerprint256,
    };
    const run = await world.cli('renew', '--config', config, '--json');
    const report = JSON.parse(run.stdout) as RenewReport;
    const certs = Object.fromEntries(report.clusters[0]!.certificates.map((c) => [c.name, c]));
    expect(certs.api?.error).toBeNull();
    expect(certs.api).toMatchObject({ action: 'renewed', status: 'expiring' });
    expect(certs.proxy).toMatchObject({ action: 'renewed' });
    expect(certs.syncer).toMatchObject({ action: 'alert-only', status: 'expiring' });
    expect(certs.cm).toMatchObject({ action: 'none', status: 'ok' });
    // syncer is left needing attention
    expect(run.code).toBe(1);

    for (const name of ['api', 'proxy'] as const) {
      const now = sim.certificate(name)!;
      expect(now.fingerprint256).not.toBe(before[name]);
      expect(now.fingerprint256).toBe(certs[name]!.renewed!.fingerprint256);
      for (const node of sim.nodes) expect(node.certificates[name]).toBe(now.fingerprint256);
    }
    const proxy = new X509Certificate(sim.certificate('proxy')!.certPem);
    expect(proxy.subjectAltName).toContain('DNS:*.redis.example.com');
    expect(proxy.publicKey.asymmetricKeyType).toBe('ec');
    expect(sim.certificate('api')!.keyPem).toMatch(/BEGIN RSA PRIVATE KEY/);

    expect(report.alerts.map((a) => `${a.kind}:${'certificate' in a ? a.certificate : ''}`).sort()).toEqual([
      'alert-only:syncer',
      'renewed:api',
      'renewed:proxy',
    ]);
    const renewedApi = report.alerts.find((a) => a.kind === 'renewed' && a.certificate === 'api');
    expect(renewedApi).toMatchObject({
      verification: expect.stringMatching(/4 of 4 endpoint\(s\) serve it/),
    });

    // The next check is clean for what was renewed, and connects over the new, ACME-issued api certificate.
    const check = await world.cli('check', '--config', config, '--json');
    const after = JSON.parse(check.stdout) as RenewReport;
    expect(after.clusters[0]!.error).toBeNull();
    expect(after.clusters[0]!.certificates.find((c) => c.name === 'api')!.status).toBe('ok');

    // The certificate it replaced is kept, with its key, for rollback.
    const previous = (await new StateStore(new LocalDirectoryStore(join(world.dir, 'state'))).previous(
      'prod-east',
      'proxy',
    )) as StoredCertificate;
    expect(previous.fingerprint256).toBe(before.proxy);
    expect(previous.domains).toContain('*.redis.example.com');
    expect(
      keyMatchesLeaf(parseCertificateChain(previous.certificatePem)[0]!, parsePrivateKey(previous.keyPem)),
    ).toBe(true);

    for (const secret of secretsOf(world))
      expect(run.stdout + run.stderr + check.stdout).not.toContain(secret);
    expect(run.stdout).not.toContain('PRIVATE KEY');
  });
});
