/**
 * Prometheus metrics for node_exporter's textfile collector (`check`/`renew --metrics-file`).
 *
 * Two pure functions: `nextMetricsState` folds one run into what the watchdog keeps between runs
 * (counters, run times, the last known certificates of each cluster, each certificate's last renewal
 * outcome), and `renderMetrics` writes that state in the Prometheus text exposition format. The
 * metric names and labels are an interface (README, "Metrics"): add, never rename.
 *
 * Why a state: a textfile is rewritten whole on every run, so a counter written from one run's
 * numbers alone would go up and down. `_total` counters are therefore kept across runs (a lost state
 * only resets them, which rate() and increase() handle like a process restart). A cluster that
 * cannot be read keeps its certificates' last known series, so an expiry alert does not resolve
 * because the cluster stopped answering: the series carry absolute timestamps, which stay true.
 */
import type { CertificateStatus } from './policy';
import type { CertificateReport, FleetReport } from './report';

export const METRIC_PREFIX = 'rs_cert_watchdog_';

/** The commands that write metrics; each keeps its own run record. */
export type MetricsCommand = 'check' | 'renew';

export const CERTIFICATE_STATUSES: readonly CertificateStatus[] = ['ok', 'expiring', 'expired', 'invalid'];

export interface CertificateRecord {
  name: string;
  status: CertificateStatus;
  managed: boolean;
  notBefore: string | null;
  notAfter: string | null;
  renewalTime: string | null;
  /** The last renewal attempt of this certificate failed (kept until one succeeds or it is no longer due). */
  renewalFailed: boolean;
  /** When a run last read it from the cluster (or renewed it). */
  lastSeen: string;
}

export interface ClusterRecord {
  name: string;
  /** The last run read the cluster. */
  up: boolean;
  /** Distinct node versions, oldest first; empty when unknown. */
  rsVersions: string[];
  pushApi: string | null;
  lastSeen: string | null;
  renewals: number;
  renewalFailures: number;
  certificates: CertificateRecord[];
}

export interface RunRecord {
  command: MetricsCommand;
  lastRun: string;
  lastSuccess: string | null;
  succeeded: boolean;
  durationSeconds: number;
  /** `renew` only: what this run renewed and failed to renew. */
  renewals: number;
  renewalFailures: number;
}

export interface MetricsState {
  version: 1;
  runs: RunRecord[];
  clusters: ClusterRecord[];
}

export const EMPTY_METRICS_STATE: MetricsState = { version: 1, runs: [], clusters: [] };

export interface RunResult {
  command: MetricsCommand;
  /** Every configured cluster, in config order: the clusters the metrics describe. */
  clusters: readonly string[];
  startedAt: Date;
  finishedAt: Date;
  /** The run's report; absent when the run failed before it had one. */
  report?: FleetReport;
}

/** The state after one run. Pure: the caller reads the previous state and writes the next. */
export function nextMetricsState(previous: MetricsState, run: RunResult): MetricsState {
  const now = run.finishedAt;
  const at = now.toISOString();
  const renewing = run.command === 'renew';
  let renewals = 0;
  let renewalFailures = 0;
  const clusters = run.clusters.map((name): ClusterRecord => {
    const before = previous.clusters.find((c) => c.name === name);
    const counters = { renewals: before?.renewals ?? 0, renewalFailures: before?.renewalFailures ?? 0 };
    const read = run.report?.clusters.find((c) => c.name === name);
    if (!read || read.error !== null) {
      // Not read (or the run died): the last known certificates stay, their status as of now.
      return {
        name,
        up: read ? false : (before?.up ?? false),
        rsVersions: before?.rsVersions ?? [],
        pushApi: before?.pushApi ?? null,
        lastSeen: before?.lastSeen ?? null,
        ...counters,
        certificates: (before?.certificates ?? []).map((c) => ({ ...c, status: statusAt(c, now) })),
      };
    }
    const certificates = read.certificates.map((cert): CertificateRecord => {
      const last = before?.certificates.find((c) => c.name === cert.name);
      const failed = renewing ? renewalFailedAfter(cert, last?.renewalFailed ?? false) : last?.renewalFailed;
      if (renewing && cert.action === 'renewed') {
        counters.renewals++;
        renewals++;
      }
      if (renewing && cert.action === 'failed') {
        counters.renewalFailures++;
        renewalFailures++;
      }
      return recordOf(cert, failed ?? false, at);
    });
    return {
      name,
      up: true,
      rsVersions: distinctVersions(read.softwareVersions ?? []),
      pushApi: read.pushApi ?? null,
      lastSeen: at,
      ...counters,
      certificates,
    };
  });
  const lastRun = previous.runs.find((r) => r.command === run.command);
  const succeeded = run.report !== undefined;
  const record: RunRecord = {
    command: run.command,
    lastRun: at,
    lastSuccess: succeeded ? at : (lastRun?.lastSuccess ?? null),
    succeeded,
    durationSeconds: Math.max(0, (run.finishedAt.getTime() - run.startedAt.getTime()) / 1000),
    renewals,
    renewalFailures,
  };
  const runs = [...previous.runs.filter((r) => r.command !== run.command), record].sort((a, b) =>
    a.command.localeCompare(b.command),
  );
  return { version: 1, runs, clusters };
}

