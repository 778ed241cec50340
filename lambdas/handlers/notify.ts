import { immediateAlerts } from '../domain/digest';
import type { Alert } from '../domain/ports';
import type { RenewalContext } from '../domain/renewal/context';
import { notifyDigest } from '../domain/renewal/digest-step';
import { notifyFailed, notifyFindings, notifyRenewed } from '../domain/renewal/steps';
import { digestRun } from '../domain/run/digest-run';
import { runKeys } from '../domain/run/objects';
import { awsContext } from '../wiring/aws-context';
import { consoleUrl, reportStore } from '../wiring/report-store';
import { count, logger } from '../wiring/runtime';
import { errorFromCatch, withExecution } from '../wiring/step-context';
import type { NotifyEvent, NotifyResult } from './events';

/**
 * NotifyFindings, NotifyRenewed, NotifyFailed, NotifyDigest, and a ready digest: one function, the
 * event says which. A run tells people once, in its digest; only what cannot wait (a failed
 * renewal, an expired certificate, a failed Active-Active follow-up) goes out on its own as well.
 */
export function createNotifyHandler(context: () => RenewalContext, store = reportStore) {
  /** The context whose notifier publishes only the immediate alerts (the rest wait for the digest). */
  const immediateOnly = (ctx: RenewalContext): RenewalContext => ({
    ...ctx,
    notifier: {
      send: async (alert: Alert) => {
        if (immediateAlerts([alert]).length > 0) await ctx.notifier.send(alert);
      },
    },
  });
  return async (event: NotifyEvent): Promise<NotifyResult> => {
    let sent = 0;
    let alerts: Alert[] | undefined;
    let digestRef: NotifyResult['digest'];
    // Alerts an operator (or an earlier version's state machine) hands over: all of them go out.
    if ('alerts' in event) sent = await notifyFindings(context(), event.alerts);
    if ('findingsOf' in event) {
      const text = await store().getText(event.findingsOf.key);
      if (text === null) throw new Error(`${event.findingsOf.key} is not in the report bucket`);
      sent = await notifyFindings(context(), immediateAlerts(JSON.parse(text) as Alert[]));
    }
    if ('renewed' in event) {
      const { activeActiveError, ...batch } = event.renewed;
      const options = activeActiveError ? { activeActiveError: errorFromCatch(activeActiveError) } : {};
      alerts = await notifyRenewed(withExecution(immediateOnly(context()), batch.execution), batch, options);
      countOutcomes(alerts);
      sent = immediateAlerts(alerts).length;
    }
    if ('failed' in event) {
      const { item, error } = event.failed;
      alerts = await notifyFailed(
        withExecution(immediateOnly(context()), item.execution),
        item,
        errorFromCatch(error),
      );
      countOutcomes(alerts);
      sent = immediateAlerts(alerts).length;
    }
    if ('digest' in event) {
      await notifyDigest(context(), event.digest);
      sent = 1;
    }
    if ('digestOf' in event) {
      const { digest } = await digestRun(store(), event.digestOf, { reportUrl: consoleUrl });
      await notifyDigest(context(), digest);
      sent = 1;
      digestRef = { bucket: event.digestOf.bucket, key: runKeys(event.digestOf.run).digest };
    }
    // Each count is a single metric, published as it is made: nothing is left stored to flush.
    logger.info('alerts sent', { count: sent });
    return { sent, ...(alerts ? { alerts } : {}), ...(digestRef ? { digest: digestRef } : {}) };
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
