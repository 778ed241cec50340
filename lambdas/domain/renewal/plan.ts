/**
 * The Plan step: what to do with each certificate of a check report. One function for the CLI's
 * runner and the Step Functions Check task, so both decide the same way.
 */
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
    if (!clusters.some((c) => name !== undefined && Object.hasOwn(c.certificates, name))) {
      throw new ConfigError(
        `force "${entry}": no cluster${clusterName ? ` "${clusterName}"` : ''} lists "${name}" under "certificates", so it cannot be renewed through ACME`,
      );
    }
  }
}

/** Due means not `ok`, or forced. A due certificate is renewed when ACME manages it, else alerted on. */
export function planFor(cert: CertificateReport, forced: boolean): Plan {
  if (cert.status === 'ok' && !forced) return 'none';
  return cert.managed ? 'renew' : 'alert-only';
}

export function dueCertificate(cluster: string, cert: CertificateReport, forced: boolean): DueCertificate {
  return {
    cluster,
    certificate: cert.name,
    status: cert.status,
    forced,
    currentNotAfter: cert.notAfter,
    currentFingerprint256: cert.fingerprint256,
    ...(cert.renewalInfo
      ? {
          ariCertId: cert.renewalInfo.certId,
          renewalWindow: {
            start: cert.renewalInfo.start,
            end: cert.renewalInfo.end,
            ...(cert.renewalInfo.explanationURL ? { explanationURL: cert.renewalInfo.explanationURL } : {}),
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
    reason:
      'it is not listed under the cluster\'s "certificates" for ACME' +
      (cert.error ? `; ${cert.error.name}: ${cert.error.message}` : ''),
  };
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
    if (cluster.error) {
      findings.push({ kind: 'cluster-unreachable', cluster: cluster.name, error: cluster.error });
      continue;
    }
    for (const cert of cluster.certificates) {
      const forced = isForced(force, cluster.name, cert.name);
      const plan = planFor(cert, forced);
      cert.plan = plan;
      if (plan === 'renew') due.push(dueCertificate(cluster.name, cert, forced));
      if (plan === 'alert-only') findings.push(alertOnly(cluster.name, cert));
      if (plan === 'none' && cert.managed && cert.fingerprint256) {
        const marker = await pending(cluster.name, cert.name);
        if (marker?.fingerprint256 === cert.fingerprint256) {
          cert.plan = 'renew';
          due.push({ ...dueCertificate(cluster.name, cert, false), resume: marker.phase });
        }
      }
    }
  }
  return { due, findings };
}
