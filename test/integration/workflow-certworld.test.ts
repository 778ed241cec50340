/**
 * Issue 13 through the executed state machine (aws-local-stepfunctions, our handlers): ARI from the
 * test ARI server in front of Pebble (the window in Check's output, `replaces` in the order, the
 * retry without it, the fallback on a failing renewalInfo), an unknown ACME profile, and the two
 * private-CA issuers (local CA, AWS Private CA with a fake SDK client) renewing certificates that
 * need clientAuth through Issue → Push → Verify.
 */
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ACMPCAClient,
  GetCertificateAuthorityCertificateCommand,
  GetCertificateCommand,
  IssueCertificateCommand,
} from '@aws-sdk/client-acm-pca';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EKU_CLIENT_AUTH, EKU_SERVER_AUTH } from '../../lambdas/domain/certificate';
import { STATE_NAMES } from '../../lib/workflow';
import { ACME_ERROR, type AriServer, ariCertId, startAriServer } from '../support/ari-server';
import { type LocalWorkflow, localWorkflow } from '../support/local-workflow';
import { createCa, type TestCa } from '../support/pki';
import { signAsPrivateCa } from '../support/private-ca';
import { daysFromNow, startWorld, type World } from '../support/world';

const SIX_DAYS_S = 6 * 86_400;
const CA_ARN =
  'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/11111111-2222-3333-4444-555555555555';
const expiring = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };
/** X.509 times have second precision: a replacement must expire after the 6-day certificate it replaces. */
const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1100));

const checkOutput = (w: LocalWorkflow) => {
  return w.checked();
};
/** The renewal outcomes (syncer and ldap_client are unmanaged findings until a test manages them). */
const outcomes = (w: LocalWorkflow) => w.alerts.filter((a) => a.kind !== 'alert-only');
const callsTo = (w: LocalWorkflow, state: string) => w.calls.filter((c) => c.state === state);
const ekusOf = (pem: string) => {
  const cert = new X509Certificate(pem) as X509Certificate & { extKeyUsage?: string[] };
  return cert.extKeyUsage ?? cert.keyUsage ?? [];
};

