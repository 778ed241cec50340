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

/** One count metric with a Cluster dimension. */
export function count(name: string, cluster: string): void {
  const metric = metrics.singleMetric();
  metric.addDimensions({ Cluster: cluster });
  metric.addMetric(name, MetricUnit.Count, 1);
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

/** DaysLeft per certificate and ClusterCheckFailures per cluster, from a check report. */
export function publishCheckMetrics(report: FleetReport): void {
  for (const cluster of report.clusters) {
    if (cluster.error) {
      logger.error('cluster unreadable', { cluster: cluster.name, error: cluster.error });
      count('ClusterCheckFailures', cluster.name);
    }
    for (const cert of cluster.certificates) {
      if (cert.daysLeft === null) continue;
      const metric = metrics.singleMetric();
      metric.addDimensions({ Cluster: cluster.name, Certificate: cert.name });
      metric.addMetric('DaysLeft', MetricUnit.Count, cert.daysLeft);
    }
  }
}
