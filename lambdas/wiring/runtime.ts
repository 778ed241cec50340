/**
 * What every handler shares: Powertools Logger and Metrics, and the configuration the deployment
 * validated and bundled. No AWS SDK client here, so the check function stays small.
 */

import { fileURLToPath } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DEPLOYED_CONFIG_FILE, loadDeployedConfig } from '../adapters/config-file/deployed';
import { readAcmeTrust } from '../adapters/config-file/pem';
import type { WatchdogConfig } from '../domain/config/types';
import { ConfigError } from '../domain/errors';
import {
  CERTIFICATE_DAYS_LEFT,
  certificateExpiryRecords,
  type FleetSummary,
  fleetMetrics,
  summarizeFleet,
} from '../domain/fleet-metrics';
import type { FleetReport } from '../domain/report';

// Service name and namespace come from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE,
// which the construct sets on every function (lib/functions.ts): one place names them.
export const logger = new Logger();
export const metrics = new Metrics();

let config: WatchdogConfig | undefined;

/**
 * The config the deployment bundled beside this function's code (the bundle is one file, so
 * `import.meta.url` is that file: /var/task/index.mjs on Lambda).
 */
export function deployedConfig(): WatchdogConfig {
  config ??= loadDeployedConfig(fileURLToPath(new URL(DEPLOYED_CONFIG_FILE, import.meta.url)));
  return config;
}

let trust: { pem: string | undefined } | undefined;

/** acme.caFile's contents, read once per process. */
export function acmeTrust(config: WatchdogConfig): string | undefined {
  trust ??= { pem: readAcmeTrust(config) };
  return trust.pem;
}

/**
 * One count of a fleet metric (CertificatesRenewed, RenewalFailures), published at once, with no
 * per-cluster dimension: one series for the whole fleet (README, "Fleet metrics").
 */
export function count(name: string, target: Metrics = metrics): void {
  singleMetricOf(target).addMetric(name, MetricUnit.Count, 1);
}

const singles = new WeakMap<Metrics, Metrics>();

/**
 * One single-metric instance per Metrics, reused: each addMetric publishes its record at once and
 * clears its metadata, so records stay one apiece. `Metrics.singleMetric()` builds a new instance
 * (and a new Console, and reads the environment again) per call: ~0.25 ms of CPU for each cluster
 * of a check shard, which writes one record per certificate (bench/check-shard). No default
 * dimension is ever set after start-up here, so the copy taken on first use stays right.
 */
function singleMetricOf(target: Metrics): Metrics {
  let single = singles.get(target);
  if (!single) {
    single = target.singleMetric();
    singles.set(target, single);
  }
  return single;
}

/**
 * A variable the construct sets, read by its literal name at the call site
 * (`requiredEnv('X', process.env.X)`): a test reads every name a bundle uses from its text and
 * checks that the template sets it for that function.
 */
export function requiredEnv(name: string, value: string | undefined): string {
  if (!value) throw new ConfigError(`environment variable ${name} is not set (deployment error)`);
  return value;
}

/**
 * What one run publishes, from its whole report (the check's today; a whole run's once the shards
 * are gathered): the fleet metrics, and one log record per certificate (EMF with cluster and
 * certificate as properties, not dimensions) for the dashboard's soonest-expiries table.
 */
export function publishRunMetrics(report: FleetReport, target: Metrics = metrics): FleetSummary {
  logClusterReports(report.clusters, target);
  const summary = summarizeFleet(report.clusters, new Date(report.generatedAt));
  publishFleetMetrics(summary, target);
  return summary;
}

/**
 * What the logs keep of checked clusters (a whole fleet, or one check shard): an error line per
 * unreadable cluster, and the per-certificate EMF records.
 */
export function logClusterReports(clusters: FleetReport['clusters'], target: Metrics = metrics): void {
  for (const cluster of clusters)
    if (cluster.error) logger.error('cluster unreadable', { cluster: cluster.name, error: cluster.error });
  logCertificateExpiries(clusters, target);
}

/** The fleet metrics of one run, in one EMF record: call once per run (shards merged first). */
export function publishFleetMetrics(summary: FleetSummary, target: Metrics = metrics): void {
  for (const { name, value, unit } of fleetMetrics(summary))
    target.addMetric(name, unit === 'Count' ? MetricUnit.Count : MetricUnit.NoUnit, value);
  target.publishStoredMetrics();
}

/**
 * One EMF record per readable certificate: the value `CertificateDaysLeft` (one series for the whole
 * fleet: no per-certificate dimension) and the certificate's details as properties, which Logs
 * Insights reads. A certificate that cannot be read has no days left: a log line says so.
 */
export function logCertificateExpiries(clusters: FleetReport['clusters'], target: Metrics = metrics): void {
  for (const record of certificateExpiryRecords(clusters)) {
    if (record.daysLeft === null) {
      logger.warn('certificate unreadable', { ...record });
      continue;
    }
    const metric = singleMetricOf(target);
    metric.addMetadata('cluster', record.cluster);
    metric.addMetadata('certificate', record.certificate);
    metric.addMetadata('status', record.status);
    metric.addMetadata('managed', String(record.managed));
    metric.addMetadata('notAfter', record.notAfter ?? '');
    metric.addMetadata('renewalTime', record.renewalTime ?? '');
    metric.addMetric(CERTIFICATE_DAYS_LEFT, MetricUnit.NoUnit, record.daysLeft);
  }
}
