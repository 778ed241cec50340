import type { RenewalContext } from '../domain/renewal/context';
import { clusterByName, withCluster } from '../domain/renewal/context';
import { pushSavedCertificate } from '../domain/renewal/push';
import { awsContext } from './aws-context';
import type { RenewalStep } from './events';
import { logger } from './runtime';

/**
 * Pushes the saved certificate once. A 409 throws NodesNotUpdatedError and the state machine's
 * Retry calls this again with the same input: the same saved certificate is pushed.
 */
export function createPushHandler(context: () => RenewalContext) {
  return async (step: RenewalStep): Promise<RenewalStep> => {
    const ctx = context();
    const result = await withCluster(ctx, clusterByName(ctx.config, step.cluster), (client) =>
      pushSavedCertificate(ctx, client, step),
    );
    logger.info('pushed certificate', { cluster: step.cluster, certificate: step.certificate });
    return { ...step, replacedNotAfter: result.replacedNotAfter };
  };
}

export const handler = createPushHandler(awsContext);
