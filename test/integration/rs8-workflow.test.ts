/**
 * RS 8.x through the synthesized state machine, executed with our handlers against the simulator
 * (the same cases as rs8.test.ts, which runs the CLI): each database certificate is a Map item of its
 * own (?dry_run, then POST), the cluster's certificates one push, the client certificate written in
 * place; Basic turned off and the 8.2 cipher refusal as the executions report them.
 */
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../lambdas/domain/ports';
import { type LocalWorkflow, localWorkflow, watchdogAwsOf } from '../support/local-workflow';
import { createCa, issueCert } from '../support/pki';
import { daysFromNow, startWorld, type World } from '../support/world';

const V80 = '8.0.2-17';
const V82 = '8.2.0-46';
const expiring = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };
const fresh = { notBefore: daysFromNow(-1), notAfter: daysFromNow(300) };

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const kinds = (alerts: Alert[]) =>
  alerts.map((a) => `${a.kind}:${'certificate' in a ? a.certificate : ''}`).sort();
const checkOutput = (w: LocalWorkflow) => {
  return w.checked();
};
const posts = (w: World, uid: number) =>
  w.sims
    .east!.requests.filter((r) => r.method === 'POST' && r.path === `/v1/bdbs/${uid}/certificates`)
    .map((r) => [r.query ?? '', r.status]);

async function labCa(w: World, name = 'lab') {
  const ca = await createCa({ commonName: `${name} CA` });
  await writeFile(join(w.dir, `${name}-ca.pem`), ca.certPem);
  await writeFile(join(w.dir, `${name}-ca.key`), ca.keyPem, { mode: 0o600 });
  return ca;
}
const localCa = (w: World, name = 'lab', validityDays = 90) => ({
  type: 'local-ca',
  certFile: join(w.dir, `${name}-ca.pem`),
  keyFile: join(w.dir, `${name}-ca.key`),
  validityDays,
});

