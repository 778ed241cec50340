import type { RenewalContext } from '../domain/renewal/context';
import { push } from '../domain/renewal/steps';
import { awsContext } from './aws-context';
import type { StepEvent } from './events';
import { logger } from './runtime';
import { withExecution } from './step-context';

/**
 * Push: one PUT of the saved certificate. A 409 throws NodesNotUpdatedError and the state machine's
 * Retry calls this again with the same input: the same saved certificate is pushed.
 */
export function createPushHandler(context: () => RenewalContext) {
  return async (step: StepEvent): Promise<StepEvent> => {
    const pushed = await push(withExecution(context(), step.execution), step);
    logger.info('pushed certificate', { cluster: step.cluster, certificate: step.certificate });
    return { ...step, ...pushed };
  };
}

export const handler = createPushHandler(awsContext);