/**
 * Whether a certificate's last renewal attempt failed, after a `renew` run: set by a failure,
 * cleared by a renewal and by a run that finds nothing to renew (not due, waiting for a window,
 * alert-only); left as it was when another run held the certificate (`skipped`) or the order budget
 * deferred it (`deferred`: not attempted).
 */
function renewalFailedAfter(cert: CertificateReport, before: boolean): boolean {
  switch (cert.action) {
    case 'failed':
      return true;
    case 'skipped':
    case 'deferred':
      return before;
    default:
      return false;
  }
}

/** A report row as kept: a renewed certificate is the new one (its renewal point comes with the next read). */
function recordOf(cert: CertificateReport, renewalFailed: boolean, at: string): CertificateRecord {
  if (cert.action === 'renewed' && cert.renewed)
    return {
      name: cert.name,
      status: 'ok',
      managed: cert.managed,
      notBefore: null,
      notAfter: cert.renewed.notAfter,
      renewalTime: null,
      renewalFailed: false,
      lastSeen: at,
    };
  return {
    name: cert.name,
    status: cert.status,
    managed: cert.managed,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    renewalTime: cert.renewalTime,
    renewalFailed,
    lastSeen: at,
  };
}

/** A kept certificate's status at `now` (policy.ts's rule, from the kept renewal point). */
function statusAt(cert: CertificateRecord, now: Date): CertificateStatus {
  if (cert.status === 'invalid' || cert.notAfter === null) return cert.status;
  if (now.getTime() >= Date.parse(cert.notAfter)) return 'expired';
  if (cert.renewalTime === null) return cert.status;
  return now.getTime() >= Date.parse(cert.renewalTime) ? 'expiring' : 'ok';
}

/** `7.22.2-14` before `7.4.6-22` is wrong as text: compare the numbers. */
function distinctVersions(versions: ReadonlyArray<string | null>): string[] {
  const known = [...new Set(versions.filter((v): v is string => typeof v === 'string' && v !== ''))];
  const parts = (v: string) => v.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  return known.sort((a, b) => {
    const pa = parts(a);
    const pb = parts(b);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
      const d = (pa[i] ?? 0) - (pb[i] ?? 0);
      if (d !== 0) return d;
    }
    return a.localeCompare(b);
  });
}

// ---- the text format -------------------------------------------------------------------------

type Labels = ReadonlyArray<readonly [string, string]>;

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: Array<{ labels: Labels; value: number }>;
}

