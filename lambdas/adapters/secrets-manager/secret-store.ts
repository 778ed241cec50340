/**
 * SecretStore in AWS Secrets Manager: one secret per key under a prefix, encrypted with a
 * customer-managed KMS key.
 */

import { createHash } from 'node:crypto';
import {
  CreateSecretCommand,
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
      if (!(await this.create(key, value))) {
        // Created by someone else between our two calls: write over it as intended.
        await this.client
          .send(new PutSecretValueCommand({ SecretId: this.name(key), SecretString: value }))
          .catch((e: unknown) => {
            throw this.failure('write', key, e);
          });
      }
    }
  }

  /**
   * Compare-and-set through Secrets Manager's idempotency: a version is written with a
   * ClientRequestToken derived from (key, generation); a token already used with another value is
   * refused, so only one caller can ever write a given generation. No delete-and-recreate: deletion
   * is asynchronous and the name stays taken for a while.
   */
  async claim(key: string, generation: number, value: string): Promise<boolean> {
    const token = claimToken(this.name(key), generation);
    try {
      await this.client.send(
        new PutSecretValueCommand({
          SecretId: this.name(key),
          SecretString: value,
          ClientRequestToken: token,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) {
        if (await this.create(key, value, token)) return true;
        return this.claim(key, generation, value);
      }
      // The conflict signal, and only it: this generation's token is already taken by a version
      // with another value, i.e. another run claimed it first. InvalidRequestException means
      // something else (the secret is scheduled for deletion, or the request is malformed): a broken
      // store must not look like a lock held by someone else.
      if (error instanceof ResourceExistsException) return false;
      throw this.failure('claim', key, error);
    }
  }

  private async create(key: string, value: string, token?: string): Promise<boolean> {
    try {
      await this.client.send(
        new CreateSecretCommand({
          Name: this.name(key),
          SecretString: value,
          ...(token ? { ClientRequestToken: token } : {}),
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

  private name(key: string): string {
    return `${this.options.prefix}/${key}`;
  }

  private failure(op: string, key: string, error: unknown): StateStoreError {
    const name = (error as Error).name ?? 'Error';
    return new StateStoreError(`cannot ${op} secret ${this.name(key)}: ${name}`, {
      cause: error,
      hint: name.includes('AccessDenied')
        ? `grant this function access to secrets ${this.options.prefix}/* and to the KMS key`
        : name === 'InvalidRequestException'
          ? `the secret may be scheduled for deletion: restore it (aws secretsmanager restore-secret --secret-id ${this.name(key)}) or wait until it is gone`
          : 'check Secrets Manager availability; the next run resumes from the saved state',
    });
  }
}

/** 32 to 64 characters, as Secrets Manager requires; distinct per secret and generation. */
function claimToken(name: string, generation: number): string {
  return `${createHash('sha256').update(name).digest('hex').slice(0, 40)}-${generation.toString().padStart(8, '0')}`;
}
