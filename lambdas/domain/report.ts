/**
 * The report `check` and `renew` print, and the Lambda check function returns. Its JSON form is an
 * interface operators script against: fields are added, never renamed or removed.
 */
import { type CertificateDetails, inspectChainPem, keyMatchesLeafPem } from './certificate';
import { CertificateParseError, type ErrorInfo, toErrorInfo } from './errors';
import {
  type CertificateStatus,
  decideRenewal,
  type ManagedLifetime,
  type RenewalBasis,
  type ScheduleProblem,
} from './policy';
import type { ClusterCertificateSet } from './rs/client';

/**
 * What a run did with a certificate: nothing, renewed it, failed to, alerted only, `skipped` it
 * because another run holds it (or already renewed it since this run's check), left it `waiting`
 * for a maintenance window, or `deferred` its order to the next run (the order budget).
 */
export type CertificateAction =
  | 'none'
  | 'renewed'
  | 'failed'
  | 'alert-only'
  | 'skipped'
  | 'waiting'
  /** Due, but the run's order budget went to more urgent certificates: the next run orders it. */
  | 'deferred';

export interface CertificateReport {
  name: string;
  status: CertificateStatus;
  action: CertificateAction;
  /** Listed under the cluster's `certificates`, so renewed through ACME. */
  managed: boolean;
  notBefore: string | null;
  notAfter: string | null;
  renewalTime: string | null;
  daysLeft: number | null;
  subject: string | null;
  dnsNames: string[];
  issuer: string | null;
  serialNumber: string | null;
  fingerprint256: string | null;
  keyType: string | null;
  keySize: number | null;
  /** Whether the private key the cluster returned belongs to the leaf; null when it returned none. */
  keyMatches: boolean | null;
  chainLength: number;
  error: ErrorInfo | null;
  renewed?: { notAfter: string; serialNumber: string; fingerprint256: string };
  /** `skipped` only: why (who holds the lock, and until when). */
  skipped?: string;
  /** `renew` only: what the run decided (`renew` with --dry-run shows what it would do). */
  plan?: 'none' | 'renew' | 'alert-only';
  /** notAfter − notBefore in days; with daysLeft it says what "expiring" means for this certificate. */
  lifetimeDays?: number | null;
  /** What set renewalTime: the CA's ARI window, renewBeforeDays, or two thirds (half) of the lifetime. */
  renewalBasis?: RenewalBasis;
  /** Managed certificates: who issues the renewal ("acme", "aws-private-ca", "local-ca"). */
  issuerType?: string;
  /** Managed ACME certificates: the profile asked for (null: the CA's default). */
  profile?: string | null;
  /** The CA's ARI window for this certificate (RFC 9773), when it answered one. */
  renewalInfo?: RenewalInfoReport;
  /** Why ARI could not be used for this certificate (the lifetime policy decided instead). */
  renewalInfoError?: ErrorInfo;
  /** Configuration advice that does not stop the run (e.g. a clientAuth certificate on a public ACME CA). */
  warnings?: string[];
  /**
   * Due, managed, and the cluster has maintenance windows: whether it may be pushed now (`push`),
   * waits for `nextOpen` (`wait`), or is pushed at once because it expires first (`override`).
   */
  window?: { decision: 'push' | 'wait' | 'override'; nextOpen: string | null; closesAt: string | null };
  /**
   * `renew` only, for a due ACME certificate: the order budget lane its order counts in (`new`, or
   * `replaces` for an ARI renewal), or `deferred` when the run's budget went to more urgent ones.
   */
  orderBudget?: 'new' | 'replaces' | 'deferred';
  /** RS 8.x `bdb:<uid>` rows: the database (its name from GET /v1/bdbs, null when unknown). */
  database?: { uid: string; name: string | null };
}

export interface RenewalInfoReport {
  certId: string;
  start: string;
  end: string;
  explanationURL?: string;
  /** The moment picked inside the window; renewalTime equals it unless `ignored`. */
  renewAt: string;
  /** When the CA may be asked again (its Retry-After). */
  nextFetchAt: string;
  /** The lifetime backstop: the latest moment ARI may set (two thirds of the lifetime, half under 10 days). */
  backstop?: string;
  /**
   * Set when renewAt is after the backstop: the window was ignored, renewalTime is the backstop
   * (renewalBasis `two-thirds` or `half`), and this says why.
   */
  ignored?: string;
}

export interface ClusterReport {
  name: string;
  error: ErrorInfo | null;
  certificates: CertificateReport[];
  /** Each node's software_version (GET /v1/nodes); absent when they could not be read. */
  softwareVersions?: Array<string | null>;
  /** The push API a renewal would use now (`pushApi`, resolved from the versions for `auto`). */
  pushApi?: 'certificates' | 'update_cert';
  /**
   * When its certificates were read (just after the answer): the renewal steps compare it with the
   * state's times (a certificate verified since was renewed by another run) without reading the
   * cluster again.
   */
  checkedAt?: string;
  /** `renew` only: the one push this run made to the cluster. */
  push?: { id: string; api: string; fellBack?: string; certificates: string[] };
  /**
   * `renew` only: the Active-Active follow-up of that push, as its alert (`mode` alert, updated or
   * failed). `failed` (a task failed, a database could not be updated or listed, a value that is not a
   * GUID, or the step itself failed: `error`) needs attention.
   */
  activeActive?: unknown;
  /**
   * RS 8.x: true when the database certificates were listed (GET /v1/bdbs/certificates), false when
   * the cluster does not serve them (404); absent when not asked (every node on RS 7.x).
   */
  databaseCertificatesApi?: boolean;
  /** The database certificates could not be listed: the cluster's other rows are still reported. */
  databaseError?: ErrorInfo;
}

