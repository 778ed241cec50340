import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsExtensionCredentialsProvider } from '../adapters/aws/secrets-extension';
import type { CheckDependencies } from '../domain/check';
import { checkFleet } from '../domain/check';
import type { WatchdogConfig } from '../domain/config';
import { planClusters } from '../domain/renewal/plan';
import type { ClusterReport } from '../domain/report';
import type { CheckEvent, CheckResult, ClusterSummary } from './events';
import { acmeTrust, deployedConfig, logger, metrics } from './runtime';

/** Reads every cluster, publishes days left per certificate, and lists what is due. */
export function createCheckHandler(context: () => { config: WatchdogConfig; deps: CheckDependencies }) {
  return async (event: CheckEvent = {}): Promise<CheckResult> => {
    const { config, deps } = context();
    const report = await checkFleet(config, deps);
    for (const cluster of report.clusters) {
      if (cluster.error) {
        logger.error('cluster unreadable', { cluster: cluster.name, error: cluster.error });
        const metric = metrics.singleMetric();
        metric.addDimensions({ Cluster: cluster.name });
        metric.addMetric('ClusterCheckFailures', MetricUnit.Count, 1);
      }
      for (const cert of cluster.certificates) {
        if (cert.daysLeft === null) continue;
        const metric = metrics.singleMetric();
        metric.addDimensions({ Cluster: cluster.name, Certificate: cert.name });
        metric.addMetric('DaysLeft', MetricUnit.Count, cert.daysLeft);
      }
    }
    const { due, findings } = planClusters(report.clusters, event.force ?? []);
    // The full report goes to the log (it holds no secret); the state machine gets a summary.
    logger.info('check done', { report, due: due.length, findings: findings.length });
    return {
      generatedAt: report.generatedAt,
      clusters: report.clusters.map(summarize),
      due: event.dryRun ? [] : due,
      findings,
      hasFindings: findings.length > 0 && !event.dryRun,
    };
  };
}

let awsCheck: { config: WatchdogConfig; deps: CheckDependencies } | undefined;

function summarize(cluster: ClusterReport): ClusterSummary {
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

export const handler = createCheckHandler(() => {
  if (!awsCheck) {
    const config = deployedConfig();
    const trust = acmeTrust(config);
    awsCheck = {
      config,
      deps: {
        credentials: new SecretsExtensionCredentialsProvider(),
        ...(trust ? { acmeTrustPem: trust } : {}),
      },
    };
  }
  return awsCheck;
});
