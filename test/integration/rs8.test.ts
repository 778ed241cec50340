/**
 * RS 8.x through the CLI operators run (dist/cli.mjs, built as `npm ci` builds it, as a separate
 * process) against the RS simulator and Pebble: per-database certificates (inventory over pages,
 * renewal with ?dry_run then POST, every refusal, --force, rollback), internode certificates,
 * keyless certificates, certificate login with Basic turned off, the watchdog's own client
 * certificate renewed in place, and RS 8.2's cipher-suite refusal.
 */
import { X509Certificate } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RollbackResult } from '../../lambdas/cli/rollback';
import type { Alert } from '../../lambdas/domain/ports';
import type { RenewReport } from '../../lambdas/domain/renewal/runner';
import type { CertificateReport, FleetReport } from '../../lambdas/domain/report';
import { builtCli, runBuiltCli } from '../support/built-cli';
import { createCa, issueCert, type TestCa } from '../support/pki';
import { daysFromNow, keyBody, startWorld, type World } from '../support/world';

const V80 = '8.0.2-17';
const V82 = '8.2.0-46';
const expiring = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };
const fresh = { notBefore: daysFromNow(-1), notAfter: daysFromNow(300) };

let world: World | undefined;
beforeAll(() => builtCli(), 120_000);
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const cli = (w: World, ...args: string[]) => runBuiltCli(w.env, ...args);
async function json<T>(w: World, ...args: string[]): Promise<{ code: number; body: T; stderr: string }> {
  const run = await cli(w, ...args, '--json');
  return { code: run.code, body: JSON.parse(run.stdout) as T, stderr: run.stderr };
}
const rowsOf = (report: FleetReport, cluster = 0) => report.clusters[cluster]!.certificates;
const row = (report: FleetReport, name: string, cluster = 0) =>
  rowsOf(report, cluster).find((c) => c.name === name) as CertificateReport;
const kinds = (alerts: Alert[]) =>
  alerts.map((a) => `${a.kind}:${'certificate' in a ? a.certificate : ''}`).sort();
const posts = (w: World, uid: number) =>
  w.sims
    .east!.requests.filter((r) => r.method === 'POST' && r.path === `/v1/bdbs/${uid}/certificates`)
    .map((r) => [r.query ?? '', r.status]);

/** A local CA in the world's directory, for the private-CA issuers. */
async function labCa(w: World, name = 'lab'): Promise<TestCa> {
  const ca = await createCa({ commonName: `${name} CA` });
  await writeFile(join(w.dir, `${name}-ca.pem`), ca.certPem);
  await writeFile(join(w.dir, `${name}-ca.key`), ca.keyPem, { mode: 0o600 });
  return ca;
}
const localCa = (w: World, name: string, validityDays = 90) => ({
  type: 'local-ca',
  certFile: join(w.dir, `${name}-ca.pem`),
  keyFile: join(w.dir, `${name}-ca.key`),
  validityDays,
});

