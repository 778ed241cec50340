/**
 * SecretStore in AWS Secrets Manager: one secret per key under a prefix, encrypted with a
 * customer-managed KMS key. CreateSecret fails when the name exists, which makes it an atomic lock.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { StateStoreError } from '../../domain/errors';
import type { SecretStore } from '../../domain/ports';

export interface SecretsManagerStoreOptions {
  /** Secret name prefix, e.g. `rs-cert-watchdog/prod`. */
  prefix: string;
  kmsKeyId?: string | undefined;
  client?: SecretsManagerClient;
}

export class SecretsManagerStore implements SecretStore {
  private readonly client: SecretsManagerClient;

  constructor(private readonly options: SecretsManagerStoreOptions) {
    this.client = options.client ?? new SecretsManagerClient({});
  }

  async read(key: string): Promise<string | null> {
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.name(key) }));
      return out.SecretString ?? null;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return null;
      throw this.failure('read', key, error);
    }
  }

  async write(key: string, value: string): Promise<void> {
    try {
      await this.client.send(new PutSecretValueCommand({ SecretId: this.name(key), SecretString: value }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw this.failure('write', key, error);
      if (!(await this.createExclusive(key, value))) {
        // Created by someone else between our two calls: write over it as intended.
        await this.client
          .send(new PutSecretValueCommand({ SecretId: this.name(key), SecretString: value }))
          .catch((e: unknown) => {
            throw this.failure('write', key, e);
          });
      }
    }
  }

  async createExclusive(key: string, value: string): Promise<boolean> {
    try {
      await this.client.send(
        new CreateSecretCommand({
          Name: this.name(key),
          SecretString: value,
          ...(this.options.kmsKeyId ? { KmsKeyId: this.options.kmsKeyId } : {}),
          Description:
            'rs-cert-watchdog state (ACME account, issued certificate or lock); do not edit by hand',
          Tags: [{ Key: 'managed-by', Value: 'rs-cert-watchdog' }],
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ResourceExistsException) return false;
      throw this.failure('create', key, error);
    }
  }

  async remove(key: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteSecretCommand({ SecretId: this.name(key), ForceDeleteWithoutRecovery: true }),
      );
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return;
      throw this.failure('remove', key, error);
    }
  }

  private name(key: string): string {
    return `${this.options.prefix}/${key}`;
  }

  private failure(op: string, key: string, error: unknown): StateStoreError {
    const name = (error as Error).name ?? 'Error';
    return new StateStoreError(`cannot ${op} secret ${this.name(key)}: ${name}`, {
      cause: error,
      hint: name.includes('AccessDenied')
        ? `grant this function access to secrets ${this.options.prefix}/* and to the KMS key`
        : 'check Secrets Manager availability; the next run resumes from the saved state',
    });
  }
}
