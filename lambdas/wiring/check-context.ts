/**
 * The check function's wiring: credentials through the Parameters and Secrets extension (no SDK);
 * from the state table (no SDK either: adapters/dynamodb), the keyless pending markers, the ARI
 * windows and the inspection memory, so both survive a cold start; ARI over plain HTTPS. Secrets of
 * other regions only through `otherRegions` (handlers/check-any-region.ts carries the SDK for them).
 */
import { HttpsRenewalInfoSource } from '../adapters/acme/renewal-info';
import { connectCluster } from '../adapters/rs-https';
import { SecretsExtensionCredentialsProvider } from '../adapters/secrets-extension';
import { inspectionMemoryByScope, recordInspectionMemory } from '../domain/inspection-memory-records';
import type { CredentialsProvider } from '../domain/ports';
import { logOnce, recordWindows } from '../domain/renewal/renewal-info';
import type { CheckContext } from '../domain/renewal/steps';
import { acmeTrust, deployedConfig, logger } from './runtime';
import { awsState } from './state';

let aws: CheckContext | undefined;

/** The AWS wiring; `otherRegions` reads credentials secrets of other regions (check-any-region.ts). */
export function awsCheckContext(otherRegions?: () => CredentialsProvider): () => CheckContext {
  return () => {
    if (aws) return aws;
    const config = deployedConfig();
    const acmeTrustPem = acmeTrust(config);
    const state = awsState();
    aws = {
      config,
      credentials: new SecretsExtensionCredentialsProvider(otherRegions ? { otherRegions } : {}),
      connect: connectCluster,
      state,
      inspectionMemory: recordInspectionMemory(state.records),
      inspectionMemoryOf: inspectionMemoryByScope(state.records),
      ...(acmeTrustPem ? { acmeTrustPem } : {}),
      ...(config.acme
        ? {
            renewalInfo: {
              // Plain HTTPS, no acme-client: this function stays small.
              source: new HttpsRenewalInfoSource({
                directoryUrl: config.acme.directoryUrl,
                trustPem: acmeTrustPem,
              }),
              // In the state table: a cold start keeps the CA's Retry-After and the picked moment.
              windows: recordWindows(state.records),
              log: logOnce((message) => logger.warn(message)),
            },
          }
        : {}),
    };
    return aws;
  };
}