describe('per-database certificates (bdb:<uid>)', () => {
  it('check lists every database certificate over pages, with names, and alerts like any other', async () => {
    const bulk = Array.from({ length: 120 }, (_, i) => ({
      uid: 100 + i,
      name: `tenant-${i}`,
      certificate: {},
      listen: false,
    }));
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: V80,
          databases: [
            {
              uid: 1,
              name: 'sessions',
              certificate: { dnsNames: ['sessions.redis.example.com'], ...expiring },
            },
            { uid: 2, name: 'carts', certificate: { dnsNames: ['carts.redis.example.com'], ...fresh } },
            { uid: 3, name: 'cache', certificate: null },
            ...bulk,
          ],
        },
        old: { databases: [{ uid: 1, name: 'legacy', certificate: null }] },
      },
    });
    const config = await world.writeConfig(
      { alerts: {} },
      {
        east: {
          databases: { '3': { domains: ['cache.redis.example.com'], issuer: localCa(world, 'lab') } },
        },
      },
    );
    await labCa(world);
    const { code, body } = await json<FleetReport>(world, 'check', '--config', config);
    expect(code).toBe(1);
    const east = body.clusters[0]!;
    expect(east).toMatchObject({ databaseCertificatesApi: true, error: null });
    const databases = east.certificates.filter((c) => c.name.startsWith('bdb:'));
    expect(databases).toHaveLength(123);
    expect(row(body, 'bdb:1')).toMatchObject({
      status: 'expiring',
      managed: false,
      database: { uid: '1', name: 'sessions' },
      dnsNames: ['sessions.redis.example.com'],
      keyMatches: null,
      error: null,
    });
    expect(row(body, 'bdb:2')).toMatchObject({ status: 'ok', database: { name: 'carts' } });
    expect(row(body, 'bdb:219')).toMatchObject({ database: { name: 'tenant-119' } });
    // Listed under "databases" without a certificate of its own: the next renewal installs one.
    expect(row(body, 'bdb:3')).toMatchObject({
      status: 'invalid',
      managed: true,
      issuerType: 'local-ca',
      error: { name: 'DatabaseCertificateMissingError' },
    });
    const listings = world.sims.east!.requests.filter((r) => r.path === '/v1/bdbs/certificates');
    expect(listings.map((r) => r.query)).toEqual(['page=1&page_size=100', 'page=2&page_size=100']);
    // A 7.x cluster is not asked at all (one request fewer per check).
    expect(body.clusters[1]).not.toHaveProperty('databaseCertificatesApi');
    expect(world.sims.old!.requests.map((r) => r.path)).toEqual(['/v1/cluster/certificates', '/v1/nodes']);

    // renew alerts on the unmanaged expiring database like on any certificate.
    const renew = await json<RenewReport>(world, 'renew', '--config', config, '--dry-run');
    expect(renew.body.alerts).toContainEqual(
      expect.objectContaining({
        kind: 'alert-only',
        certificate: 'bdb:1',
        status: 'expiring',
        reason: expect.stringMatching(/not listed under the cluster's "databases"/),
      }),
    );
    const table = await cli(world, 'check', '--config', config);
    expect(table.stdout).toMatch(/bdb:1 +expiring/);
  });

  it('a listing the cluster refuses is its databaseError: the rest is reported, exit 1, alerted', async () => {
    world = await startWorld({
      clusters: {
        east: { softwareVersion: V80, databases: [{ uid: 2, name: 'carts', certificate: expiring }] },
      },
    });
    world.sims.east!.injectFault({ kind: 'status', status: 403, path: '/v1/bdbs/certificates', times: 2 });
    const config = await world.writeConfig({});
    const check = await json<FleetReport>(world, 'check', '--config', config);
    expect(check.code).toBe(1);
    expect(check.body.clusters[0]).toMatchObject({
      error: null,
      databaseError: { name: 'PermissionDeniedError', hint: expect.stringMatching(/view_all_bdbs_info/) },
    });
    expect(rowsOf(check.body).map((c) => c.name)).toContain('api');
    const renew = await json<RenewReport>(world, 'renew', '--config', config, '--dry-run');
    expect(renew.body.alerts).toEqual([
      expect.objectContaining({
        kind: 'cluster-unreachable',
        error: expect.objectContaining({
          message: expect.stringMatching(/^the database certificates could not be listed/),
        }),
      }),
    ]);
  });

  it('a cluster without the routes (404) has none; a database listed there is alerted on, never ordered', async () => {
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: V80,
          databaseCertificatesApi: false,
          databases: [{ uid: 4, name: 'orders' }],
        },
      },
    });
    await labCa(world);
    const config = await world.writeConfig(
      {},
      {
        east: {
          databases: { '4': { domains: ['orders.redis.example.com'], issuer: localCa(world, 'lab') } },
        },
      },
    );
    const { body } = await json<RenewReport>(world, 'renew', '--config', config);
    expect(body.clusters[0]).toMatchObject({ databaseCertificatesApi: false });
    expect(row(body, 'bdb:4')).toMatchObject({
      action: 'alert-only',
      error: { name: 'DatabaseCertificatesUnavailableError' },
    });
    expect(world.sims.east!.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('renews a listed database through ACME: ?dry_run first, then POST, then GET and a TLS probe of its endpoint', async () => {
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: V80,
          databases: [
            { uid: 2, name: 'carts', certificate: { dnsNames: ['carts.redis.example.com'], ...expiring } },
          ],
        },
      },
      pebble: {},
    });
    const sim = world.sims.east!;
    const before = sim.databaseCertificate(2)!.fingerprint256;
    const config = await world.writeConfig(
      {},
      { east: { databases: { '2': { domains: ['carts.redis.example.com'] } } } },
    );
    const { code, body } = await json<RenewReport>(world, 'renew', '--config', config);
    expect(code).toBe(0);
    const carts = row(body, 'bdb:2');
    expect(carts).toMatchObject({ action: 'renewed', plan: 'renew', database: { name: 'carts' } });
    const now = sim.databaseCertificate(2)!;
    expect(now.fingerprint256).not.toBe(before);
    expect(now.fingerprint256).toBe(carts.renewed!.fingerprint256);
    expect(posts(world, 2)).toEqual([
      ['dry_run=true', 200],
      ['', 200],
    ]);
    expect(sim.requests.filter((r) => r.method === 'PUT')).toEqual([]);
    const renewed = body.alerts.find((a) => a.kind === 'renewed');
    expect(renewed).toMatchObject({
      certificate: 'bdb:2',
      verification: 'database 2 holds the new certificate; 1 of 1 endpoint(s) serve it',
      pushedWith: 'POST /v1/bdbs/2/certificates, validated first with ?dry_run=true',
    });
    // The database's key is never printed, and the cluster's report shows no cluster push.
    expect(body.clusters[0]).not.toHaveProperty('push');
    const state = await readFile(
      join(world.dir, 'state', 'certificates', 'east', 'bdb_2', 'current.json'),
      'utf8',
    );
    expect(JSON.stringify(body)).not.toContain(keyBody(JSON.parse(state).keyPem));

    // --force NAME and CLUSTER/NAME; an unknown database is a usage error before any request.
    sim.requests.length = 0;
    expect((await cli(world, 'renew', '--config', config, '--force', 'east/bdb:2')).code).toBe(0);
    expect(posts(world, 2)).toEqual([
      ['dry_run=true', 200],
      ['', 200],
    ]);
    sim.requests.length = 0;
    const unknown = await json<{ name: string; message: string }>(
      world,
      'renew',
      '--config',
      config,
      '--force',
      'bdb:7',
    );
    expect(unknown.code).toBe(2);
    expect(unknown.body).toMatchObject({
      name: 'ConfigError',
      message: expect.stringMatching(/"databases"/),
    });
    expect(sim.requests).toEqual([]);
  });

  it.each([
    [
      'a refused dry run',
      { query: 'dry_run=true', status: 400 },
      'InvalidCertificateError',
      [['dry_run=true', 400]],
    ],
    [
      '400 on the POST',
      { query: '', status: 400 },
      'InvalidCertificateError',
      [
        ['dry_run=true', 200],
        ['', 400],
      ],
    ],
    [
      '404 on the POST',
      { query: '', status: 404 },
      'DatabaseNotFoundError',
      [
        ['dry_run=true', 200],
        ['', 404],
      ],
    ],
    [
      '406 on the POST',
      { query: '', status: 406 },
      'ExpiredCertificateError',
      [
        ['dry_run=true', 200],
        ['', 406],
      ],
    ],
    [
      '500 on the POST',
      { query: '', status: 500 },
      'ClusterServerError',
      [
        ['dry_run=true', 200],
        ['', 500],
      ],
    ],
    [
      'a cipher-suite refusal',
      {
        query: 'dry_run=true',
        status: 400,
        body: {
          error_code: 'cipher_suites_mismatch',
          description: 'key type not usable with data_cipher_suites',
        },
      },
      'CipherSuiteMismatchError',
      [['dry_run=true', 400]],
    ],
  ] as const)(
    '%s fails that database at once; the saved certificate is pushed by the next run',
    async (_, fault, name, sent) => {
      world = await startWorld({
        clusters: {
          east: {
            softwareVersion: V80,
            certificates: { proxy: { dnsNames: ['*.redis.example.com'], ...expiring } },
            databases: [
              { uid: 2, name: 'carts', certificate: { dnsNames: ['carts.example.com'], ...expiring } },
            ],
          },
        },
      });
      await labCa(world);
      const config = await world.writeConfig(
        {},
        {
          east: {
            certificates: { proxy: { domains: ['*.redis.example.com'], issuer: localCa(world, 'lab') } },
            databases: { '2': { domains: ['carts.example.com'], issuer: localCa(world, 'lab') } },
          },
        },
      );
      const sim = world.sims.east!;
      sim.injectFault({ kind: 'status', method: 'POST', path: '/v1/bdbs/2/certificates', ...fault });
      const { code, body } = await json<RenewReport>(world, 'renew', '--config', config);
      expect(body.alerts.filter((a) => a.kind !== 'renewed')).toEqual([
        expect.objectContaining({ kind: 'renewal-failed', certificate: 'bdb:2' }),
      ]);
      expect(code).toBe(1);
      expect(posts(world, 2)).toEqual(sent);
      const failed = body.alerts.find((a) => a.kind === 'renewal-failed');
      expect(failed).toMatchObject({ certificate: 'bdb:2', error: { name } });
      if (name === 'CipherSuiteMismatchError')
        expect(failed?.kind === 'renewal-failed' && failed.error.hint).toMatch(/"keyType" of bdb:2/);
      // The cluster's own batch is another Map item: proxy was renewed all the same.
      expect(row(body, 'proxy').action).toBe('renewed');
      const saved = JSON.parse(
        await readFile(join(world.dir, 'state', 'certificates', 'east', 'bdb_2', 'current.json'), 'utf8'),
      ) as { fingerprint256: string };
      sim.requests.length = 0;
      expect((await cli(world, 'renew', '--config', config)).code).toBe(0);
      expect(posts(world, 2)).toEqual([
        ['dry_run=true', 200],
        ['', 200],
      ]);
      // No new order: the certificate saved before the refusal is the one that went in.
      expect(sim.databaseCertificate(2)!.fingerprint256).toBe(saved.fingerprint256);
    },
  );

  it('rollback: refused for a certificate RS never gave the key of; puts back one it issued; DELETE back to none', async () => {
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: V80,
          databases: [
            { uid: 2, name: 'carts', certificate: { dnsNames: ['carts.example.com'], ...expiring } },
            { uid: 3, name: 'cache', certificate: null },
          ],
        },
      },
    });
    await labCa(world);
    const config = await world.writeConfig(
      {},
      {
        east: {
          databases: {
            '2': { domains: ['carts.example.com'], issuer: localCa(world, 'lab') },
            '3': { domains: ['redis-10003.cluster.local'], issuer: localCa(world, 'lab') },
          },
        },
      },
    );
    const sim = world.sims.east!;
    expect((await cli(world, 'renew', '--config', config)).code).toBe(0);
    const first = sim.databaseCertificate(2)!.fingerprint256;
    expect(sim.databaseCertificate(3)).toBeDefined();

    sim.requests.length = 0;
    const refused = await json<RollbackResult>(
      world,
      'rollback',
      '--config',
      config,
      '--cluster',
      'east',
      '--certificate',
      'bdb:2',
    );
    expect(refused.code).toBe(1);
    expect(refused.body).toMatchObject({ rolledBack: false, error: { name: 'RollbackRefusedError' } });
    expect(refused.body.error?.message).toMatch(/never returns a database certificate's key/);
    expect(sim.requests.filter((r) => r.method !== 'GET')).toEqual([]);

    expect((await cli(world, 'renew', '--config', config, '--force', 'bdb:2')).code).toBe(0);
    const second = sim.databaseCertificate(2)!.fingerprint256;
    const back = await json<RollbackResult>(
      world,
      'rollback',
      '--config',
      config,
      '--cluster',
      'east',
      '--certificate',
      'bdb:2',
    );
    expect(back.body).toMatchObject({
      rolledBack: true,
      fingerprint256: first,
      replacedFingerprint256: second,
    });
    expect(sim.databaseCertificate(2)!.fingerprint256).toBe(first);
    // ...and undone, since the one it replaced was kept with its key.
    await cli(world, 'rollback', '--config', config, '--cluster', 'east', '--certificate', 'bdb:2');
    expect(sim.databaseCertificate(2)!.fingerprint256).toBe(second);

    sim.requests.length = 0;
    const none = await json<RollbackResult>(
      world,
      'rollback',
      '--config',
      config,
      '--cluster',
      'east',
      '--certificate',
      'bdb:3',
    );
    expect(none.body).toMatchObject({
      rolledBack: true,
      pushedWith: "DELETE /v1/bdbs/3/certificates (back to the cluster's default certificate)",
    });
    expect(sim.databaseCertificate(3)).toBeUndefined();
    expect(sim.requests.filter((r) => r.method === 'DELETE').map((r) => [r.path, r.status])).toEqual([
      ['/v1/bdbs/3/certificates', 200],
    ]);
  });
});

