/**
 * AWS mode, through the SDK (push, verify, notify; check for secrets of other regions or accounts;
 * the CLI for credentialsSecret): a cluster's credentials come from its Secrets Manager secret, read
 * as the cluster's `roleArn` when it names one,
 * `{"username": "...", "password": "...", "caPem": "optional pinned CA"}`, never from the
 * template, the environment or the logs.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ClusterConfig } from '../../domain/config/types';
import { AuthenticationError, ConfigError } from '../../domain/errors';
import type { ClusterAccess, CredentialsProvider } from '../../domain/ports';
import { accessFromSecret } from './cluster-secret';
import { RegionalSecretsClients } from './regional';

export class SecretsManagerCredentialsProvider implements CredentialsProvider {
  private readonly clients: RegionalSecretsClients;
  private readonly cache = new Map<string, Promise<ClusterAccess>>();

  /** `client` reads secrets of this region; a secret ARN of another region gets that region's client. */
  constructor(client?: SecretsManagerClient | RegionalSecretsClients) {
    this.clients = client instanceof RegionalSecretsClients ? client : new RegionalSecretsClients(client);
  }

  resolve(cluster: ClusterConfig): Promise<ClusterAccess> {
    // One read per cluster per warm container; a failed read is not cached.
    let access = this.cache.get(cluster.name);
    if (!access) {
      access = this.read(cluster);
      access.catch(() => this.cache.delete(cluster.name));
      this.cache.set(cluster.name, access);
    }
    return access;
  }

  private async read(cluster: ClusterConfig): Promise<ClusterAccess> {
    const secretId = cluster.credentialsSecret;
    if (!secretId)
      throw new ConfigError(`cluster "${cluster.name}": credentialsSecret is required in AWS mode`);
    let text: string | undefined;
    try {
      text = (
        await this.clients
          .forCluster(cluster, secretId)
          .send(new GetSecretValueCommand({ SecretId: secretId }))
      ).SecretString;
    } catch (error) {
      // A role that could not be assumed says so itself (AuthenticationError with its own hint).
      if (error instanceof AuthenticationError) throw error;
      throw new AuthenticationError(
        `cluster "${cluster.name}": cannot read secret ${secretId}${cluster.roleArn ? ` as ${cluster.roleArn}` : ''}: ${(error as Error).name}`,
        {
          hint: cluster.roleArn
            ? 'check the secret exists (in the region of its ARN) and that the role may read it (and decrypt its KMS key): see the README, clusters in other accounts'
            : 'check the secret exists (in the region of its ARN) and that this function may read it (and decrypt its KMS key)',
        },
      );
    }
    return accessFromSecret(cluster, secretId, text);
  }
}
