import type { RenewalContext } from '../domain/renewal/context';
import { push } from '../domain/renewal/steps';
import { awsContext } from '../wiring/aws-context';
import { logger } from '../wiring/runtime';
import { withExecution } from '../wiring/step-context';
import type { BatchEvent } from './events';

/**
 * Push: one call with every certificate of the cluster that may go now. A 409 throws
 * NodesNotUpdatedError and the state machine's Retry calls this again with the same input: the same
 * saved set is pushed.
 */
export function createPushHandler(context: () => RenewalContext) {
  return async (batch: BatchEvent): Promise<BatchEvent> => {
    const pushed = await push(withExecution(context(), batch.execution), batch);
    logger.info('pushed', { cluster: batch.cluster, push: pushed.push, waiting: pushed.waiting });
    return { ...batch, ...pushed };
  };
}

export const handler = createPushHandler(awsContext);