describe('internode encryption and keyless certificates', () => {
  it('renews an internode certificate through a private CA with an RSA key, in the cluster push', async () => {
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: V80,
          certificates: {
            api: fresh,
            proxy: fresh,
            data_internode_encryption: { dnsNames: ['internode.cluster.local'], ...expiring },
          },
        },
      },
    });
    await labCa(world);
    const config = await world.writeConfig(
      {},
      {
        east: {
          certificates: {
            data_internode_encryption: {
              domains: ['internode.cluster.local'],
              issuer: localCa(world, 'lab'),
            },
          },
        },
      },
    );
    const { code, body } = await json<RenewReport>(world, 'renew', '--config', config);
    expect(body.alerts).toEqual([expect.objectContaining({ kind: 'renewed' })]);
    expect(code).toBe(0);
    expect(row(body, 'data_internode_encryption')).toMatchObject({
      action: 'renewed',
      issuerType: 'local-ca',
    });
    const put = world.sims.east!.requests.find((r) => r.method === 'PUT')!;
    expect(put).toMatchObject({ path: '/v1/cluster/certificates', status: 200 });
    expect(put.putCertificates?.map((c) => c.name)).toEqual(['data_internode_encryption']);
    const leaf = new X509Certificate(world.sims.east!.certificate('data_internode_encryption')!.certPem);
    expect(leaf.publicKey.asymmetricKeyType).toBe('rsa');
  });

  it.each([
    [{ keyType: 'ecdsa-p256', issuer: 'lab' }, /keyType: data_internode_encryption must have an RSA key/],
    [{ issuer: 'acme' }, /issuer: data_internode_encryption needs a private CA/],
    [
      { issuer: 'lab', validityDays: 12 },
      /validityDays: data_internode_encryption renews 4 days before it expires/,
    ],
  ])('refuses at load, exit 2 and no request: %j', async (settings, message) => {
    world = await startWorld({ clusters: { east: { softwareVersion: V80 } } });
    await labCa(world);
    const issuer =
      settings.issuer === 'acme'
        ? 'acme'
        : localCa(world, 'lab', (settings as { validityDays?: number }).validityDays);
    const config = await world.writeConfig(
      {
        acme: { email: 'ops@example.com', directoryUrl: 'https://127.0.0.1:9/dir' },
        dns: { provider: 'httpreq', endpoint: 'http://127.0.0.1:9' },
      },
      {
        east: {
          certificates: {
            data_internode_encryption: {
              domains: ['internode.cluster.local'],
              issuer,
              ...('keyType' in settings ? { keyType: settings.keyType } : {}),
            },
          },
        },
      },
    );
    const run = await json<{ name: string; message: string }>(world, 'check', '--config', config);
    expect(run.code).toBe(2);
    expect(run.body.name).toBe('ConfigError');
    expect(run.body.message).toMatch(message);
    expect(world.sims.east!.requests).toEqual([]);
  });

  it('mtls_trusted_ca (no key) is reported and alerted on, never "key missing", never managed', async () => {
    const trusted = await createCa({
      commonName: 'Client CA',
      notBefore: daysFromNow(-700),
      notAfter: daysFromNow(10),
    });
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: V80,
          certificates: {
            api: fresh,
            proxy: fresh,
            mtls_trusted_ca: { certPem: trusted.certPem, keyless: true },
          },
        },
      },
    });
    const config = await world.writeConfig({});
    const { body } = await json<RenewReport>(world, 'renew', '--config', config);
    expect(row(body, 'mtls_trusted_ca')).toMatchObject({
      status: 'expiring',
      keyMatches: null,
      error: null,
      managed: false,
      action: 'alert-only',
    });
    expect(body.alerts).toEqual([
      expect.objectContaining({
        kind: 'alert-only',
        certificate: 'mtls_trusted_ca',
        reason: expect.stringMatching(/comes without a key/),
      }),
    ]);
    const listed = await world.writeConfig(
      {},
      {
        east: {
          certificates: { mtls_trusted_ca: { domains: ['ca.example.com'], issuer: localCa(world, 'lab') } },
        },
      },
    );
    const refused = await json<{ name: string; message: string }>(world, 'check', '--config', listed);
    expect(refused.code).toBe(2);
    expect(refused.body.message).toMatch(
      /certificates\.mtls_trusted_ca: mtls_trusted_ca comes without a key/,
    );
  });
});

