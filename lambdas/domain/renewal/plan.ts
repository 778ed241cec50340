/**
 * The Plan step: what to do with each certificate of a check report. One function for the CLI's
 * runner and the Step Functions Check task, so both decide the same way.
 */
import { CLIENT_CERTIFICATE, databaseUid, isKeyless, managedSettings } from '../certificate-kinds';
import { clientLeafOf } from '../check';
import type { WatchdogConfig } from '../config/types';
import { ConfigError } from '../errors';
import type { Alert } from '../ports';
import type { CertificateReport, ClusterReport } from '../report';
import type { PendingVerification } from '../state';
import type { DueCertificate } from './context';
import { applyOrderBudget, type OrderBudget, type OrderLane, orderLane } from './order-budget';

export type Plan = 'none' | 'renew' | 'alert-only';

export function isForced(force: readonly string[], cluster: string, certificate: string): boolean {
  return force.includes(certificate) || force.includes(`${cluster}/${certificate}`);
}

/**
 * Refuses a `force` entry (`NAME` or `CLUSTER/NAME`) that names no managed certificate: a typo must
 * not turn a forced renewal into a silent no-op, on the command line or in an execution input.
 */
export function validateForce(config: Pick<WatchdogConfig, 'clusters'>, force: readonly string[]): void {
  for (const entry of force) {
    const [clusterName, name] = entry.includes('/') ? entry.split('/', 2) : [undefined, entry];
    const clusters = clusterName ? config.clusters.filter((c) => c.name === clusterName) : config.clusters;
    if (clusterName && clusters.length === 0)
      throw new ConfigError(`force "${entry}": there is no cluster "${clusterName}" in the configuration`);
    if (!clusters.some((c) => name !== undefined && managedSettings(c, name) !== undefined)) {
      const where =
        name !== undefined && databaseUid(name) !== null
          ? `"databases" ("${databaseUid(name)}")`
          : name === CLIENT_CERTIFICATE
            ? '"clientCertificate" with an "issuer"'
            : `"certificates"`;
      throw new ConfigError(
        `force "${entry}": no cluster${clusterName ? ` "${clusterName}"` : ''} lists "${name}" under ${where}, so it cannot be renewed`,
      );
    }
  }
}

/**
 * Errors on a managed row that no renewal can fix: the database does not exist, or the cluster
 * serves no per-database certificates. Such a row is alerted on, never ordered for.
 */
const UNRENEWABLE = ['DatabaseNotFoundError', 'DatabaseCertificatesUnavailableError'];

/** Due means not `ok`, or forced. A due certificate is renewed when ACME manages it, else alerted on. */
export function planFor(cert: CertificateReport, forced: boolean): Plan {
  if (cert.status === 'ok' && !forced) return 'none';
  if (cert.error && UNRENEWABLE.includes(cert.error.name)) return 'alert-only';
  return cert.managed ? 'renew' : 'alert-only';
}

export function dueCertificate(
  cluster: string,
  cert: CertificateReport,
  forced: boolean,
  checkedAt?: string,
): DueCertificate {
  const sameSubjectAs = cert.name === CLIENT_CERTIFICATE ? clientLeafOf(cert) : undefined;
  return {
    cluster,
    certificate: cert.name,
    status: cert.status,
    forced,
    currentNotAfter: cert.notAfter,
    currentFingerprint256: cert.fingerprint256,
    ...(sameSubjectAs ? { sameSubjectAs } : {}),
    ...(checkedAt ? { checkedAt } : {}),
    ...(cert.renewalInfo
      ? {
          ariCertId: cert.renewalInfo.certId,
          renewalWindow: {
            start: cert.renewalInfo.start,
            end: cert.renewalInfo.end,
            ...(cert.renewalInfo.explanationURL ? { explanationURL: cert.renewalInfo.explanationURL } : {}),
            ...(cert.renewalInfo.ignored ? { ignored: cert.renewalInfo.ignored } : {}),
          },
        }
      : {}),
  };
}

export function alertOnly(cluster: string, cert: CertificateReport): Alert {
  return {
    kind: 'alert-only',
    cluster,
    certificate: cert.name,
    status: cert.status,
    notAfter: cert.notAfter,
    daysLeft: cert.daysLeft,
    lifetimeDays: cert.lifetimeDays ?? null,
    reason: alertOnlyReason(cert),
  };
}

