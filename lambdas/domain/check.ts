/** `check`: read every cluster's certificates side by side and decide, never writing to a cluster. */

import { mapWithConcurrency } from './concurrency';
import type { ClusterConfig, WatchdogConfig } from './config/types';
import { toErrorInfo } from './errors';
import type { ClusterConnector, CredentialsProvider } from './ports';
import { describePushApi } from './renewal/push';
import { annotateManaged, type RenewalInfoDependencies, renewalInfoForRun } from './renewal/renewal-info';
import { annotateWindows, windowsFor } from './renewal/windows';
import { type ClusterReport, type FleetReport, inspectCertificate } from './report';
import { type ClusterCertificateSet, openRsClient, type RsClient } from './rs/client';
import { connectionFor } from './rs/connection';

export interface CheckDependencies {
  credentials: CredentialsProvider;
  connect: ClusterConnector;
  now?: () => Date;
  /** PEM trusted in addition to public roots and the cluster CA (the ACME CA's roots). */
  acmeTrustPem?: string;
  /** ACME Renewal Information (RFC 9773) for managed ACME certificates; without it, the lifetime policy alone. */
  renewalInfo?: RenewalInfoDependencies;
}

/** Reads one cluster. Never throws: a cluster that cannot be read is a report with `error`. */
export async function checkCluster(
  config: Pick<WatchdogConfig, 'renewBeforeDays' | 'acme' | 'maintenanceWindows'>,
  cluster: ClusterConfig,
  deps: CheckDependencies,
): Promise<ClusterReport> {
  let client: RsClient | undefined;
  try {
    const access = await deps.credentials.resolve(cluster);
    client = openRsClient(deps.connect, connectionFor(cluster, access, deps.acmeTrustPem));
    const set = await client.getCertificates();
    const now = (deps.now ?? (() => new Date()))();
    const report = reportFor(config, cluster, set, now);
    await annotateManaged(config, cluster, set, report, now, deps.renewalInfo);
    annotateWindows(report, windowsFor(config, cluster), now);
    return { ...report, ...(await describePushApi(cluster, client)) };
  } catch (error) {
    return { name: cluster.name, error: toErrorInfo(error), certificates: [] };
  } finally {
    client?.close();
  }
}

export function reportFor(
  config: Pick<WatchdogConfig, 'renewBeforeDays'>,
  cluster: ClusterConfig,
  set: ClusterCertificateSet,
  now: Date,
): ClusterReport {
  const names = set.names();
  const certificates = names.map((name) =>
    inspectCertificate(name, set, {
      now,
      renewBeforeDays: config.renewBeforeDays,
      managed: Object.hasOwn(cluster.certificates, name),
    }),
  );
  // A configured certificate the cluster does not have is a configuration mistake worth showing.
  for (const name of Object.keys(cluster.certificates)) {
    if (!names.includes(name)) {
      certificates.push({
        ...inspectCertificate(name, set, { now, renewBeforeDays: config.renewBeforeDays, managed: true }),
        error: {
          name: 'UnknownCertificateError',
          message: `certificate "${name}" is configured but the cluster has no ${name}_cert`,
          hint: 'check the certificate name against GET /v1/cluster/certificates',
        },
      });
    }
  }
  return { name: cluster.name, error: null, certificates };
}

export async function checkFleet(config: WatchdogConfig, deps: CheckDependencies): Promise<FleetReport> {
  // ARI for this run: none with acme.ari false; else a fresh circuit breaker (one timeout per run).
  const renewalInfo = renewalInfoForRun(config, deps.renewalInfo);
  const { renewalInfo: _configured, ...rest } = deps;
  const run: CheckDependencies = { ...rest, ...(renewalInfo ? { renewalInfo } : {}) };
  const clusters = await mapWithConcurrency(config.clusters, config.concurrency, (cluster) =>
    checkCluster(config, cluster, run),
  );
  return { generatedAt: (deps.now ?? (() => new Date()))().toISOString(), clusters };
}