describe('certificate login, Basic turned off, and the client certificate', () => {
  /** A cluster on RS 8.2 with certificate login for CN=rs-cert-watchdog, and the client pair in files. */
  async function certificateWorld(options: { basic?: boolean; clientDays?: number } = {}) {
    const clientCa = await createCa({ commonName: 'Watchdog client CA' });
    const subject: Array<Record<string, string[]>> = [
      { O: ['Example'] },
      { OU: ['ops'] },
      { CN: ['rs-cert-watchdog'] },
    ];
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: V82,
          basicAuthentication: options.basic ?? false,
          certificates: {
            api: fresh,
            proxy: fresh,
            mtls_trusted_ca: { certPem: clientCa.certPem, keyless: true },
          },
          certificateAuthentication: { users: ['CN=rs-cert-watchdog,OU=ops,O=Example'] },
        },
      },
    });
    const days = options.clientDays ?? 200;
    const client = await issueCert({
      ca: clientCa,
      dnsNames: ['watchdog.ops.example.com'],
      subject,
      extKeyUsage: ['clientAuth'],
      notBefore: daysFromNow(Math.min(-1, days - 90)),
      notAfter: daysFromNow(days),
    });
    await writeFile(join(world.dir, 'client.pem'), client.chainPem);
    await writeFile(join(world.dir, 'client.key'), client.keyPem, { mode: 0o600 });
    await writeFile(join(world.dir, 'client-ca.pem'), clientCa.certPem);
    await writeFile(join(world.dir, 'client-ca.key'), clientCa.keyPem, { mode: 0o600 });
    return { client, clientCa };
  }
  const login = (w: World, extra: Record<string, unknown> = {}) => ({
    username: undefined,
    passwordEnv: undefined,
    clientCertificate: { certFile: join(w.dir, 'client.pem'), keyFile: join(w.dir, 'client.key'), ...extra },
  });

  it('a password against Basic turned off is BasicAuthDisabledError, whose hint says clientCertificate', async () => {
    await certificateWorld();
    const { code, body } = await json<FleetReport>(world!, 'check', '--config', await world!.writeConfig({}));
    expect(code).toBe(1);
    expect(body.clusters[0]!.error).toMatchObject({
      name: 'BasicAuthDisabledError',
      hint: expect.stringMatching(/configure "clientCertificate"/),
    });
  });

  it('logs in with the client certificate alone, on every request, and reports it as the row "client"', async () => {
    const { client } = await certificateWorld();
    const config = await world!.writeConfig({}, { east: login(world!) });
    const { code, body } = await json<FleetReport>(world!, 'check', '--config', config);
    expect(body.clusters[0]!.error).toBeNull();
    expect(code).toBe(0);
    expect(row(body, 'client')).toMatchObject({
      status: 'ok',
      managed: false,
      subject: 'O=Example, OU=ops, CN=rs-cert-watchdog',
      fingerprint256: client.fingerprint256,
      keyMatches: true,
    });
    const requests = world!.sims.east!.requests;
    expect(requests.length).toBeGreaterThan(1);
    for (const r of requests)
      expect(r).toMatchObject({ authMethod: 'certificate', clientCertificate: client.fingerprint256 });
    // Without a password configured, no Authorization header was ever sent (Basic would be a 401).
    expect(requests.every((r) => r.status === 200)).toBe(true);
  });

  it('renews the client certificate with the same subject, writes it back (key 0600), and logs in with it next', async () => {
    const { client } = await certificateWorld({ clientDays: 5 });
    const config = await world!.writeConfig(
      {},
      { east: login(world!, { issuer: { ...localCa(world!, 'client', 90) } }) },
    );
    const renew = await json<RenewReport>(world!, 'renew', '--config', config);
    expect(renew.code).toBe(0);
    const renewed = row(renew.body, 'client');
    expect(renewed).toMatchObject({ action: 'renewed', managed: true, issuerType: 'local-ca' });
    const certificatePem = await readFile(join(world!.dir, 'client.pem'), 'utf8');
    const leaf = new X509Certificate(certificatePem);
    expect(leaf.fingerprint256).toBe(renewed.renewed!.fingerprint256);
    expect(leaf.fingerprint256).not.toBe(client.fingerprint256);
    expect(leaf.subject).toBe(new X509Certificate(client.certPem).subject);
    expect(leaf.subjectAltName).toBe('DNS:watchdog.ops.example.com');
    expect((await stat(join(world!.dir, 'client.key'))).mode & 0o777).toBe(0o600);
    expect(
      leaf.checkPrivateKey(
        (await import('node:crypto')).createPrivateKey(
          await readFile(join(world!.dir, 'client.key'), 'utf8'),
        ),
      ),
    ).toBe(true);
    expect(renew.body.alerts.find((a) => a.kind === 'renewed')).toMatchObject({
      certificate: 'client',
      verification: 'the new client certificate is in place and the cluster accepts it (certificate login)',
      pushedWith: expect.stringMatching(/^written to .*client\.pem and .*client\.key \(key 0600\)$/),
    });
    // The old key is kept for rollback in the state store, never printed.
    expect(JSON.stringify(renew.body)).not.toContain(keyBody(client.keyPem));
    world!.sims.east!.requests.length = 0;
    expect((await cli(world!, 'check', '--config', config)).code).toBe(0);
    expect(world!.sims.east!.requests[0]).toMatchObject({ clientCertificate: leaf.fingerprint256 });

    // rollback --certificate client puts the kept pair back, through the same login and write.
    const back = await json<RollbackResult>(
      world!,
      'rollback',
      '--config',
      config,
      '--cluster',
      'east',
      '--certificate',
      'client',
    );
    expect(back.body).toMatchObject({ rolledBack: true, fingerprint256: client.fingerprint256 });
    expect(new X509Certificate(await readFile(join(world!.dir, 'client.pem'), 'utf8')).fingerprint256).toBe(
      client.fingerprint256,
    );
  });

  it('never writes a client certificate the cluster would refuse: the files stay as they were', async () => {
    await certificateWorld({ clientDays: 5 });
    // A CA the cluster's mtls_trusted_ca does not hold.
    await labCa(world!, 'other');
    const before = await readFile(join(world!.dir, 'client.pem'), 'utf8');
    const config = await world!.writeConfig(
      {},
      { east: login(world!, { issuer: localCa(world!, 'other') }) },
    );
    const renew = await json<RenewReport>(world!, 'renew', '--config', config);
    expect(renew.code).toBe(1);
    expect(renew.body.alerts.find((a) => a.kind === 'renewal-failed')).toMatchObject({
      certificate: 'client',
      error: { name: 'ClientCertificateRefusedError', message: expect.stringMatching(/nothing was written/) },
    });
    expect(await readFile(join(world!.dir, 'client.pem'), 'utf8')).toBe(before);
  });

  it('an expired client certificate locks the watchdog out, and is renewed all the same', async () => {
    const { client } = await certificateWorld({ clientDays: -1 });
    const config = await world!.writeConfig(
      {},
      { east: login(world!, { issuer: localCa(world!, 'client') }) },
    );
    const check = await json<FleetReport>(world!, 'check', '--config', config);
    expect(check.body.clusters[0]!.error).toMatchObject({ name: 'ClientCertificateRefusedError' });
    expect(row(check.body, 'client')).toMatchObject({
      status: 'expired',
      fingerprint256: client.fingerprint256,
    });
    const table = await cli(world!, 'check', '--config', config);
    expect(table.stdout).toMatch(/client +expired/);

    const renew = await json<RenewReport>(world!, 'renew', '--config', config);
    expect(kinds(renew.body.alerts)).toEqual(['cluster-unreachable:', 'renewed:client']);
    expect((await cli(world!, 'check', '--config', config)).code).toBe(0);
  });

  it('an unreadable or mismatched client key is a configuration error: exit 2 before any request', async () => {
    await certificateWorld();
    const other = await issueCert({ ca: await createCa(), dnsNames: ['x.example.com'], freshKey: true });
    await writeFile(join(world!.dir, 'client.key'), other.keyPem);
    const config = await world!.writeConfig({}, { east: login(world!) });
    const run = await json<{ name: string; message: string }>(world!, 'check', '--config', config);
    expect(run.code).toBe(2);
    expect(run.body.message).toMatch(
      /clientCertificate: the key in .*client\.key does not belong to the certificate/,
    );
    expect(world!.sims.east!.requests).toEqual([]);
    expect(JSON.stringify(run)).not.toContain(keyBody(other.keyPem));
  });
});

describe('RS 8.2 upload refusals', () => {
  it('an ECDSA key against RSA-only cipher suites is CipherSuiteMismatchError, naming keyType', async () => {
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: V82,
          cipherSuites: { control: 'ECDHE-RSA-AES256-GCM-SHA384' },
          certificates: { api: { dnsNames: ['cluster.example.com'], ...expiring }, proxy: fresh },
        },
      },
      pebble: {},
    });
    const config = await world.writeConfig(
      {},
      {
        east: {
          serverName: 'cluster.example.com',
          certificates: { api: { domains: ['cluster.example.com'], keyType: 'ecdsa-p256' } },
        },
      },
    );
    const { code, body } = await json<RenewReport>(world, 'renew', '--config', config);
    expect(code).toBe(1);
    const failed = body.alerts.find((a) => a.kind === 'renewal-failed');
    expect(failed).toMatchObject({
      certificate: 'api',
      error: { name: 'CipherSuiteMismatchError', hint: expect.stringMatching(/"keyType" of api/) },
      action: expect.stringMatching(/keyType/),
    });
    expect(world.sims.east!.requests.filter((r) => r.method === 'PUT').map((r) => r.status)).toEqual([400]);
  });
});
