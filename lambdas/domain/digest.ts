/**
 * One digest per run: what a person needs to read after a run of a large fleet, in one email and one
 * Slack message, instead of an alert per finding (thousands on a bad day, each repeated daily).
 * Pure: `buildDigest` reads the run's outcomes (its alerts and the fleet's numbers) and returns a
 * bounded document; `formatDigest` is its email; ./digest-slack.ts is its Block Kit.
 *
 * A line per problem, grouped, most severe group first: failed renewals, unreachable clusters,
 * expired and unreadable certificates the watchdog does not manage, Active-Active follow-ups,
 * deferred orders, pushes outside maintenance windows, expiring unmanaged certificates, rollbacks,
 * and the renewals. Each group keeps at most `maxLinesPerGroup` lines and says how many more there
 * are; the full list is in the run's report, whose location the digest links when it has one.
 *
 * Beside it, an immediate alert goes out only for what cannot wait for anyone's reading of a
 * digest: `immediateAlerts` (a failed renewal, an expired certificate, an Active-Active follow-up
 * that failed or that a person must run: replication breaks until the databases take the new
 * certificate, and the alert carries every database's command, more than a digest line holds).
 */
import { clip } from './alerts';
import type { FleetSummary } from './fleet-metrics';
import { humanDuration } from './policy';
import type { Alert } from './ports';

export type DigestSeverity = 'info' | 'warning' | 'critical';

/** Where the run's full report is (part of issue 19: reports in S3). */
export interface ReportLocation {
  bucket: string;
  key: string;
  /** A link a person can open (an https:// console or presigned URL); none when not given. */
  url?: string;
}

/** What a run produced, as the digest reads it. */
export interface RunOutcomes {
  /** When the run's check read the fleet. */
  generatedAt: string;
  /** The execution (ARN) or the CLI run reported on. */
  run?: string;
  dryRun?: boolean;
  /** The fleet's numbers (fleet-metrics.ts), shards merged. */
  fleet: FleetSummary;
  /** Every alert of the run: findings, renewals, failures, deferrals, follow-ups. */
  alerts: readonly Alert[];
  /** The full report, when it was written somewhere a person can read it. */
  report?: ReportLocation;
}

/** The groups of a digest, in the order they are shown. */
export const DIGEST_GROUPS = [
  { key: 'renewal-failed', title: 'Failed renewals', severity: 'critical' },
  { key: 'cluster-unreachable', title: 'Clusters that could not be read', severity: 'critical' },
  { key: 'expired', title: 'Expired certificates (not managed)', severity: 'critical' },
  { key: 'unreadable', title: 'Unreadable certificates (not managed)', severity: 'critical' },
  { key: 'active-active-failed', title: 'Active-Active follow-ups that failed', severity: 'critical' },
  { key: 'active-active', title: 'Active-Active databases to update', severity: 'warning' },
  { key: 'order-deferred', title: 'Orders deferred to the next run (order budget)', severity: 'warning' },
  { key: 'window-overridden', title: 'Pushed outside the maintenance windows', severity: 'warning' },
  { key: 'expiring', title: 'Expiring certificates (not managed)', severity: 'warning' },
  { key: 'rolled-back', title: 'Rolled back', severity: 'warning' },
  { key: 'renewed', title: 'Renewed', severity: 'info' },
] as const satisfies readonly { key: string; title: string; severity: DigestSeverity }[];

export type DigestGroupKey = (typeof DIGEST_GROUPS)[number]['key'];

export interface DigestGroup {
  key: DigestGroupKey;
  title: string;
  severity: DigestSeverity;
  /** How many problems of this kind the run had. */
  total: number;
  /** The first of them, one line each (at most `maxLinesPerGroup`); `total - lines.length` more in the report. */
  lines: string[];
}

