import type { RenewalContext } from '../domain/renewal/context';
import { notifyFailed, notifyFindings, notifyRenewed } from '../domain/renewal/steps';
import { awsContext } from './aws-context';
import type { NotifyEvent } from './events';
import { count, logger, metrics } from './runtime';
import { errorFromCatch, withExecution } from './step-context';

/** NotifyFindings, NotifyRenewed and NotifyFailed: one function, the event says which. */
export function createNotifyHandler(context: () => RenewalContext) {
  return async (event: NotifyEvent): Promise<{ sent: number }> => {
    let sent = 0;
    if ('alerts' in event) sent = await notifyFindings(context(), event.alerts);
    if ('renewed' in event) {
      await notifyRenewed(withExecution(context(), event.renewed.execution), event.renewed);
      count('CertificatesRenewed', event.renewed.cluster);
      sent = 1;
    }
    if ('failed' in event) {
      const { item, error } = event.failed;
      const alert = await notifyFailed(withExecution(context(), item.execution), item, errorFromCatch(error));
      if (alert) count('RenewalFailures', item.cluster);
      sent = alert ? 1 : 0;
    }
    logger.info('alerts sent', { count: sent });
    metrics.publishStoredMetrics();
    return { sent };
  };
}

export { errorFromCatch };
export const handler = createNotifyHandler(awsContext);
