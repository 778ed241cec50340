/**
 * The fleet in a few numbers, once per run: what CloudWatch alarms watch on AWS. Pure.
 *
 * A custom metric per cluster and certificate (a `DaysLeft` series each) is billed per series ($0.30
 * a month for the first 10,000, $0.10 after): about $5,000 a month at 5,000 clusters of 6
 * certificates, and a `SEARCH` graph shows at most 500 of them. So the run publishes fleet-level numbers with no per-cluster dimension (a dozen
 * series whatever the fleet), each alarmed; per-certificate detail goes to the log as properties
 * (EMF without a per-certificate dimension), where Logs Insights finds the soonest expiries.
 *
 * `summarizeFleet` reads one report (the check's, or a whole run's after renewals); summaries of
 * several shards combine with `mergeFleetSummaries` (associative, so a sharded check can fold them
 * in any order); `fleetMetrics` turns a summary into the values published.
 */
import type { ClusterReport } from './report';

const DAY_MS = 86_400_000;

/** The reference lifetime of the day thresholds: a 90-day certificate counts with D days left. */
const REFERENCE_LIFETIME_DAYS = 90;

/** The metric names: an interface (README, "Fleet metrics"). Added to, never renamed. */
export const FLEET_METRIC = {
  minDaysLeft: 'MinDaysLeft',
  expired: 'CertificatesExpired',
  within7Days: 'CertificatesExpiringWithin7Days',
  within14Days: 'CertificatesExpiringWithin14Days',
  certificatesUnreadable: 'CertificatesUnreadable',
  certificatesChecked: 'CertificatesChecked',
  clustersUnreadable: 'ClustersUnreadable',
  clustersChecked: 'ClustersChecked',
  renewed: 'CertificatesRenewed',
  renewalFailures: 'RenewalFailures',
  ordersDeferred: 'OrdersDeferred',
} as const;

export type FleetMetricName = (typeof FLEET_METRIC)[keyof typeof FLEET_METRIC];

/** The per-certificate value of the EMF record whose properties name the cluster and certificate. */
export const CERTIFICATE_DAYS_LEFT = 'CertificateDaysLeft';

export interface SoonestExpiry {
  cluster: string;
  certificate: string;
  notAfter: string;
  daysLeft: number;
  status: string;
  managed: boolean;
}

export interface FleetSummary {
  /** When the numbers hold (days left are counted from it). */
  at: string;
  clustersChecked: number;
  clustersUnreadable: number;
  /** Every certificate the clusters returned, readable or not. */
  certificatesChecked: number;
  /** Returned but not parseable (status `invalid`): their expiry is unknown. */
  certificatesUnreadable: number;
  certificatesExpired: number;
  expiringWithin7Days: number;
  expiringWithin14Days: number;
  /** Days left of the soonest-expiring readable certificate (negative once expired); null when none was read. */
  minDaysLeft: number | null;
  renewed: number;
  renewalFailures: number;
  deferred: number;
  /** The soonest expiries, soonest first, at most `top` of them. */
  soonest: SoonestExpiry[];
}

/**
 * Whether a certificate with `daysLeft` left of a `lifetimeDays` life counts as expiring within
 * `days`: it has not expired, has at most `days` left, and, for a certificate that lives under 90
 * days, at most the same share of its lifetime (days/90). A 90-day (or longer) certificate counts
 * with 14 days left in the 14-day bucket; a 45-day one with 7; Let's Encrypt's 6-day certificates,
 * which always have under a week left, count only with under 22 (14-day bucket) or 11 hours left
 * (7-day bucket), i.e. once they have missed their half-way renewal by far.
 */
export function expiringWithin(
  days: number,
  daysLeft: number,
  lifetimeDays: number | null | undefined,
): boolean {
  if (daysLeft <= 0) return false;
  const share = lifetimeDays && lifetimeDays > 0 ? (lifetimeDays * days) / REFERENCE_LIFETIME_DAYS : days;
  return daysLeft <= Math.min(days, share);
}

/**
 * One report's numbers. A certificate the run renewed counts with its new expiry (then fine); a
 * cluster that could not be read counts once in `clustersUnreadable` and adds no certificate.
 */
export function summarizeFleet(clusters: readonly ClusterReport[], at: Date, top = 10): FleetSummary {
  const summary = emptyFleetSummary(at);
  const soonest = new SoonestList(top);
  for (const cluster of clusters) {
    summary.clustersChecked++;
    if (cluster.error) {
      summary.clustersUnreadable++;
      continue;
    }
    for (const cert of cluster.certificates) {
      summary.certificatesChecked++;
      if (cert.action === 'renewed') summary.renewed++;
      if (cert.action === 'failed') summary.renewalFailures++;
      if (cert.action === 'deferred') summary.deferred++;
      const notAfter = cert.renewed?.notAfter ?? cert.notAfter;
      if (notAfter === null || (cert.status === 'invalid' && !cert.renewed)) {
        summary.certificatesUnreadable++;
        continue;
      }
      const daysLeft = round2((Date.parse(notAfter) - at.getTime()) / DAY_MS);
      const lifetimeDays = cert.renewed ? null : cert.lifetimeDays;
      if (daysLeft <= 0) summary.certificatesExpired++;
      if (expiringWithin(7, daysLeft, lifetimeDays)) summary.expiringWithin7Days++;
      if (expiringWithin(14, daysLeft, lifetimeDays)) summary.expiringWithin14Days++;
      summary.minDaysLeft = summary.minDaysLeft === null ? daysLeft : Math.min(summary.minDaysLeft, daysLeft);
      soonest.push({
        cluster: cluster.name,
        certificate: cert.name,
        notAfter,
        daysLeft,
        status: cert.renewed ? 'ok' : cert.status,
        managed: cert.managed,
      });
    }
  }
  summary.soonest = soonest.items;
  return summary;
}