export interface FleetReport {
  generatedAt: string;
  clusters: ClusterReport[];
  /**
   * Set by `check` when aws.schedule can miss the renewal point of the shortest-lived managed
   * certificate (policy.ts scheduleProblem): the run needs attention.
   */
  scheduleProblem?: ScheduleProblem;
}

/** The lifetimes of the managed certificates a report read, for the schedule check. */
export function managedLifetimes(report: FleetReport): ManagedLifetime[] {
  return report.clusters.flatMap((cluster) =>
    cluster.certificates.flatMap((cert) =>
      cert.managed && cert.lifetimeDays
        ? [{ name: `${cluster.name}/${cert.name}`, lifetimeDays: cert.lifetimeDays }]
        : [],
    ),
  );
}

/**
 * Inspects one `<name>_cert` field. A field that does not parse, or is not a string (nor its
 * `<name>_key`), is `invalid` with its reason, never an exception.
 */
export function inspectCertificate(
  name: string,
  set: ClusterCertificateSet,
  options: { now: Date; renewBeforeDays: number; managed: boolean },
): CertificateReport {
  const empty: CertificateReport = {
    name,
    status: 'invalid',
    action: 'none',
    managed: options.managed,
    notBefore: null,
    notAfter: null,
    renewalTime: null,
    daysLeft: null,
    subject: null,
    dnsNames: [],
    issuer: null,
    serialNumber: null,
    fingerprint256: null,
    keyType: null,
    keySize: null,
    keyMatches: null,
    chainLength: 0,
    error: null,
  };
  // A field of the wrong JSON type (`42`, `null`, `{}`) is a finding, never a silent omission.
  const problem = set.fieldProblem(name);
  if (problem !== null) return { ...empty, error: toErrorInfo(new CertificateParseError(problem)) };
  let details: CertificateDetails;
  let keyMatches: boolean | null = null;
  try {
    // Remembered per process by digest: an unchanged certificate or key is not parsed again.
    const certificatePem = set.certificate(name) ?? '';
    details = inspectChainPem(certificatePem);
    const keyPem = set.key(name);
    if (keyPem) keyMatches = keyMatchesLeafPem(certificatePem, keyPem);
  } catch (error) {
    const info = toErrorInfo(error);
    return { ...empty, error: { ...info, message: `${name}_cert: ${info.message}` } };
  }
  const decision = decideRenewal(details, options.now, options.renewBeforeDays);
  return {
    ...empty,
    status: decision.status,
    notBefore: details.notBefore.toISOString(),
    notAfter: details.notAfter.toISOString(),
    renewalTime: decision.renewalTime.toISOString(),
    daysLeft: decision.daysLeft,
    lifetimeDays: decision.lifetimeDays,
    renewalBasis: decision.basis,
    subject: details.subject,
    dnsNames: [...details.dnsNames],
    issuer: details.issuer,
    serialNumber: details.serialNumber,
    fingerprint256: details.fingerprint256,
    keyType: details.keyType,
    keySize: details.keySize ?? null,
    keyMatches,
    chainLength: details.chainLength,
    error:
      keyMatches === false
        ? toErrorInfo(new CertificateParseError(`${name}_key does not belong to ${name}_cert`))
        : null,
  };
}

/** Whether a report leaves anything for an operator to look at (CLI exit code 1). */
export function needsAttention(report: FleetReport): boolean {
  if (report.scheduleProblem) return true;
  return report.clusters.some(
    (c) =>
      c.error !== null ||
      c.databaseError !== undefined ||
      (c.activeActive as { mode?: unknown } | undefined)?.mode === 'failed' ||
      c.certificates.some(
        (cert) =>
          cert.action === 'failed' ||
          (cert.action !== 'renewed' &&
            cert.action !== 'skipped' &&
            cert.action !== 'waiting' &&
            (cert.status !== 'ok' || cert.error !== null)),
      ),
  );
}

/**
 * One cluster in a few numbers, for the check task's result: Step Functions caps state at 256 KB,
 * which the full report of a few dozen clusters would exceed (the full report is logged instead).
 */
export interface ClusterSummary {
  name: string;
  error: ErrorInfo | null;
  certificates: number;
  /** Count per status: ok, expiring, expired, invalid. */
  statuses: Record<string, number>;
  /** Days left of the soonest-expiring readable certificate. */
  minDaysLeft: number | null;
}

export function summarizeCluster(cluster: ClusterReport): ClusterSummary {
  const statuses: Record<string, number> = {};
  for (const cert of cluster.certificates) statuses[cert.status] = (statuses[cert.status] ?? 0) + 1;
  const days = cluster.certificates.flatMap((c) => (c.daysLeft === null ? [] : [c.daysLeft]));
  return {
    name: cluster.name,
    error: cluster.error,
    certificates: cluster.certificates.length,
    statuses,
    minDaysLeft: days.length ? Math.min(...days) : null,
  };
}
