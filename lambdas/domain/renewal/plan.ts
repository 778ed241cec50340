/**
 * What to do with each certificate of a report. Shared by the CLI's `renew` and the Step Functions
 * check task, so both decide the same way.
 */
import type { Alert } from '../ports';
import type { CertificateReport, ClusterReport } from '../report';
import type { DueCertificate } from './context';

export type Plan = 'none' | 'renew' | 'alert-only';

export function isForced(force: readonly string[], cluster: string, certificate: string): boolean {
  return force.includes(certificate) || force.includes(`${cluster}/${certificate}`);
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
    reason: 'it is not listed under the cluster\'s "certificates" for ACME',
  };
}

/** The due list and the alerts a set of cluster reports calls for, without acting on anything. */
export function planClusters(
  clusters: ClusterReport[],
  force: readonly string[],
): { due: DueCertificate[]; findings: Alert[] } {
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
      if (plan === 'renew') due.push(dueCertificate(cluster.name, cert, forced));
      if (plan === 'alert-only') findings.push(alertOnly(cluster.name, cert));
    }
  }
  return { due, findings };
}