export interface RunDigest {
  kind: 'digest';
  version: 1;
  generatedAt: string;
  run?: string;
  dryRun?: boolean;
  /** The worst group's severity; `info` when nothing needs a person. */
  severity: DigestSeverity;
  /** One line of printable ASCII under 100 characters (an SNS Subject). */
  subject: string;
  counts: DigestCounts;
  /** Only the groups with something in them, in DIGEST_GROUPS order. */
  groups: DigestGroup[];
  /** The soonest expiries of the fleet (after this run's renewals). */
  soonest: FleetSummary['soonest'];
  report?: ReportLocation;
}

export interface DigestCounts {
  clusters: number;
  clustersUnreadable: number;
  certificates: number;
  certificatesExpired: number;
  expiringWithin7Days: number;
  expiringWithin14Days: number;
  minDaysLeft: number | null;
  renewed: number;
  failed: number;
  deferred: number;
}

export interface DigestLimits {
  /** Lines kept per group (default 20). */
  maxLinesPerGroup?: number;
  /** Characters per line (default 200); longer ones end in "…". */
  maxLineLength?: number;
  /** Soonest expiries listed (default 5). */
  maxSoonest?: number;
}

/** The alerts that go out at once, beside the digest: those that cannot wait. */
export function immediateAlerts(alerts: readonly Alert[]): Alert[] {
  return alerts.filter(
    (a) =>
      a.kind === 'renewal-failed' ||
      ((a.kind === 'alert-only' || a.kind === 'order-deferred') && a.status === 'expired') ||
      // A follow-up a person must run now (or that failed): Active-Active replication breaks until it is done.
      (a.kind === 'active-active' && (a.mode === 'failed' || a.mode === 'alert')),
  );
}

/** The run's digest: bounded whatever the fleet's size (lines per group and line length are capped). */
export function buildDigest(outcomes: RunOutcomes, limits: DigestLimits = {}): RunDigest {
  const maxLines = limits.maxLinesPerGroup ?? 20;
  const maxLength = limits.maxLineLength ?? 200;
  const byGroup = new Map<DigestGroupKey, Array<{ order: string; line: string }>>();
  for (const alert of outcomes.alerts) {
    const key = groupOf(alert);
    if (!key) continue;
    const entries = byGroup.get(key) ?? [];
    const line = lineOf(alert);
    entries.push({ order: `${urgencyOf(alert)}\n${line}`, line });
    byGroup.set(key, entries);
  }
  const groups: DigestGroup[] = DIGEST_GROUPS.flatMap((g) => {
    const entries = byGroup.get(g.key);
    if (!entries?.length) return [];
    // Soonest expiry first where there is one; the same order whatever order the shards finished in.
    const sorted = entries
      .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0))
      .map((e) => e.line);
    return [
      {
        key: g.key,
        title: g.title,
        severity: g.severity,
        total: sorted.length,
        lines: sorted.slice(0, maxLines).map((l) => shorten(l, maxLength)),
      },
    ];
  });
  const count = (key: DigestGroupKey) => groups.find((g) => g.key === key)?.total ?? 0;
  const fleet = outcomes.fleet;
  const counts: DigestCounts = {
    clusters: fleet.clustersChecked,
    clustersUnreadable: Math.max(fleet.clustersUnreadable, count('cluster-unreachable')),
    certificates: fleet.certificatesChecked,
    certificatesExpired: fleet.certificatesExpired,
    expiringWithin7Days: fleet.expiringWithin7Days,
    expiringWithin14Days: fleet.expiringWithin14Days,
    minDaysLeft: fleet.minDaysLeft,
    renewed: count('renewed'),
    failed: count('renewal-failed'),
    deferred: count('order-deferred'),
  };
  const severity = worst(groups.map((g) => g.severity));
  return {
    kind: 'digest',
    version: 1,
    generatedAt: outcomes.generatedAt,
    ...(outcomes.run ? { run: outcomes.run } : {}),
    ...(outcomes.dryRun ? { dryRun: true } : {}),
    severity,
    subject: subjectOf(outcomes, counts, groups),
    counts,
    groups,
    soonest: fleet.soonest.slice(0, limits.maxSoonest ?? 5),
    ...(outcomes.report ? { report: outcomes.report } : {}),
  };
}