/** Why a row is only alerted on, in the words of its kind. */
function alertOnlyReason(cert: CertificateReport): string {
  const error = cert.error ? `; ${cert.error.name}: ${cert.error.message}` : '';
  if (cert.error && UNRENEWABLE.includes(cert.error.name)) return `${cert.error.name}: ${cert.error.message}`;
  if (isKeyless(cert.name))
    return `${cert.name} comes without a key (RS holds only the certificate): replace it by hand with PUT /v1/cluster/certificates${error}`;
  if (databaseUid(cert.name) !== null)
    return `database ${databaseUid(cert.name)} is not listed under the cluster's "databases"${error}`;
  if (cert.name === CLIENT_CERTIFICATE)
    return `the watchdog's own client certificate has no "issuer" under "clientCertificate"${error}`;
  return `it is not listed under the cluster's "certificates" for ACME${error}`;
}

export interface RenewalPlan {
  due: DueCertificate[];
  findings: Alert[];
  /**
   * What the order budget did (./order-budget.ts): the orders granted per lane, and the due items
   * over it (most urgent first), which stay in `due` with `deferOrder`.
   */
  orders?: { budget: OrderBudget; granted: Record<OrderLane, number>; deferred: DueCertificate[] };
}

/**
 * Spends the run's order budget on the plan's most urgent ACME orders (./order-budget.ts) and
 * records, on each report, the lane its order counts in or that it is deferred.
 */
export function withOrderBudget(
  config: Pick<WatchdogConfig, 'acme' | 'clusters'>,
  clusters: ClusterReport[],
  plan: RenewalPlan,
): RenewalPlan {
  const budgeted = applyOrderBudget(config, plan.due);
  for (const item of budgeted.due) {
    const lane = orderLane(config, item);
    if (lane === null) continue;
    const cert = clusters
      .find((c) => c.name === item.cluster)
      ?.certificates.find((c) => c.name === item.certificate);
    if (cert) cert.orderBudget = item.deferOrder ? 'deferred' : lane;
  }
  return {
    ...plan,
    due: budgeted.due,
    orders: { budget: budgeted.budget, granted: budgeted.granted, deferred: budgeted.deferred },
  };
}

/**
 * The due list and the alerts a set of cluster reports calls for, without acting on anything. Each
 * certificate's decision is recorded on the report (`plan`). A managed certificate that is fine on
 * the cluster is still due when an earlier run pushed it and died before verifying it: the cluster
 * holds the certificate that run left `pending`.
 */
export async function planRenewals(
  clusters: ClusterReport[],
  force: readonly string[],
  pending: (cluster: string, certificate: string) => Promise<PendingVerification | null>,
): Promise<RenewalPlan> {
  const due: DueCertificate[] = [];
  const findings: Alert[] = [];
  for (const cluster of clusters) {
    // An unreadable cluster has at most its client row (read locally): it is still planned, so an
    // expired client certificate that locks the watchdog out is renewed (and tried) all the same.
    if (cluster.error)
      findings.push({ kind: 'cluster-unreachable', cluster: cluster.name, error: cluster.error });
    if (cluster.databaseError)
      findings.push({
        kind: 'cluster-unreachable',
        cluster: cluster.name,
        error: {
          ...cluster.databaseError,
          message: `the database certificates could not be listed: ${cluster.databaseError.message}`,
        },
      });
    for (const cert of cluster.certificates) {
      const forced = isForced(force, cluster.name, cert.name);
      const plan = planFor(cert, forced);
      cert.plan = plan;
      if (plan === 'renew') due.push(dueCertificate(cluster.name, cert, forced, cluster.checkedAt));
      if (plan === 'alert-only') findings.push(alertOnly(cluster.name, cert));
      if (plan === 'none' && cert.managed && cert.fingerprint256) {
        const marker = await pending(cluster.name, cert.name);
        if (marker?.fingerprint256 === cert.fingerprint256) {
          cert.plan = 'renew';
          due.push({ ...dueCertificate(cluster.name, cert, false, cluster.checkedAt), resume: marker.phase });
        }
      }
    }
  }
  return { due, findings };
}
