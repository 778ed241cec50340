/**
 * The state of version 0.1 in Secrets Manager (one secret per entry under the stack's
 * prefix), read once by the migration (domain/state-migration.ts). Read-only: nothing writes there
 * any more.
 *
 * Only ResourceNotFoundException means "absent". AccessDenied, a KMS failure
 * (DecryptionFailure, KMS key disabled), a throttle the SDK gave up on, a secret scheduled for
 * deletion (InvalidRequestException): each is an error, so a migration never takes an unreadable
 * secret for a missing one and moves on without it.
 */
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { StateStoreError } from '../../domain/errors';
import type { LegacyStateReader } from '../../domain/ports';

export interface SecretsManagerLegacyStateOptions {
  /** Secret name prefix, e.g. `rs-cert-watchdog/prod`. */
  prefix: string;
  client?: SecretsManagerClient;
}

export class SecretsManagerLegacyState implements LegacyStateReader {
  private readonly client: SecretsManagerClient;

  constructor(private readonly options: SecretsManagerLegacyStateOptions) {
    this.client = options.client ?? new SecretsManagerClient({});
  }

  async read(key: string): Promise<string | null> {
    const name = `${this.options.prefix}/${key}`;
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: name }));
      return out.SecretString ?? null;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return null;
      const type = (error as Error).name ?? 'Error';
      throw new StateStoreError(`cannot read the earlier state secret ${name}: ${type}`, {
        cause: error,
        hint: type.includes('AccessDenied')
          ? `grant this function secretsmanager:GetSecretValue on ${this.options.prefix}/* and kms:Decrypt through Secrets Manager (a deployment error)`
          : type === 'InvalidRequestException'
            ? `the secret is scheduled for deletion before its state was moved: restore it (aws secretsmanager restore-secret --secret-id ${name}) and run again`
            : type === 'DecryptionFailure' || type.startsWith('KMS')
              ? 'Secrets Manager could not decrypt it with its KMS key: check the key is enabled and usable'
              : 'check Secrets Manager availability; the migration resumes where it stopped',
      });
    }
  }
}
