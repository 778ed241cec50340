import { HttpsRenewalInfoSource } from '../adapters/acme/renewal-info';
import { connectCluster } from '../adapters/rs-https';
import { SecretsExtensionCredentialsProvider, SecretsExtensionStore } from '../adapters/secrets-extension';
import type { CredentialsProvider } from '../domain/ports';
import { logOnce, memoryWindows } from '../domain/renewal/renewal-info';
import { batchesOf, type CheckContext, checkAndPlan, rollbackPlan } from '../domain/renewal/steps';
import { summarizeCluster } from '../domain/report';
import { StateStore } from '../domain/state';
import type { CheckEvent, CheckResult } from './events';
import { acmeTrust, deployedConfig, logger, publishCheckMetrics, requiredEnv } from './runtime';

/** Check and Plan: reads every cluster, publishes days left per certificate, and lists what is due. */
export function createCheckHandler(context: () => CheckContext) {
  return async (event: CheckEvent = {}): Promise<CheckResult> => {
    // An operator's rollback: no fleet check, the named certificates go back.
    if (event.rollback)
      return { ...rollbackPlan(context(), event.rollback), generatedAt: new Date().toISOString() };
    const { report, plan } = await checkAndPlan(context(), event.force ?? []);
    publishCheckMetrics(report);
    // The full report goes to the log (it holds no secret); the state machine gets a summary.
    logger.info('check done', { report, due: plan.due.length, findings: plan.findings.length });
    return {
      generatedAt: report.generatedAt,
      clusters: report.clusters.map(summarizeCluster),
      due: event.dryRun ? [] : plan.due,
      batches: event.dryRun ? [] : batchesOf(plan.due),
      findings: plan.findings,
      hasFindings: plan.findings.length > 0 && !event.dryRun,
    };
  };
}

let aws: CheckContext | undefined;

/** The AWS wiring; `otherRegions` reads credentials secrets of other regions (check-any-region.ts). */
export function awsCheckContext(otherRegions?: () => CredentialsProvider): () => CheckContext {
  return () => {
    const config = deployedConfig();
    const acmeTrustPem = acmeTrust(config);
    aws ??= {
      config,
      credentials: new SecretsExtensionCredentialsProvider(otherRegions ? { otherRegions } : {}),
      connect: connectCluster,
      state: new StateStore(new SecretsExtensionStore(requiredEnv('STATE_SECRET_PREFIX'))),
      ...(acmeTrustPem ? { acmeTrustPem } : {}),
      ...(config.acme
        ? {
            renewalInfo: {
              // Plain HTTPS, no acme-client: this function stays small.
              source: new HttpsRenewalInfoSource({
                directoryUrl: config.acme.directoryUrl,
                trustPem: acmeTrustPem,
              }),
              // Its state is read-only (keyless markers): windows live while the container is warm.
              windows: memoryWindows(),
              log: logOnce((message) => logger.warn(message)),
            },
          }
        : {}),
    };
    return aws;
  };
}

export const handler = createCheckHandler(awsCheckContext());
