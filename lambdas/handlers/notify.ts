import type { Alert } from '../domain/ports';
import type { RenewalContext } from '../domain/renewal/context';
import { notifyDigest } from '../domain/renewal/digest-step';
import { notifyFailed, notifyFindings, notifyRenewed } from '../domain/renewal/steps';
import { awsContext } from '../wiring/aws-context';
import { count, logger } from '../wiring/runtime';
import { errorFromCatch, withExecution } from '../wiring/step-context';
import type { NotifyEvent } from './events';

/** NotifyFindings, NotifyRenewed, NotifyFailed and a run's digest: one function, the event says which. */
export function createNotifyHandler(context: () => RenewalContext) {
  return async (event: NotifyEvent): Promise<{ sent: number }> => {
    let sent = 0;
    if ('alerts' in event) sent = await notifyFindings(context(), event.alerts);
    if ('renewed' in event) {
      const { activeActiveError, ...batch } = event.renewed;
      const options = activeActiveError ? { activeActiveError: errorFromCatch(activeActiveError) } : {};
      const alerts = await notifyRenewed(withExecution(context(), batch.execution), batch, options);
      countOutcomes(alerts);
      sent = alerts.length;
    }
    if ('digest' in event) {
      await notifyDigest(context(), event.digest);
      sent = 1;
    }
    if ('failed' in event) {
      const { item, error } = event.failed;
      const alerts = await notifyFailed(
        withExecution(context(), item.execution),
        item,
        errorFromCatch(error),
      );
      countOutcomes(alerts);
      sent = alerts.length;
    }
    // Each count is a single metric, published as it is made: nothing is left stored to flush.
    logger.info('alerts sent', { count: sent });
    return { sent };
  };
}

/** The fleet counts of what a batch came to (no per-cluster dimension). */
function countOutcomes(alerts: readonly Alert[]): void {
  for (const a of alerts) {
    if (a.kind === 'renewed') count('CertificatesRenewed');
    if (a.kind === 'renewal-failed') count('RenewalFailures');
    if (a.kind === 'order-deferred') count('OrdersDeferred');
  }
}

export { errorFromCatch };
export const handler = createNotifyHandler(awsContext);