export function emptyFleetSummary(at: Date): FleetSummary {
  return {
    at: at.toISOString(),
    clustersChecked: 0,
    clustersUnreadable: 0,
    certificatesChecked: 0,
    certificatesUnreadable: 0,
    certificatesExpired: 0,
    expiringWithin7Days: 0,
    expiringWithin14Days: 0,
    minDaysLeft: null,
    renewed: 0,
    renewalFailures: 0,
    deferred: 0,
    soonest: [],
  };
}

/**
 * Two shards' numbers as one: counts add, the minimum is the smaller, the soonest lists merge.
 * Summaries of the same run should share `at`; the later one is kept.
 */
export function mergeFleetSummaries(a: FleetSummary, b: FleetSummary, top = 10): FleetSummary {
  const min = [a.minDaysLeft, b.minDaysLeft].filter((d): d is number => d !== null);
  return {
    at: a.at > b.at ? a.at : b.at,
    clustersChecked: a.clustersChecked + b.clustersChecked,
    clustersUnreadable: a.clustersUnreadable + b.clustersUnreadable,
    certificatesChecked: a.certificatesChecked + b.certificatesChecked,
    certificatesUnreadable: a.certificatesUnreadable + b.certificatesUnreadable,
    certificatesExpired: a.certificatesExpired + b.certificatesExpired,
    expiringWithin7Days: a.expiringWithin7Days + b.expiringWithin7Days,
    expiringWithin14Days: a.expiringWithin14Days + b.expiringWithin14Days,
    minDaysLeft: min.length ? Math.min(...min) : null,
    renewed: a.renewed + b.renewed,
    renewalFailures: a.renewalFailures + b.renewalFailures,
    deferred: a.deferred + b.deferred,
    soonest: [...a.soonest, ...b.soonest].sort(bySoonest).slice(0, top),
  };
}

export interface FleetMetricValue {
  name: FleetMetricName;
  value: number;
  unit: 'Count' | 'None';
}

/**
 * The values one run publishes, every one of them every run (a count of 0 included), so that an
 * alarm reads "no data" only when no run published: `MinDaysLeft` alone is left out when no
 * certificate could be read (no number is the truth then, and ClustersUnreadable says why).
 */
export function fleetMetrics(summary: FleetSummary): FleetMetricValue[] {
  const count = (name: FleetMetricName, value: number): FleetMetricValue => ({ name, value, unit: 'Count' });
  return [
    ...(summary.minDaysLeft === null
      ? []
      : [{ name: FLEET_METRIC.minDaysLeft, value: summary.minDaysLeft, unit: 'None' as const }]),
    count(FLEET_METRIC.expired, summary.certificatesExpired),
    count(FLEET_METRIC.within7Days, summary.expiringWithin7Days),
    count(FLEET_METRIC.within14Days, summary.expiringWithin14Days),
    count(FLEET_METRIC.certificatesUnreadable, summary.certificatesUnreadable),
    count(FLEET_METRIC.certificatesChecked, summary.certificatesChecked),
    count(FLEET_METRIC.clustersUnreadable, summary.clustersUnreadable),
    count(FLEET_METRIC.clustersChecked, summary.clustersChecked),
    count(FLEET_METRIC.renewed, summary.renewed),
    count(FLEET_METRIC.renewalFailures, summary.renewalFailures),
    count(FLEET_METRIC.ordersDeferred, summary.deferred),
  ];
}

/** The properties of one certificate's log record (EMF, no per-certificate dimension). */
export interface CertificateExpiryRecord {
  cluster: string;
  certificate: string;
  status: string;
  managed: boolean;
  notAfter: string | null;
  renewalTime: string | null;
  daysLeft: number | null;
}

/** One record per certificate of a report, for Logs Insights (the dashboard's soonest-expiries table). */
export function certificateExpiryRecords(clusters: readonly ClusterReport[]): CertificateExpiryRecord[] {
  return clusters.flatMap((cluster) =>
    cluster.certificates.map((cert) => ({
      cluster: cluster.name,
      certificate: cert.name,
      status: cert.status,
      managed: cert.managed,
      notAfter: cert.notAfter,
      renewalTime: cert.renewalTime,
      daysLeft: cert.daysLeft === null ? null : round2(cert.daysLeft),
    })),
  );
}

/**
 * The `top` soonest expiries, kept sorted as they come: what sorting every certificate of the
 * report and keeping the first `top` gives (the same order, ties included), with a comparison or
 * two per certificate instead of a full sort's (bench/check-shard: a shard of 500 clusters has
 * 3,000 certificates, most of them tied on days left and compared by name).
 */
class SoonestList {
  readonly items: SoonestExpiry[] = [];
  constructor(private readonly top: number) {}

  push(entry: SoonestExpiry): void {
    const { items, top } = this;
    if (top <= 0) return;
    if (items.length === top && bySoonest(entry, items[top - 1] as SoonestExpiry) >= 0) return;
    // Stable: an entry equal to one already kept goes after it, as a stable sort would place it.
    let at = items.length;
    while (at > 0 && bySoonest(entry, items[at - 1] as SoonestExpiry) < 0) at--;
    items.splice(at, 0, entry);
    if (items.length > top) items.pop();
  }
}

function bySoonest(a: SoonestExpiry, b: SoonestExpiry): number {
  return (
    a.daysLeft - b.daysLeft ||
    a.cluster.localeCompare(b.cluster) ||
    a.certificate.localeCompare(b.certificate)
  );
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