/**
 * A smaller digest when one must fit a size (an SNS message is at most 256 KB): halves the lines
 * of every group until `size(digest)` is at most `maxBytes`; the totals stay.
 */
export function fitDigest(digest: RunDigest, size: (d: RunDigest) => number, maxBytes: number): RunDigest {
  let fitted = digest;
  let keep = Math.max(...digest.groups.map((g) => g.lines.length), 0);
  while (size(fitted) > maxBytes && keep > 0) {
    keep = Math.floor(keep / 2);
    fitted = { ...digest, groups: digest.groups.map((g) => ({ ...g, lines: g.lines.slice(0, keep) })) };
  }
  return fitted;
}

/** The digest as an email: the SNS Subject and a plain text body. */
export function formatDigest(digest: RunDigest): { subject: string; text: string; severity: DigestSeverity } {
  const c = digest.counts;
  const lines: string[] = [
    `rs-cert-watchdog ${digest.dryRun ? 'dry run' : 'run'} of ${when(digest.generatedAt)}${digest.run ? ` (${digest.run})` : ''}.`,
    '',
    `Fleet: ${n(c.clusters)} cluster(s), ${n(c.certificates)} certificate(s); ${n(c.clustersUnreadable)} cluster(s) could not be read.`,
    `Expired: ${n(c.certificatesExpired)}. Expiring within 7 days: ${n(c.expiringWithin7Days)}; within 14 days: ${n(c.expiringWithin14Days)}.` +
      (c.minDaysLeft === null ? '' : ` Soonest expiry: ${timeLeft(c.minDaysLeft)}.`),
    `This run: ${n(c.renewed)} renewed, ${n(c.failed)} failed, ${n(c.deferred)} deferred.`,
    ...(digest.report
      ? [`Full report: ${digest.report.url ?? `s3://${digest.report.bucket}/${digest.report.key}`}`]
      : []),
  ];
  if (digest.groups.length === 0) lines.push('', 'Nothing needs a person.');
  for (const group of digest.groups) {
    lines.push('', `${group.title.toUpperCase()} (${n(group.total)})`);
    for (const line of group.lines) lines.push(`  ${line}`);
    const more = group.total - group.lines.length;
    if (more > 0) lines.push(`  … and ${n(more)} more${digest.report ? ' (in the full report)' : ''}`);
  }
  if (digest.soonest.length) {
    lines.push('', 'SOONEST EXPIRIES');
    for (const s of digest.soonest)
      lines.push(
        `  ${s.cluster}/${s.certificate}: ${when(s.notAfter)} (${s.status}${s.managed ? ', renewed by the watchdog' : ', not managed'})`,
      );
  }
  return { subject: digest.subject, text: lines.join('\n'), severity: digest.severity };
}

/** Whether a value is a digest this version renders (the forwarder receives anything). */
export function isRunDigest(value: unknown): value is RunDigest {
  const v = value as Partial<RunDigest> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.kind === 'digest' &&
    v.version === 1 &&
    typeof v.subject === 'string' &&
    typeof v.generatedAt === 'string' &&
    typeof v.counts === 'object' &&
    v.counts !== null &&
    Array.isArray(v.groups) &&
    v.groups.every(
      (g) =>
        typeof g === 'object' &&
        g !== null &&
        typeof g.title === 'string' &&
        typeof g.total === 'number' &&
        Array.isArray(g.lines) &&
        g.lines.every((l) => typeof l === 'string'),
    ) &&
    (v.soonest === undefined || Array.isArray(v.soonest))
  );
}

function groupOf(alert: Alert): DigestGroupKey | null {
  switch (alert.kind) {
    case 'renewal-failed':
    case 'cluster-unreachable':
    case 'order-deferred':
    case 'window-overridden':
    case 'rolled-back':
    case 'renewed':
      return alert.kind;
    case 'alert-only':
      return alert.status === 'expired' ? 'expired' : alert.status === 'invalid' ? 'unreadable' : 'expiring';
    case 'active-active':
      return alert.mode === 'failed'
        ? 'active-active-failed'
        : alert.mode === 'alert'
          ? 'active-active'
          : null;
  }
}

