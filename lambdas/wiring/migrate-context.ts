/**
 * The MigrateState task's wiring: the state secrets of version 0.1 (read-only, under
 * STATE_SECRET_PREFIX) and the state table with its key sealer.
 */
import { KmsKeySealer } from '../adapters/kms';
import { SecretsManagerLegacyState } from '../adapters/secrets-manager/legacy-state';
import type { MigrationOptions } from '../domain/state-migration';
import { deployedConfig, requiredEnv } from './runtime';
import { awsState } from './state';

let cached: Omit<MigrationOptions, 'outOfTime'> | undefined;

export function awsMigrationContext(): Omit<MigrationOptions, 'outOfTime'> {
  cached ??= {
    config: deployedConfig(),
    legacy: new SecretsManagerLegacyState({
      prefix: requiredEnv('STATE_SECRET_PREFIX', process.env.STATE_SECRET_PREFIX),
    }),
    state: awsState(
      () => new KmsKeySealer({ keyId: requiredEnv('STATE_KMS_KEY_ID', process.env.STATE_KMS_KEY_ID) }),
    ),
    now: () => new Date(),
  };
  return cached;
}
