import { VerificationError } from '../domain/errors';
import type { RenewalContext } from '../domain/renewal/context';
import { clusterByName, withCluster } from '../domain/renewal/context';
import { verifyPushed } from '../domain/renewal/verify';
import { awsContext } from './aws-context';
import type { RenewalStep } from './events';
import { logger } from './runtime';

/** Confirms the cluster holds and serves the pushed certificate. */
export function createVerifyHandler(context: () => RenewalContext) {
  return async (step: RenewalStep): Promise<RenewalStep> => {
    const ctx = context();
    const saved = await ctx.state.issued(step.cluster, step.certificate);
    if (!saved || saved.fingerprint256 !== step.fingerprint256) {
      throw new VerificationError(
        `the saved ${step.certificate} certificate of "${step.cluster}" is not the one pushed`,
      );
    }
    const result = await withCluster(ctx, clusterByName(ctx.config, step.cluster), (client) =>
      verifyPushed(ctx, client, saved),
    );
    logger.info('verified certificate', {
      cluster: step.cluster,
      certificate: step.certificate,
      summary: result.summary,
    });
    return { ...step, verification: result.summary };
  };
}

export const handler = createVerifyHandler(awsContext);
