import type { RenewalContext } from '../domain/renewal/context';
import { verify } from '../domain/renewal/steps';
import { awsContext } from './aws-context';
import type { BatchEvent } from './events';
import { logger } from './runtime';
import { withExecution } from './step-context';

/** Verify: the cluster holds each pushed certificate and its endpoints serve it. */
export function createVerifyHandler(context: () => RenewalContext) {
  return async (batch: BatchEvent): Promise<BatchEvent> => {
    const verified = await verify(withExecution(context(), batch.execution), batch);
    logger.info('verified', {
      cluster: batch.cluster,
      verified: verified.steps?.map((s) => ({ name: s.certificate, summary: s.verification })),
    });
    return { ...batch, ...verified };
  };
}

export const handler = createVerifyHandler(awsContext);
