/**
 * Issue 19 items 5 (orders) and 6, through the built executable (dist/cli.mjs, a private build)
 * against RS simulators and Pebble behind the test ARI server: the per-run order budget (most
 * urgent first, deferred with a finding, ARI `replaces` orders counted apart), `acme.ari: false`
 * (no renewalInfo request at all, no `replaces`), and the ARI circuit breaker (a CA out of reach
 * costs one request per run, logged once).
 */
import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../lambdas/domain/ports';
import type { RenewReport } from '../../lambdas/domain/renewal/runner';
import type { FleetReport } from '../../lambdas/domain/report';
import { type AriServer, ariCertId, startAriServer } from '../support/ari-server';
import { buildCliBundle, type CliBundle } from '../support/cli-bundle';
import { daysFromNow, startWorld, type World } from '../support/world';

/** Each cluster its own names: two clusters' orders run side by side, and share no DNS-01 record. */
const managed = (site: string) => ({
  serverName: `cluster.${site}.example.com`,
  certificates: {
    api: { domains: [`cluster.${site}.example.com`] },
    proxy: { domains: [`*.redis.${site}.example.com`, `redis.${site}.example.com`], keyType: 'ecdsa-p256' },
    cm: { domains: [`cm.${site}.example.com`], keyType: 'ecdsa-p256' },
  },
});

const simCertificates = (site: string) => ({
  api: { dnsNames: [`cluster.${site}.example.com`], notBefore: daysFromNow(-80), notAfter: daysFromNow(10) },
  proxy: { dnsNames: [`*.redis.${site}.example.com`], notBefore: daysFromNow(-80), notAfter: daysFromNow(4) },
  cm: { dnsNames: [`cm.${site}.example.com`], notBefore: daysFromNow(-80), notAfter: daysFromNow(20) },
  syncer: {
    dnsNames: [`syncer.${site}.example.com`],
    notBefore: daysFromNow(-10),
    notAfter: daysFromNow(300),
  },
});

