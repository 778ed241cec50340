/**
 * ARI (RFC 9773), ACME profiles and a 6-day lifetime, through the CLI, against the RS simulator and
 * Pebble behind the test ARI server (test/support/ari-server.ts), which adds renewalInfo and
 * meta.profiles to Pebble 2.4 and records every newOrder payload.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RenewReport } from '../../lambdas/domain/renewal/runner';
import type { FleetReport } from '../../lambdas/domain/report';
import { ACME_ERROR, type AriServer, ariCertId, startAriServer } from '../support/ari-server';
import { DAY, daysFromNow, startWorld, type World } from '../support/world';

const SIX_DAYS_S = 6 * 86_400;
/**
 * A replacement must expire later than the certificate it replaces: X.509 times have second
 * precision, so two 6-day certificates issued in the same second tie. Renewals here wait for the next second.
 */
const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1100));

describe('ARI, profiles and short lifetimes through the CLI', () => {
  let world: World;
  let ari: AriServer;
  let config: string;

  const certOf = (report: FleetReport, name: string) =>
    report.clusters[0]!.certificates.find((c) => c.name === name)!;
  const proxyCertId = () => ariCertId(world.sims['prod-east']!.certificate('proxy')!.certPem);
  const writeConfig = (acme: Record<string, unknown> = {}, certificates: Record<string, unknown> = {}) =>
    world.writeConfig(
      {
        acme: { directoryUrl: ari.directoryUrl, email: 'ops@example.com', caFile: ari.caFile, ...acme },
      },
      {
        'prod-east': {
          serverName: 'cluster.example.com',
          certificates: {
            proxy: { domains: ['*.redis.example.com', 'redis.example.com'], keyType: 'ecdsa-p256' },
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
            // Expires before any 6-day certificate Pebble issues now (a replacement must outlive it).
            proxy: {
              dnsNames: ['*.redis.example.com'],
              notBefore: daysFromNow(-10),
              notAfter: daysFromNow(4),
            },
            // Not managed: a 6-day certificate with 36 hours left (alert wording at its scale).
            metrics_exporter: {
              dnsNames: ['metrics.example.com'],
              notBefore: daysFromNow(-4.5),
              notAfter: daysFromNow(1.5),
            },
          },
        },
      },
      // Every certificate Pebble issues here lives 6 days, like Let's Encrypt's shortlived profile.
      pebble: { certificateValiditySeconds: SIX_DAYS_S },
    });
    ari = await startAriServer(world.pebble!, { dir: world.dir });
  });
  afterAll(async () => {
    await ari?.close();
    await world?.close();
  });
  beforeEach(() => ari.reset());

  it('renews a 6-day certificate half-way, with the profile asked for, and reports it', async () => {
    // The simulator's certificates are not Pebble's: the CA answers 404 for them, the lifetime policy decides.
    ari.setDefaultWindow(null);
    config = await writeConfig({ profile: 'shortlived' });
    const first = await world.cli('renew', '--config', config, '--force', 'proxy', '--json');
    const report = JSON.parse(first.stdout) as RenewReport;
    expect(certOf(report, 'proxy')).toMatchObject({
      action: 'renewed',
      profile: 'shortlived',
      issuerType: 'acme',
    });
    expect(certOf(report, 'proxy').renewalInfoError?.name).toBe('RenewalInfoError');
    expect(ari.newOrders).toHaveLength(1);
    expect(ari.newOrders[0]!.payload).toMatchObject({ profile: 'shortlived' });
    // Not Pebble's certificate: no `replaces`.
    expect(ari.newOrders[0]!.payload.replaces).toBeUndefined();
    // A certificate another CA issued is no ARI outage: the report says why, the log stays quiet.
    expect(certOf(report, 'proxy').renewalInfoError?.message).toMatch(/404.*not issued by this CA/);
    expect(first.stderr).not.toMatch(/ARI unavailable/);

    // The new certificate lives 6 days: due half-way (not "30 days before", which is before it began).
    const leaf = new X509Certificate(world.sims['prod-east']!.certificate('proxy')!.certPem);
    const lifetimeDays = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / DAY;
    expect(lifetimeDays).toBeCloseTo(6, 2);
    const check = await world.cli('check', '--config', config, '--json');
    const proxy = certOf(JSON.parse(check.stdout) as FleetReport, 'proxy');
    expect(proxy).toMatchObject({
      status: 'ok',
      renewalBasis: 'half',
      lifetimeDays: 6,
      profile: 'shortlived',
    });
    const halfWay = Date.parse(leaf.validFrom) + 3 * DAY;
    expect(Math.abs(Date.parse(proxy.renewalTime!) - halfWay)).toBeLessThanOrEqual(1000);

    // The unmanaged 6-day certificate is "expiring" in hours, and the alert says so at its scale.
    const dry = await world.cli('renew', '--config', config, '--dry-run', '--json');
    const alerts = (JSON.parse(dry.stdout) as RenewReport).alerts;
    const metrics = alerts.find((a) => a.kind === 'alert-only' && a.certificate === 'metrics_exporter');
    expect(metrics).toMatchObject({ status: 'expiring', lifetimeDays: 6 });
    const { formatAlert } = await import('../../lambdas/domain/alerts');
    expect(formatAlert(metrics!).text).toMatch(/36 hours left of its 6 days lifetime/);
  });

  it('renews early inside the ARI window, sends `replaces`, and shows the window and its explanation', async () => {
    const certId = proxyCertId();
    ari.setWindow(certId, {
      start: new Date(Date.now() - 2 * 3_600_000),
      end: new Date(Date.now() - 3_600_000),
      explanationURL: 'https://ca.example/incident/1',
      retryAfterSeconds: 3600,
    });
    config = await writeConfig();
    const check = await world.cli('check', '--config', config, '--json');
    const before = certOf(JSON.parse(check.stdout) as FleetReport, 'proxy');
    // The lifetime policy says ok (a fresh 6-day certificate); ARI overrides it.
    expect(before).toMatchObject({ status: 'expiring', renewalBasis: 'ari' });
    expect(before.renewalInfo).toMatchObject({ certId, explanationURL: 'https://ca.example/incident/1' });
    const table = await world.cli('check', '--config', config);
    expect(table.stdout).toMatch(/proxy: ARI window .* \(https:\/\/ca\.example\/incident\/1\)/);

    await nextSecond();
    const run = await world.cli('renew', '--config', config, '--json');
    const report = JSON.parse(run.stdout) as RenewReport;
    expect(certOf(report, 'proxy').action).toBe('renewed');
    expect(ari.newOrders.map((o) => o.payload.replaces)).toEqual([certId]);
    const renewed = report.alerts.find((a) => a.kind === 'renewed');
    expect(renewed).toMatchObject({ renewalWindow: { explanationURL: 'https://ca.example/incident/1' } });
  });

  it('orders once more without `replaces` when the CA says alreadyReplaced', async () => {
    const certId = proxyCertId();
    ari.setWindow(certId, { start: new Date(Date.now() - 7_200_000), end: new Date(Date.now() - 3_600_000) });
    ari.rejectReplaces(1);
    config = await writeConfig();
    await nextSecond();
    const run = await world.cli('renew', '--config', config, '--json');
    expect(certOf(JSON.parse(run.stdout) as RenewReport, 'proxy').action).toBe('renewed');
    expect(ari.newOrders.map((o) => [o.payload.replaces, o.problemType ?? o.status])).toEqual([
      [certId, ACME_ERROR.alreadyReplaced],
      [undefined, 201],
    ]);
    expect(run.stderr).toMatch(/refused "replaces"/);
  });

  it('falls back to the lifetime policy on ARI errors, logs it once, and honours Retry-After between runs', async () => {
    config = await writeConfig();
    const renewProxy = async () => {
      await nextSecond();
      const run = await world.cli('renew', '--config', config, '--force', 'proxy', '--json');
      expect(certOf(JSON.parse(run.stdout) as RenewReport, 'proxy').action).toBe('renewed');
    };
    await renewProxy(); // a certificate no earlier run has a stored window for
    // A window far ahead, asked once: the next check reuses it without asking (Retry-After 1 hour).
    ari.setWindow(proxyCertId(), {
      start: new Date(Date.now() + 2 * DAY),
      end: new Date(Date.now() + 2.5 * DAY),
      retryAfterSeconds: 3600,
    });
    const first = certOf(
      JSON.parse((await world.cli('check', '--config', config, '--json')).stdout),
      'proxy',
    );
    expect(first.renewalBasis).toBe('ari');
    await world.cli('check', '--config', config, '--json');
    expect(ari.renewalInfoRequests.filter((r) => r.certId === proxyCertId())).toHaveLength(1);

    // A new certificate (its certID is new) meets a failing renewalInfo: lifetime policy, one log line.
    await renewProxy();
    ari.failRenewalInfo({ status: 500, detail: 'renewalInfo is down' });
    const check = await world.cli('check', '--config', config, '--json');
    const proxy = certOf(JSON.parse(check.stdout) as FleetReport, 'proxy');
    expect(proxy).toMatchObject({ status: 'ok', renewalBasis: 'half' });
    expect(proxy.renewalInfoError?.message).toMatch(/500.*renewalInfo is down/);
    expect(check.stderr.match(/ARI unavailable/g)).toHaveLength(1);
    expect(proxy.error).toBeNull(); // an ARI outage alone needs no operator
  });

  it('refuses an unknown profile with the offered ones listed, before any order', async () => {
    config = await writeConfig({}, { cm: { domains: ['cluster.example.com'], profile: 'tlsclient' } });
    const check = await world.cli('check', '--config', config, '--json');
    const cm = certOf(JSON.parse(check.stdout) as FleetReport, 'cm');
    expect(cm.profile).toBe('tlsclient');
    expect(cm.error).toMatchObject({ name: 'AcmeProfileError' });
    expect(cm.error?.message).toMatch(/"tlsclient".*"classic", "tlsserver", "shortlived"/);

    const run = await world.cli('renew', '--config', config, '--force', 'cm', '--json');
    const failed = certOf(JSON.parse(run.stdout) as RenewReport, 'cm');
    expect(failed.action).toBe('failed');
    expect(failed.error).toMatchObject({ name: 'AcmeProfileError' });
    const cmOrders = ari.newOrders.filter((o) =>
      o.payload.identifiers?.some((i) => i.value === 'cluster.example.com'),
    );
    expect(cmOrders).toHaveLength(0);
  });
});