describe('the new certificate world, through the executed state machine', () => {
  let world: World;
  let ari: AriServer;
  let labCa: TestCa;
  const sim = () => world.sims['prod-east']!;
  const proxyCertId = () => ariCertId(sim().certificate('proxy')!.certPem);
  const writeConfig = (certificates: Record<string, unknown> = {}) =>
    world.writeConfig(
      { acme: { directoryUrl: ari.directoryUrl, email: 'ops@example.com', caFile: ari.caFile } },
      {
        'prod-east': {
          serverName: 'cluster.example.com',
          certificates: {
            proxy: { domains: ['*.redis.example.com'], keyType: 'ecdsa-p256' },
            ...certificates,
          },
        },
      },
    );

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
            cm: {
              dnsNames: ['cluster.example.com'],
              notBefore: daysFromNow(-10),
              notAfter: daysFromNow(355),
            },
            // Expires before any certificate Pebble issues now (6 days).
            proxy: {
              dnsNames: ['*.redis.example.com'],
              notBefore: daysFromNow(-10),
              notAfter: daysFromNow(4),
            },
            syncer: { dnsNames: ['syncer.example.com'], ...expiring },
            ldap_client: { dnsNames: ['ldap-client.example.com'], ...expiring },
          },
        },
      },
      pebble: { certificateValiditySeconds: SIX_DAYS_S },
    });
    ari = await startAriServer(world.pebble!, { dir: world.dir });
    labCa = await createCa({ commonName: 'Lab CA for RS', keyKind: 'ecdsa' });
    await writeFile(join(world.dir, 'lab-ca.pem'), labCa.certPem);
    await writeFile(join(world.dir, 'lab-ca.key'), labCa.keyPem, { mode: 0o600 });
    // A certificate of this CA on the cluster, so that renewalInfo knows it.
    ari.setDefaultWindow(null);
    const workflow = await localWorkflow(world, await writeConfig());
    await workflow.execute({ force: ['proxy'] });
    expect(outcomes(workflow).map((a) => a.kind)).toEqual(['renewed']);
  });
  afterAll(async () => {
    await ari?.close();
    await world?.close();
  });
  beforeEach(() => ari.reset());

  it('carries the ARI window from Check to the alert, and Issue orders with `replaces`', async () => {
    const certId = proxyCertId();
    ari.setWindow(certId, {
      start: new Date(Date.now() - 7_200_000),
      end: new Date(Date.now() - 3_600_000),
      explanationURL: 'https://ca.example/incident/7',
    });
    const workflow = await localWorkflow(world, await writeConfig());
    await nextSecond();
    await workflow.execute();

    expect(checkOutput(workflow).due).toEqual([
      expect.objectContaining({
        certificate: 'proxy',
        ariCertId: certId,
        renewalWindow: expect.objectContaining({ explanationURL: 'https://ca.example/incident/7' }),
      }),
    ]);
    expect(callsTo(workflow, STATE_NAMES.issue)[0]?.input).toMatchObject({ items: [{ ariCertId: certId }] });
    expect(ari.newOrders.map((o) => o.payload.replaces)).toEqual([certId]);
    expect(outcomes(workflow)).toMatchObject([
      { kind: 'renewed', renewalWindow: { explanationURL: 'https://ca.example/incident/7' } },
    ]);
  });

  it('orders once more without `replaces` when the CA answers alreadyReplaced', async () => {
    const certId = proxyCertId();
    ari.setWindow(certId, { start: new Date(Date.now() - 7_200_000), end: new Date(Date.now() - 3_600_000) });
    ari.rejectReplaces(1);
    const workflow = await localWorkflow(world, await writeConfig());
    await nextSecond();
    await workflow.execute();

    expect(ari.newOrders.map((o) => [o.payload.replaces, o.problemType ?? o.status])).toEqual([
      [certId, ACME_ERROR.alreadyReplaced],
      [undefined, 201],
    ]);
    expect(callsTo(workflow, STATE_NAMES.issue)).toHaveLength(1);
    expect(outcomes(workflow).map((a) => a.kind)).toEqual(['renewed']);
  });

  it('a renewalInfo 5xx falls back to the lifetime policy: a fresh certificate is not due, nothing fails', async () => {
    const certId = proxyCertId();
    // Were ARI answering, this window would make the certificate due now.
    ari.setWindow(certId, { start: new Date(Date.now() - 7_200_000), end: new Date(Date.now() - 3_600_000) });
    ari.failRenewalInfo({ status: 503, detail: 'renewalInfo is down' });
    const workflow = await localWorkflow(world, await writeConfig());
    await workflow.execute();

    expect(ari.renewalInfoRequests).toMatchObject([{ certId, status: 503 }]);
    const output = checkOutput(workflow);
    expect(output.due).toEqual([]);
    expect(output.clusters[0]).toMatchObject({ error: null });
    expect(ari.newOrders).toEqual([]);
    expect(outcomes(workflow)).toEqual([]);
  });

  it('an unknown profile is an AcmeProfileError at Issue: alerted as a failure, and no newOrder', async () => {
    const workflow = await localWorkflow(
      world,
      await writeConfig({ cm: { domains: ['cluster.example.com'], profile: 'tlsclient' } }),
    );
    await workflow.execute({ force: ['cm'] });

    // Issue sets the certificate aside with its error; the cluster's notify step alerts it.
    expect(callsTo(workflow, STATE_NAMES.issue).map((c) => c.error ?? null)).toEqual([null]);
    const failed = workflow.alerts.find((a) => a.kind === 'renewal-failed');
    expect(failed).toMatchObject({ certificate: 'cm', error: { name: 'AcmeProfileError' } });
    expect(failed?.kind === 'renewal-failed' && failed.error.message).toMatch(/"tlsclient".*"classic"/);
    expect(ari.newOrders).toEqual([]);
  });

  it('the local CA renews syncer with serverAuth + clientAuth through Issue, Push and Verify', async () => {
    const before = sim().certificate('syncer')!.fingerprint256;
    const workflow = await localWorkflow(
      world,
      await writeConfig({
        syncer: {
          domains: ['syncer.example.com'],
          keyType: 'ecdsa-p256',
          issuer: {
            type: 'local-ca',
            certFile: join(world.dir, 'lab-ca.pem'),
            keyFile: join(world.dir, 'lab-ca.key'),
            validityDays: 6,
          },
        },
      }),
    );
    await workflow.execute({ force: ['syncer'] });

    const now = sim().certificate('syncer')!;
    expect(now.fingerprint256).not.toBe(before);
    for (const node of sim().nodes) expect(node.certificates.syncer).toBe(now.fingerprint256);
    expect(ekusOf(now.certPem)).toEqual(expect.arrayContaining([EKU_SERVER_AUTH, EKU_CLIENT_AUTH]));
    expect(new X509Certificate(now.certPem).checkIssued(new X509Certificate(labCa.certPem))).toBe(true);
    expect(callsTo(workflow, STATE_NAMES.verify)).toMatchObject([{ state: STATE_NAMES.verify }]);
    expect(callsTo(workflow, STATE_NAMES.verify)[0]?.error).toBeUndefined();
    expect(outcomes(workflow)).toMatchObject([
      { kind: 'renewed', certificate: 'syncer', verification: 'cluster holds the new certificate' },
    ]);
    expect(ari.newOrders).toEqual([]);
  });

  it('AWS Private CA renews ldap_client through Issue, Push and Verify, polling GetCertificate', async () => {
    const pcaCa = await createCa({ commonName: 'AWS Private CA (fake)' });
    const pca = fakePrivateCa(pcaCa);
    const workflow = await localWorkflow(
      world,
      await writeConfig({
        ldap_client: {
          domains: ['ldap-client.example.com'],
          issuer: { type: 'aws-private-ca', certificateAuthorityArn: CA_ARN, validityDays: 30 },
        },
      }),
      { pca: pca.factory },
    );
    await workflow.execute({ force: ['ldap_client'] });

    expect(pca.regions).toEqual(['eu-west-1']);
    expect(pca.commands.filter((c) => c === 'IssueCertificateCommand')).toHaveLength(1);
    expect(pca.commands.filter((c) => c === 'GetCertificateCommand')).toHaveLength(2);
    const pem = sim().certificate('ldap_client')!.certPem;
    expect(ekusOf(pem)).toEqual(expect.arrayContaining([EKU_SERVER_AUTH, EKU_CLIENT_AUTH]));
    expect(new X509Certificate(pem).checkIssued(new X509Certificate(pcaCa.certPem))).toBe(true);
    expect(outcomes(workflow)).toMatchObject([{ kind: 'renewed', certificate: 'ldap_client' }]);
    expect(ari.newOrders).toEqual([]);
  });
});