describe('orders and reach through the executable', () => {
  let bundle: CliBundle;
  let world: World;
  let ari: AriServer;
  const cli = (...args: string[]) => bundle.run(world.env, ...args);
  const certOf = (report: FleetReport, cluster: string, name: string) =>
    report.clusters.find((c) => c.name === cluster)?.certificates.find((c) => c.name === name);
  const config = (acme: Record<string, unknown> = {}) =>
    world.writeConfig(
      { acme: { directoryUrl: ari.directoryUrl, email: 'ops@example.com', caFile: ari.caFile, ...acme } },
      { 'prod-east': managed('east'), 'prod-west': managed('west') },
    );

  beforeAll(async () => {
    [bundle, world] = await Promise.all([
      buildCliBundle(),
      startWorld({
        clusters: {
          'prod-east': { certificates: simCertificates('east') },
          'prod-west': { certificates: simCertificates('west') },
        },
        pebble: {},
      }),
    ]);
    ari = await startAriServer(world.pebble!, { dir: world.dir });
  }, 180_000);
  afterAll(async () => {
    await ari?.close();
    await world?.close();
    await bundle?.close();
  });
  beforeEach(() => ari.reset());
  /** The CLI keeps ARI windows in its state directory until the CA's Retry-After. */
  const clearStoredWindows = () =>
    rm(join(world.dir, 'state', 'renewal-info'), { recursive: true, force: true });

  it('spends the order budget on the certificates closest to expiry and defers the rest, with a finding each', async () => {
    // The simulator's certificates are not Pebble's: the CA answers 404, the lifetime policy decides.
    ari.setDefaultWindow(null);
    const file = await config({ orderBudget: 2 });

    const dry = await cli('renew', '--config', file, '--dry-run');
    expect(dry.stdout.match(/: would defer its order to the next run/g)?.length).toBe(4);
    expect(ari.newOrders).toHaveLength(0);

    const run = await cli('renew', '--config', file, '--json');
    const report = JSON.parse(run.stdout) as RenewReport;
    // Two new orders: the two proxies (4 days left); every other due certificate waits for the next run.
    expect(ari.newOrders).toHaveLength(2);
    for (const cluster of ['prod-east', 'prod-west']) {
      expect(certOf(report, cluster, 'proxy')).toMatchObject({ action: 'renewed', orderBudget: 'new' });
      expect(certOf(report, cluster, 'api')).toMatchObject({ action: 'deferred', orderBudget: 'deferred' });
      expect(certOf(report, cluster, 'cm')).toMatchObject({ action: 'deferred', orderBudget: 'deferred' });
      expect(certOf(report, cluster, 'syncer')?.orderBudget).toBeUndefined();
    }
    const deferred = report.alerts.filter(
      (a): a is Extract<Alert, { kind: 'order-deferred' }> => a.kind === 'order-deferred',
    );
    expect(deferred.map((a) => `${a.cluster}/${a.certificate}`).sort()).toEqual([
      'prod-east/api',
      'prod-east/cm',
      'prod-west/api',
      'prod-west/cm',
    ]);
    expect(deferred[0]).toMatchObject({ lane: 'new', budget: 2, status: 'expiring' });
    expect(report.alerts.some((a) => a.kind === 'renewal-failed')).toBe(false);
    // Due certificates left waiting need attention: exit 1.
    expect(run.code).toBe(1);

    // The next run: the next most urgent (api, 10 days left), and cm waits once more.
    const table = await cli('renew', '--config', file);
    expect(ari.newOrders).toHaveLength(4);
    expect(table.stdout.match(/^ {2}api .* renewed /gm)).toHaveLength(2);
    expect(table.stdout.match(/^ {2}cm .* deferred /gm)).toHaveLength(2);
    const after = JSON.parse((await cli('check', '--config', file, '--json')).stdout) as FleetReport;
    for (const cluster of ['prod-east', 'prod-west']) {
      expect(certOf(after, cluster, 'api')?.status).toBe('ok');
      expect(certOf(after, cluster, 'cm')?.status).toBe('expiring');
    }
  });

  it('counts ARI renewals apart: an order that names what it replaces does not spend the budget', async () => {
    // Every certificate on the clusters now has a window that has passed: renew now, with `replaces`.
    ari.setDefaultWindow({ start: daysFromNow(-2), end: daysFromNow(-1) });
    const file = await config({ orderBudget: 0 });
    const report = JSON.parse((await cli('renew', '--config', file, '--json')).stdout) as RenewReport;
    const cmIds = ['prod-east', 'prod-west'].map((c) => certOf(report, c, 'cm'));
    for (const cm of cmIds) expect(cm).toMatchObject({ action: 'renewed', orderBudget: 'replaces' });
    expect(ari.newOrders.length).toBeGreaterThanOrEqual(2);
    expect(ari.newOrders.every((o) => typeof o.payload.replaces === 'string')).toBe(true);

    // With a cap on them too, the most urgent goes first and the rest waits: only the two cm are
    // due now (their windows have passed), and one ARI renewal is allowed.
    ari.reset();
    ari.setDefaultWindow(null);
    for (const sim of Object.values(world.sims))
      ari.setWindow(ariCertId(sim.certificate('cm')?.certPem ?? ''), {
        start: daysFromNow(-2),
        end: daysFromNow(-1),
      });
    await clearStoredWindows();
    const capped = JSON.parse(
      (await cli('renew', '--config', await config({ orderBudget: 0, replacesOrderBudget: 1 }), '--json'))
        .stdout,
    ) as RenewReport;
    const actions = ['prod-east', 'prod-west'].map((c) => certOf(capped, c, 'cm')?.action).sort();
    expect(actions).toEqual(['deferred', 'renewed']);
    expect(ari.newOrders).toHaveLength(1);
    expect(capped.alerts.find((a) => a.kind === 'order-deferred')).toMatchObject({
      lane: 'replaces',
      budget: 1,
    });
  });

  it('asks no renewalInfo at all with acme.ari false, and orders without `replaces`', async () => {
    ari.setDefaultWindow({ start: daysFromNow(-2), end: daysFromNow(-1) });
    const file = await config({ ari: false });
    const check = await cli('check', '--config', file, '--json');
    const report = JSON.parse(check.stdout) as FleetReport;
    expect(certOf(report, 'prod-east', 'proxy')?.renewalInfo).toBeUndefined();
    expect(certOf(report, 'prod-east', 'proxy')?.renewalInfoError).toBeUndefined();
    // Not the renewalInfo, not even the directory: the check sends the CA nothing.
    expect(ari.renewalInfoRequests).toHaveLength(0);
    expect(ari.hits).toEqual([]);

    await cli('renew', '--config', file, '--force', 'prod-east/proxy', '--json');
    expect(ari.renewalInfoRequests).toHaveLength(0);
    expect(ari.newOrders).toHaveLength(1);
    expect(ari.newOrders[0]?.payload.replaces).toBeUndefined();
  });

  it('pays one failed request per run when the renewalInfo cannot be reached, and says so once', async () => {
    ari.dropRenewalInfo('always');
    // Windows stored by earlier runs would spare requests: this run has to ask for all six.
    await clearStoredWindows();
    const file = await config();
    const check = await cli('check', '--config', file, '--json');
    const report = JSON.parse(check.stdout) as FleetReport;
    expect(ari.renewalInfoRequests).toHaveLength(1);
    expect(check.stderr.match(/ARI skipped for the rest of this run/g)).toHaveLength(1);
    const errors = report.clusters.flatMap((c) =>
      c.certificates.flatMap((cert) => (cert.renewalInfoError ? [cert.renewalInfoError.message] : [])),
    );
    expect(errors).toHaveLength(6);
    expect(
      errors.filter((m) => m.startsWith('ARI skipped for the rest of this run: the CA could not be reached')),
    ).toHaveLength(5);
    // The lifetime policy decided: every certificate has its renewal time.
    for (const cluster of report.clusters)
      for (const cert of cluster.certificates) expect(cert.renewalTime).not.toBeNull();

    // The next run asks again (one request), and once the CA answers, every certificate is asked.
    await cli('check', '--config', file, '--json');
    expect(ari.renewalInfoRequests).toHaveLength(2);
    ari.reset();
    ari.setDefaultWindow({ start: daysFromNow(30), end: daysFromNow(32) });
    await cli('check', '--config', file, '--json');
    expect(ari.renewalInfoRequests.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(6);
  });

  it('makes one connection per run to a directory that cannot be reached', async () => {
    const sockets = new Set<Socket>();
    let connections = 0;
    const blackHole: Server = createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.destroy();
    });
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blackHole.address() as AddressInfo).port;
      const file = await config({ directoryUrl: `https://127.0.0.1:${port}/dir` });
      await clearStoredWindows();
      const check = await cli('check', '--config', file, '--json');
      expect(connections).toBe(1);
      expect(check.stderr.match(/ARI skipped for the rest of this run/g)).toHaveLength(1);
      expect(check.stderr).toMatch(
        /ARI skipped for the rest of this run, the lifetime policy decides instead: GET the ACME directory/,
      );
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => blackHole.close(() => resolve()));
    }
  });
});
