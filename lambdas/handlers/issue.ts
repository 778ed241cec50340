import type { RenewalContext } from '../domain/renewal/context';
import { issue } from '../domain/renewal/steps';
import { awsContext, withIssuer } from '../wiring/aws-context';
import { issuerFor } from '../wiring/issuers';
import { logger } from '../wiring/runtime';
import { withExecution } from '../wiring/step-context';
import type { BatchEvent } from './events';

/** Issue: per certificate of the cluster, the saved certificate if it fits, else a new ACME order saved at once; takes the locks. */
export function createIssueHandler(context: () => RenewalContext) {
  return async (batch: BatchEvent): Promise<BatchEvent> => {
    const issued = await issue(withExecution(context(), batch.execution), batch);
    logger.info('issued', {
      cluster: batch.cluster,
      certificates: issued.steps?.map((s) => ({
        name: s.certificate,
        reused: s.reused,
        serial: s.serialNumber,
      })),
      failures: issued.failures?.map((f) => ({ name: f.item.certificate, error: f.error.name })),
    });
    return { ...batch, ...issued };
  };
}

export const handler = createIssueHandler(
  withIssuer(awsContext, (ctx, settings) => issuerFor(ctx, settings)),
);