/**
 * A fake ACMPCAClient: IssueCertificate signs the CSR with `ca` (the extended key usages and SANs of
 * the API passthrough, as AWS Private CA does), GetCertificate answers RequestInProgressException once.
 */
function fakePrivateCa(ca: TestCa): {
  factory: (region: string) => ACMPCAClient;
  regions: string[];
  commands: string[];
} {
  const regions: string[] = [];
  const commands: string[] = [];
  const issued = new Map<string, string>();
  let polls = 0;
  const client = {
    async send(command: { input: unknown }) {
      commands.push(command.constructor.name);
      if (command instanceof IssueCertificateCommand) {
        const arn = `${CA_ARN}/certificate/${issued.size + 1}`;
        issued.set(arn, await signAsPrivateCa(command.input, ca));
        return { CertificateArn: arn };
      }
      if (command instanceof GetCertificateCommand) {
        if (polls++ === 0)
          throw Object.assign(new Error('still issuing'), { name: 'RequestInProgressException' });
        return { Certificate: issued.get(command.input.CertificateArn as string) };
      }
      if (command instanceof GetCertificateAuthorityCertificateCommand) return { Certificate: ca.certPem };
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  } as unknown as ACMPCAClient;
  return {
    factory: (region) => {
      regions.push(region);
      return client;
    },
    regions,
    commands,
  };
}