/**
 * A label value in the text format: backslash, double quote and line feed escaped, as the format
 * requires; every other character is literal UTF-8, so a hostile certificate name stays one value.
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and line feed escaped. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

const seconds = (iso: string | null): number | null => {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms / 1000 : null;
};

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** The metrics file for a state: one HELP and TYPE per family, families and series in a stable order. */
export function renderMetrics(state: MetricsState): string {
  const family = (name: string, type: Family['type'], help: string): Family => ({
    name: `${METRIC_PREFIX}${name}`,
    type,
    help,
    samples: [],
  });
  const expiry = family(
    'certificate_expiry_timestamp_seconds',
    'gauge',
    'When the certificate expires (notAfter), in seconds since the epoch. Absent when it cannot be read.',
  );
  const notBefore = family(
    'certificate_not_before_timestamp_seconds',
    'gauge',
    'When the certificate became valid (notBefore), in seconds since the epoch.',
  );
  const renewal = family(
    'certificate_renewal_timestamp_seconds',
    'gauge',
    'When the certificate is due for renewal (its renewal point), in seconds since the epoch.',
  );
  const status = family(
    'certificate_status',
    'gauge',
    'The certificate status: 1 for the current one of ok, expiring, expired, invalid; 0 for the others.',
  );
  const managed = family(
    'certificate_managed',
    'gauge',
    'Whether the watchdog renews the certificate (listed under the cluster certificates): 1, or only watches it: 0.',
  );
  const renewalFailed = family(
    'certificate_renewal_failed',
    'gauge',
    'Whether the last renewal attempt of the certificate failed (1) until one succeeds or it is no longer due.',
  );
  const certSeen = family(
    'certificate_last_seen_timestamp_seconds',
    'gauge',
    'When a run last read the certificate from its cluster, in seconds since the epoch.',
  );
  const up = family('cluster_up', 'gauge', 'Whether the last run read the cluster (1) or not (0).');
  const info = family(
    'cluster_info',
    'gauge',
    'The cluster RS versions (distinct node versions, oldest first) and the push API a renewal would use.',
  );
  const clusterSeen = family(
    'cluster_last_seen_timestamp_seconds',
    'gauge',
    'When a run last read the cluster, in seconds since the epoch.',
  );
  const renewalsTotal = family(
    'renewals_total',
    'counter',
    'Certificates renewed, kept across runs in the state directory.',
  );
  const failuresTotal = family(
    'renewal_failures_total',
    'counter',
    'Failed certificate renewals, kept across runs in the state directory.',
  );
  const lastRun = family(
    'last_run_timestamp_seconds',
    'gauge',
    'When the last run of the command ended, in seconds since the epoch, whether it succeeded or not.',
  );
  const lastSuccess = family(
    'last_success_timestamp_seconds',
    'gauge',
    'When the last run of the command that completed (read every cluster it could and reported) ended.',
  );
  const runSuccess = family(
    'last_run_success',
    'gauge',
    'Whether the last run of the command completed (1) or failed before its report (0).',
  );
  const duration = family('last_run_duration_seconds', 'gauge', 'How long the last run of the command took.');
  const runRenewals = family('last_run_renewals', 'gauge', 'Certificates the last renew run renewed.');
  const runFailures = family(
    'last_run_renewal_failures',
    'gauge',
    'Certificate renewals the last renew run failed.',
  );

  const put = (f: Family, labels: Labels, value: number | null) => {
    if (value !== null) f.samples.push({ labels, value });
  };
  for (const cluster of state.clusters) {
    const c = ['cluster', cluster.name] as const;
    for (const cert of cluster.certificates) {
      const labels: Labels = [c, ['certificate', cert.name]];
      put(expiry, labels, seconds(cert.notAfter));
      put(notBefore, labels, seconds(cert.notBefore));
      put(renewal, labels, seconds(cert.renewalTime));
      for (const s of CERTIFICATE_STATUSES)
        put(status, [...labels, ['status', s]], cert.status === s ? 1 : 0);
      put(managed, labels, cert.managed ? 1 : 0);
      put(renewalFailed, labels, cert.renewalFailed ? 1 : 0);
      put(certSeen, labels, seconds(cert.lastSeen));
    }
    put(up, [c], cluster.up ? 1 : 0);
    put(info, [c, ['rs_version', cluster.rsVersions.join(',')], ['push_api', cluster.pushApi ?? '']], 1);
    put(clusterSeen, [c], seconds(cluster.lastSeen));
    put(renewalsTotal, [c], cluster.renewals);
    put(failuresTotal, [c], cluster.renewalFailures);
  }
  for (const run of state.runs) {
    const labels: Labels = [['command', run.command]];
    put(lastRun, labels, seconds(run.lastRun));
    put(lastSuccess, labels, seconds(run.lastSuccess));
    put(runSuccess, labels, run.succeeded ? 1 : 0);
    put(duration, labels, run.durationSeconds);
    if (run.command === 'renew') {
      put(runRenewals, labels, run.renewals);
      put(runFailures, labels, run.renewalFailures);
    }
  }

  const families = [
    expiry,
    notBefore,
    renewal,
    status,
    managed,
    renewalFailed,
    certSeen,
    up,
    info,
    clusterSeen,
    renewalsTotal,
    failuresTotal,
    lastRun,
    lastSuccess,
    runSuccess,
    duration,
    runRenewals,
    runFailures,
  ];
  const lines: string[] = [];
  for (const f of families) {
    if (f.samples.length === 0) continue;
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',');
      lines.push(`${f.name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * A kept state read back, or the empty state when it is missing or not this version's shape: the
 * metrics then start again (counters from zero), which Prometheus reads as a counter reset.
 */
export function parseMetricsState(text: string | null): MetricsState {
  if (text === null) return EMPTY_METRICS_STATE;
  try {
    const value = JSON.parse(text) as Partial<MetricsState> | null;
    if (
      value?.version === 1 &&
      Array.isArray(value.runs) &&
      Array.isArray(value.clusters) &&
      value.clusters.every((c) => typeof c?.name === 'string' && Array.isArray(c.certificates))
    )
      return value as MetricsState;
  } catch {
    // a torn or foreign file: start again
  }
  return EMPTY_METRICS_STATE;
}
