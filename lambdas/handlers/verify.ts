import type { RenewalContext } from '../domain/renewal/context';
import { verify } from '../domain/renewal/steps';
import { awsContext } from '../wiring/aws-context';
import { logger } from '../wiring/runtime';
import { withExecution } from '../wiring/step-context';
import type { BatchEvent } from './events';

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
