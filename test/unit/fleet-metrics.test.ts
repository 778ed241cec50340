/**
 * Issue 19 item 4: fleet metrics that cost little. The numbers of a run (pure), their merge across
 * shards, the values published every run, and their publication as EMF without a per-cluster
 * dimension (Powertools Metrics, its output read back).
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  certificateExpiryRecords,
  expiringWithin,
  FLEET_METRIC,
  fleetMetrics,
  mergeFleetSummaries,
  summarizeFleet,
} from '../../lambdas/domain/fleet-metrics';
import type { CertificateReport, ClusterReport } from '../../lambdas/domain/report';
import { publishRunMetrics } from '../../lambdas/wiring/runtime';

const NOW = new Date('2026-11-23T06:00:00.000Z');
const DAY = 86_400_000;

function cert(
  name: string,
  daysLeft: number | null,
  extra: Partial<CertificateReport> = {},
): CertificateReport {
  return {
    name,
    status: daysLeft === null ? 'invalid' : daysLeft <= 0 ? 'expired' : daysLeft < 30 ? 'expiring' : 'ok',
    action: 'none',
    managed: true,
    notBefore: null,
    notAfter: daysLeft === null ? null : new Date(NOW.getTime() + daysLeft * DAY).toISOString(),
    renewalTime: null,
    daysLeft,
    lifetimeDays: 90,
    subject: null,
    dnsNames: [],
    issuer: null,
    serialNumber: null,
    fingerprint256: null,
    keyType: null,
    keySize: null,
    keyMatches: null,
    chainLength: 1,
    error: null,
    ...extra,
  };
}

const fleet: ClusterReport[] = [
  {
    name: 'east',
    error: null,
    certificates: [
      cert('proxy', 3),
      cert('api', 10),
      cert('cm', -2),
      cert('syncer', null),
      cert('metrics_exporter', 200),
      // Renewed this run: counts with its new expiry.
      cert('ldap_client', 1, {
        action: 'renewed',
        renewed: {
          notAfter: new Date(NOW.getTime() + 90 * DAY).toISOString(),
          serialNumber: '1',
          fingerprint256: 'A',
        },
      }),
    ],
  },
  { name: 'west', error: { name: 'ClusterTimeoutError', message: 'slow' }, certificates: [] },
  {
    name: 'north',
    error: null,
    certificates: [
      // A 6-day certificate with 2 days left: normal for its lifetime, not "within 7 days".
      cert('proxy', 2, { lifetimeDays: 6 }),
      cert('api', 13, { action: 'failed' }),
      cert('cm', 20, { action: 'deferred' }),
    ],
  },
];

describe('the fleet summary', () => {
  it('counts a run in a few numbers', () => {
    expect(summarizeFleet(fleet, NOW)).toMatchObject({
      clustersChecked: 3,
      clustersUnreadable: 1,
      certificatesChecked: 9,
      certificatesUnreadable: 1,
      certificatesExpired: 1,
      expiringWithin7Days: 1,
      expiringWithin14Days: 3,
      minDaysLeft: -2,
      renewed: 1,
      renewalFailures: 1,
      deferred: 1,
    });
    expect(
      summarizeFleet(fleet, NOW)
        .soonest.slice(0, 3)
        .map((s) => `${s.cluster}/${s.certificate}`),
    ).toEqual(['east/cm', 'north/proxy', 'east/proxy']);
  });

  it('scales "within 7 / 14 days" to lifetimes under 90 days', () => {
    expect(expiringWithin(7, 7, 90)).toBe(true);
    expect(expiringWithin(7, 7, 365)).toBe(true);
    expect(expiringWithin(14, 7, 45)).toBe(true);
    expect(expiringWithin(14, 7.1, 45)).toBe(false);
    expect(expiringWithin(7, 0.5, 6)).toBe(false);
    expect(expiringWithin(7, 0.4, 6)).toBe(true);
    expect(expiringWithin(7, 0, 90)).toBe(false); // expired is counted apart
    expect(expiringWithin(7, 3, null)).toBe(true);
  });

  it('merges shards in any order to the numbers of the whole', () => {
    const [a, b, c] = fleet.map((cluster) => summarizeFleet([cluster], NOW, 4));
    const whole = summarizeFleet(fleet, NOW, 4);
    const left = mergeFleetSummaries(mergeFleetSummaries(a!, b!, 4), c!, 4);
    const right = mergeFleetSummaries(a!, mergeFleetSummaries(c!, b!, 4), 4);
    expect(left).toEqual(whole);
    expect(right).toEqual(whole);
  });

  it('publishes every number every run (0 included); MinDaysLeft only when a certificate was read', () => {
    const values = fleetMetrics(summarizeFleet(fleet, NOW));
    expect(values.map((v) => v.name).sort()).toEqual(Object.values(FLEET_METRIC).sort());
    const none = fleetMetrics(
      summarizeFleet([{ name: 'west', error: { name: 'E', message: 'm' }, certificates: [] }], NOW),
    );
    expect(none.map((v) => v.name)).not.toContain('MinDaysLeft');
    expect(none.find((v) => v.name === 'ClustersUnreadable')?.value).toBe(1);
    expect(none.find((v) => v.name === 'CertificatesExpired')?.value).toBe(0);
  });

  it('keeps one record per certificate for Logs Insights', () => {
    expect(certificateExpiryRecords(fleet)).toHaveLength(9);
  });
});

describe('publication (EMF)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('one record of fleet metrics, and one per certificate, none with a per-cluster dimension', () => {
    const lines: string[] = [];
    // Powertools writes its records to stdout through its own console.
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((l) => l.startsWith('{')),
      );
      return true;
    });
    // The test environment turns metrics off (vitest.config.ts); this test reads them.
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const metrics = new Metrics({ namespace: 'RsCertWatchdog', serviceName: 'rs-cert-watchdog' });
    publishRunMetrics({ generatedAt: NOW.toISOString(), clusters: fleet }, metrics);
    const records = lines.map(
      (l) =>
        JSON.parse(l) as Record<string, unknown> & {
          _aws: { CloudWatchMetrics: Array<{ Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
        },
    );
    const emf = records.filter((r) => r._aws);
    for (const r of emf) expect(r._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service']]);
    const fleetRecord = emf.find((r) => 'MinDaysLeft' in r);
    expect(fleetRecord).toMatchObject({
      MinDaysLeft: -2,
      ClustersUnreadable: 1,
      CertificatesExpired: 1,
      service: 'rs-cert-watchdog',
    });
    const perCertificate = emf.filter((r) => 'CertificateDaysLeft' in r);
    // The unreadable certificate has no days left: it is a log line, not a value.
    expect(perCertificate).toHaveLength(8);
    expect(perCertificate[0]).toMatchObject({
      cluster: 'east',
      certificate: 'proxy',
      CertificateDaysLeft: 3,
      managed: 'true',
    });
    // One record per certificate, each with its own properties only.
    expect(new Set(perCertificate.map((r) => `${r.cluster}/${r.certificate}`)).size).toBe(8);
    for (const r of perCertificate) expect(r._aws.CloudWatchMetrics[0]?.Metrics).toHaveLength(1);
    // The single-metric publisher is reused by the next run: the same records again, no more.
    lines.length = 0;
    publishRunMetrics({ generatedAt: NOW.toISOString(), clusters: fleet }, metrics);
    const again = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r._aws);
    const withoutTime = (r: Record<string, unknown>) => ({
      ...r,
      _aws: { ...(r._aws as object), Timestamp: 0 },
    });
    expect(again.filter((r) => 'CertificateDaysLeft' in r).map(withoutTime)).toEqual(
      perCertificate.map(withoutTime),
    );
  });
});
