/**
 * The check function's wiring: credentials through the Parameters and Secrets extension (no SDK),
 * keyless pending markers read the same way, ARI over plain HTTPS. Secrets of other regions only
 * through `otherRegions` (handlers/check-any-region.ts carries the SDK for them).
 */
import { HttpsRenewalInfoSource } from '../adapters/acme/renewal-info';
import { connectCluster } from '../adapters/rs-https';
import { SecretsExtensionCredentialsProvider, SecretsExtensionStore } from '../adapters/secrets-extension';
import type { CredentialsProvider } from '../domain/ports';
import { logOnce, memoryWindows } from '../domain/renewal/renewal-info';
import type { CheckContext } from '../domain/renewal/steps';
import { StateStore } from '../domain/state';
import { acmeTrust, deployedConfig, logger, requiredEnv } from './runtime';

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
      state: new StateStore(
        new SecretsExtensionStore(requiredEnv('STATE_SECRET_PREFIX', process.env.STATE_SECRET_PREFIX)),
      ),
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