/** Sorts a group's lines: by expiry where the alert has one (soonest first), else by name. */
function urgencyOf(alert: Alert): string {
  const at =
    alert.kind === 'alert-only' || alert.kind === 'order-deferred'
      ? alert.notAfter
      : alert.kind === 'window-overridden'
        ? alert.expires
        : null;
  return at ?? '';
}

/** One problem, one line: where, then what. */
function lineOf(alert: Alert): string {
  switch (alert.kind) {
    case 'renewal-failed':
      return `${alert.cluster}/${alert.certificate}: ${alert.error.name}: ${alert.error.message}`;
    case 'cluster-unreachable':
      return `${alert.cluster}: ${alert.error.name}: ${alert.error.message}`;
    case 'alert-only':
      if (alert.status === 'invalid')
        return `${alert.cluster}/${alert.certificate}: cannot be read (${alert.reason})`;
      return `${alert.cluster}/${alert.certificate}: ${alert.status === 'expired' ? 'expired' : `${alert.status}, expires`} ${when(alert.notAfter)}${alert.daysLeft === null ? '' : ` (${timeLeft(alert.daysLeft)})`}`;
    case 'order-deferred':
      return `${alert.cluster}/${alert.certificate}: ${alert.status}, expires ${when(alert.notAfter)}`;
    case 'window-overridden':
      return `${alert.cluster}: ${alert.certificates.join(', ')} (expires ${when(alert.expires)}; next window ${when(alert.nextOpen)})`;
    case 'rolled-back':
      return `${alert.cluster}/${alert.certificate}: back to serial ${alert.serialNumber}, valid until ${when(alert.notAfter)}`;
    case 'renewed':
      return `${alert.cluster}/${alert.certificate}: now valid until ${when(alert.newNotAfter)}`;
    case 'active-active': {
      const databases = alert.databases.map((d) => d.name).join(', ');
      const what =
        alert.mode === 'failed'
          ? `failed${alert.error ? ` (${alert.error.name}: ${alert.error.message})` : ''}`
          : 'update each';
      return `${alert.cluster} (${alert.certificates.join(', ')}): ${what}${databases ? `: ${databases}` : ''}`;
    }
  }
}

function subjectOf(outcomes: RunOutcomes, c: DigestCounts, groups: DigestGroup[]): string {
  const total = (key: DigestGroupKey) => groups.find((g) => g.key === key)?.total ?? 0;
  const parts = [
    [c.failed, 'failed'],
    [total('expired'), 'expired'],
    [total('unreadable'), 'unreadable'],
    [c.clustersUnreadable, 'unreachable'],
    [total('active-active-failed') + total('active-active'), 'Active-Active'],
    [c.deferred, 'deferred'],
    [c.renewed, 'renewed'],
  ]
    .filter(([count]) => (count as number) > 0)
    .map(([count, what]) => `${n(count as number)} ${what}`);
  const what = parts.length ? parts.join(', ') : `all ${n(c.clusters)} cluster(s) fine`;
  return clip(
    `[rs-cert-watchdog] ${outcomes.dryRun ? 'Dry run' : 'Run'} ${outcomes.generatedAt.slice(0, 10)}: ${what}`,
  );
}

/** "3.2 days left", or "expired 2.3 days ago". */
export function timeLeft(days: number): string {
  return days < 0 ? `expired ${humanDuration(-days)} ago` : `${humanDuration(days)} left`;
}

function worst(severities: DigestSeverity[]): DigestSeverity {
  if (severities.includes('critical')) return 'critical';
  if (severities.includes('warning')) return 'warning';
  return 'info';
}

function when(iso: string | null): string {
  return iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : 'unknown';
}

function n(value: number): string {
  return value.toLocaleString('en-US');
}

function shorten(line: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: one line per problem, whatever a cluster sent
  const flat = line.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
