import type { RenewalContext } from '../domain/renewal/context';
import { activeActive } from '../domain/renewal/steps';
import { awsContext } from '../wiring/aws-context';
import { logger } from '../wiring/runtime';
import { withExecution } from '../wiring/step-context';
import type { BatchEvent } from './events';

/**
 * ActiveActive: after a verified proxy or syncer push, alert on or force-update the cluster's
 * Active-Active databases. Its Retry calls it again with the same input; tasks it started are polled
 * (from the push record), never started twice.
 */
export function createActiveActiveHandler(context: () => RenewalContext) {
  return async (batch: BatchEvent): Promise<BatchEvent> => {
    const followed = await activeActive(withExecution(context(), batch.execution), batch);
    logger.info('active-active follow-up', {
      cluster: batch.cluster,
      mode: followed.activeActive?.mode ?? 'none',
      databases: followed.activeActive?.databases.map((d) => ({ guid: d.guid, status: d.status })),
    });
    return { ...batch, ...followed };
  };
}

export const handler = createActiveActiveHandler(awsContext);