describe('the state machine on RS 8.x', () => {
  it('renews each database in a Map item of its own (?dry_run, then POST); one refusal fails that database only', async () => {
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: V80,
          certificates: { api: fresh, proxy: { dnsNames: ['*.redis.example.com'], ...expiring } },
          databases: [
            { uid: 2, name: 'carts', certificate: { dnsNames: ['carts.example.com'], ...expiring } },
            { uid: 5, name: 'orders', certificate: { dnsNames: ['orders.example.com'], ...expiring } },
            {
              uid: 7,
              name: 'legacy',
              certificate: { dnsNames: ['legacy.example.com'], ...expiring },
              listen: false,
            },
          ],
        },
      },
      pebble: {},
    });
    await labCa(world);
    const config = await world.writeConfig(
      {},
      {
        east: {
          certificates: { proxy: { domains: ['*.redis.example.com'], issuer: localCa(world) } },
          databases: {
            '2': { domains: ['carts.example.com'], issuer: localCa(world) },
            '5': { domains: ['orders.example.com'], issuer: localCa(world) },
          },
        },
      },
    );
    const sim = world.sims.east!;
    sim.injectFault({
      kind: 'status',
      status: 500,
      method: 'POST',
      path: '/v1/bdbs/5/certificates',
      query: '',
    });
    const workflow = await localWorkflow(world, config);
    await workflow.execute();

    const checked = checkOutput(workflow);
    expect(checked.batches.map((b) => b.items.map((i) => i.certificate))).toEqual([
      ['proxy'],
      ['bdb:2'],
      ['bdb:5'],
    ]);
    // Every database certificate is a row of the cluster; the unlisted one is a finding.
    expect(checked.clusters[0]).toMatchObject({ certificates: 5, statuses: { ok: 1, expiring: 4 } });
    expect(checked.findings).toEqual([
      expect.objectContaining({
        kind: 'alert-only',
        certificate: 'bdb:7',
        reason: expect.stringMatching(/"databases"/),
      }),
    ]);
    expect(posts(world, 2)).toEqual([
      ['dry_run=true', 200],
      ['', 200],
    ]);
    expect(posts(world, 5)).toEqual([
      ['dry_run=true', 200],
      ['', 500],
    ]);
    expect(
      sim.requests.filter((r) => r.method === 'PUT').map((r) => r.putCertificates?.map((c) => c.name)),
    ).toEqual([['proxy']]);
    expect(kinds(workflow.alerts)).toEqual([
      'alert-only:bdb:7',
      'renewal-failed:bdb:5',
      'renewed:bdb:2',
      'renewed:proxy',
    ]);
    expect(workflow.alerts.find((a) => a.kind === 'renewal-failed')).toMatchObject({
      error: { name: 'ClusterServerError' },
    });
    expect(workflow.alerts.find((a) => a.kind === 'renewed' && a.certificate === 'bdb:2')).toMatchObject({
      verification: 'database 2 holds the new certificate; 1 of 1 endpoint(s) serve it',
      pushedWith: 'POST /v1/bdbs/2/certificates, validated first with ?dry_run=true',
    });
    // The failed database's push went to NotifyFailed alone; the next execution pushes the saved one.
    sim.requests.length = 0;
    workflow.alerts.length = 0;
    await workflow.execute();
    expect(posts(world, 5)).toEqual([
      ['dry_run=true', 200],
      ['', 200],
    ]);
    expect(kinds(workflow.alerts)).toEqual(['alert-only:bdb:7', 'renewed:bdb:5']);
  }, 180_000);

  it('--force bdb:<uid> and rollback from the execution input, as the CLI', async () => {
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: V80,
          databases: [
            { uid: 2, name: 'carts', certificate: { dnsNames: ['carts.example.com'], ...expiring } },
          ],
        },
      },
      pebble: {},
    });
    await labCa(world);
    const config = await world.writeConfig(
      {},
      { east: { databases: { '2': { domains: ['carts.example.com'], issuer: localCa(world) } } } },
    );
    const sim = world.sims.east!;
    const workflow = await localWorkflow(world, config);
    await workflow.execute();
    const renewedOnce = sim.databaseCertificate(2)!.fingerprint256;
    await workflow.execute({ force: ['east/bdb:2'] });
    const renewedTwice = sim.databaseCertificate(2)!.fingerprint256;
    workflow.alerts.length = 0;
    await workflow.execute({ rollback: [{ cluster: 'east', certificate: 'bdb:2' }] });
    expect(kinds(workflow.alerts)).toEqual(['rolled-back:bdb:2']);
    expect(renewedTwice).not.toBe(renewedOnce);
    expect(sim.databaseCertificate(2)!.fingerprint256).toBe(renewedOnce);
  }, 180_000);

  it('renews an internode certificate (private CA, RSA) in the cluster push; a keyless one is alerted on', async () => {
    const ssoIssuer = await createCa({
      commonName: 'SSO issuer',
      notBefore: daysFromNow(-700),
      notAfter: daysFromNow(3),
    });
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: V80,
          certificates: {
            api: fresh,
            proxy: fresh,
            ccs_internode_encryption: { dnsNames: ['internode.cluster.local'], ...expiring },
            sso_issuer: { certPem: ssoIssuer.certPem, keyless: true },
          },
        },
      },
      pebble: {},
    });
    await labCa(world);
    const config = await world.writeConfig(
      {},
      {
        east: {
          certificates: {
            ccs_internode_encryption: { domains: ['internode.cluster.local'], issuer: localCa(world) },
          },
        },
      },
    );
    const workflow = await localWorkflow(world, config);
    await workflow.execute();
    expect(kinds(workflow.alerts)).toEqual(['alert-only:sso_issuer', 'renewed:ccs_internode_encryption']);
    expect(workflow.alerts.find((a) => a.kind === 'alert-only')).toMatchObject({
      status: 'expiring',
      reason: expect.stringMatching(/sso_issuer comes without a key/),
    });
    const leaf = new X509Certificate(world.sims.east!.certificate('ccs_internode_encryption')!.certPem);
    expect(leaf.publicKey.asymmetricKeyType).toBe('rsa');
  });

  it('Basic turned off: the check reports BasicAuthDisabledError; with a client certificate it is renewed in place', async () => {
    const clientCa = await createCa({ commonName: 'Watchdog client CA' });
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: V82,
          basicAuthentication: false,
          certificates: {
            api: fresh,
            proxy: fresh,
            mtls_trusted_ca: { certPem: clientCa.certPem, keyless: true },
          },
          certificateAuthentication: { users: ['CN=rs-cert-watchdog,O=Example'] },
        },
      },
      pebble: {},
    });
    const password = await localWorkflow(world, await world.writeConfig({}));
    await password.execute();
    expect(password.alerts).toEqual([
      expect.objectContaining({
        kind: 'cluster-unreachable',
        error: expect.objectContaining({
          name: 'BasicAuthDisabledError',
          hint: expect.stringMatching(/clientCertificate/),
        }),
      }),
    ]);

    const subject: Array<Record<string, string[]>> = [{ O: ['Example'] }, { CN: ['rs-cert-watchdog'] }];
    const client = await issueCert({
      ca: clientCa,
      dnsNames: [],
      subject,
      extKeyUsage: ['clientAuth'],
      ...expiring,
    });
    await writeFile(join(world.dir, 'client.pem'), client.chainPem);
    await writeFile(join(world.dir, 'client.key'), client.keyPem, { mode: 0o600 });
    await writeFile(join(world.dir, 'client-ca.pem'), clientCa.certPem);
    await writeFile(join(world.dir, 'client-ca.key'), clientCa.keyPem, { mode: 0o600 });
    const config = await world.writeConfig(
      {},
      {
        east: {
          username: undefined,
          passwordEnv: undefined,
          clientCertificate: {
            certFile: join(world.dir, 'client.pem'),
            keyFile: join(world.dir, 'client.key'),
            issuer: localCa(world, 'client'),
          },
        },
      },
    );
    const workflow = await localWorkflow(world, config);
    await workflow.execute();
    expect(checkOutput(workflow).batches).toEqual([
      {
        cluster: 'east',
        items: [
          expect.objectContaining({
            certificate: 'client',
            sameSubjectAs: expect.stringMatching(/BEGIN CERTIFICATE/),
          }),
        ],
      },
    ]);
    expect(kinds(workflow.alerts)).toEqual(['renewed:client']);
    // Deployed, the renewed pair is a new version of the key secret (key, then certificate).
    const secret = (await watchdogAwsOf(world)).secretsManager.current('rs/east/client-key') ?? '';
    expect(secret).toMatch(/PRIVATE KEY[\s\S]*BEGIN CERTIFICATE/);
    const written = new X509Certificate(secret.slice(secret.indexOf('-----BEGIN CERTIFICATE-----')));
    expect(written.subject).toBe(new X509Certificate(client.certPem).subject);
    expect(written.fingerprint256).not.toBe(client.fingerprint256);
    // Every later connection presents it.
    world.sims.east!.requests.length = 0;
    await workflow.execute();
    expect(world.sims.east!.requests.length).toBeGreaterThan(0);
    for (const r of world.sims.east!.requests) expect(r.clientCertificate).toBe(written.fingerprint256);
  });

  it('RS 8.2 refuses an ECDSA key against RSA-only suites: CipherSuiteMismatchError, naming keyType', async () => {
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: V82,
          cipherSuites: { control: 'ECDHE-RSA-AES256-GCM-SHA384' },
          certificates: { api: fresh, proxy: fresh, cm: { dnsNames: ['cm.example.com'], ...expiring } },
        },
      },
      pebble: {},
    });
    await labCa(world);
    const config = await world.writeConfig(
      {},
      {
        east: {
          certificates: {
            cm: { domains: ['cm.example.com'], keyType: 'ecdsa-p256', issuer: localCa(world) },
          },
        },
      },
    );
    const workflow = await localWorkflow(world, config);
    await workflow.execute();
    expect(workflow.alerts).toEqual([
      expect.objectContaining({
        kind: 'renewal-failed',
        certificate: 'cm',
        // Through a Catch an error keeps its name and message (not its hint): both say keyType.
        error: expect.objectContaining({
          name: 'CipherSuiteMismatchError',
          message: expect.stringMatching(/set "keyType" of cm/),
        }),
        action: expect.stringMatching(/"keyType"/),
      }),
    ]);
  });
});
