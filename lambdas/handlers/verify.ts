import type { RenewalContext } from '../domain/renewal/context';
import { verify } from '../domain/renewal/steps';
import { awsContext } from './aws-context';
import type { StepEvent } from './events';
import { logger } from './runtime';
import { withExecution } from './step-context';

/** Verify: the cluster holds the pushed certificate and its endpoints serve it. */
export function createVerifyHandler(context: () => RenewalContext) {
  return async (step: StepEvent): Promise<StepEvent> => {
    const verified = await verify(withExecution(context(), step.execution), step);
    logger.info('verified certificate', {
      cluster: step.cluster,
      certificate: step.certificate,
      summary: verified.verification,
    });
    return { ...step, ...verified };
  };
}

export const handler = createVerifyHandler(awsContext);
