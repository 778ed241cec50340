import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { type ErrorInfo, NodesNotUpdatedError } from '../domain/errors';
import type { Alert } from '../domain/ports';
import type { RenewalContext } from '../domain/renewal/context';
import { clusterByName, withCluster } from '../domain/renewal/context';
import { describeHalfUpdate } from '../domain/renewal/push';
import { nextStep } from '../domain/renewal/renew-fleet';
import { awsContext } from './aws-context';
import type { NotifyEvent } from './events';
import { logger, metrics } from './runtime';

/** Turns a workflow outcome into alerts: findings of the check, a renewal, or a caught failure. */
export function createNotifyHandler(context: () => RenewalContext) {
  return async (event: NotifyEvent): Promise<{ sent: number }> => {
    const ctx = context();
    const alerts: Alert[] = [];
    if ('alerts' in event) alerts.push(...event.alerts);
    if ('renewed' in event) {
      const step = event.renewed;
      const saved = await ctx.state.issued(step.cluster, step.certificate);
      alerts.push({
        kind: 'renewed',
        cluster: step.cluster,
        certificate: step.certificate,
        domains: saved?.domains ?? [],
        oldNotAfter: step.replacedNotAfter ?? step.currentNotAfter,
        newNotAfter: step.notAfter,
        serialNumber: step.serialNumber,
        fingerprint256: step.fingerprint256,
        verification: step.verification ?? 'not verified',
      });
      count('CertificatesRenewed', step.cluster);
    }
    if ('failed' in event) {
      const { item, error } = event.failed;
      let info = errorFromCatch(error);
      if (info.name === 'NodesNotUpdatedError') {
        // Retries ran out: say which nodes are behind.
        const described = await withCluster(ctx, clusterByName(ctx.config, item.cluster), (client) =>
          describeHalfUpdate(
            ctx,
            client,
            item,
            new NodesNotUpdatedError(info.message),
            ctx.config.pushRetry.maxAttempts + 1,
          ),
        ).catch(() => undefined);
        if (described)
          info = {
            name: described.name,
            message: described.message,
            ...(described.hint ? { hint: described.hint } : {}),
          };
      }
      alerts.push({
        kind: 'renewal-failed',
        cluster: item.cluster,
        certificate: item.certificate,
        error: info,
        action: nextStep(info),
      });
      count('RenewalFailures', item.cluster);
    }
    for (const alert of alerts) await ctx.notifier.send(alert);
    logger.info('alerts sent', { count: alerts.length, kinds: alerts.map((a) => a.kind) });
    metrics.publishStoredMetrics();
    return { sent: alerts.length };
  };
}

function count(name: string, cluster: string): void {
  const metric = metrics.singleMetric();
  metric.addDimensions({ Cluster: cluster });
  metric.addMetric(name, MetricUnit.Count, 1);
}

/**
 * A Catch gives {Error, Cause}; on AWS, Cause is the Lambda's JSON error
 * ({"errorType","errorMessage","trace"}), locally just the message.
 */
export function errorFromCatch(error: { Error: string; Cause?: string }): ErrorInfo {
  let message = error.Cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // not JSON: the message itself
  }
  return { name: error.Error, message: message || error.Error };
}

export const handler = createNotifyHandler(awsContext);
