/**
 * AWS mode, through the SDK (push, verify, notify; check for secrets of other regions or accounts;
 * the CLI for credentialsSecret): a cluster's credentials come from its Secrets Manager secret,
 * `{"username": "...", "password": "...", "caPem": "optional pinned CA"}`, never from the template,
 * the environment or the logs. With `clientCertificate`, its key (and, once renewed, its
 * certificate) come from `keySecret`, and a renewal writes a new version there. Every secret of a
 * cluster that names a `roleArn` is read (and written) as that role.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ClusterConfig } from '../../domain/config/types';
import { AuthenticationError, ClientCertificateStoreError, ConfigError } from '../../domain/errors';
import type { ClientCertificatePair, ClusterAccess, CredentialsProvider } from '../../domain/ports';
import { readClientCertificateFiles, writeClientCertificateFiles } from '../config-file/client-certificate';
import { writeClientCertificateSecret } from './client-certificate';
import { clientPairFromSecret } from './client-secret';
import { accessFromSecret, configuredCa } from './cluster-secret';
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

  forget(cluster: ClusterConfig): void {
    this.cache.delete(cluster.name);
  }

  async writeClientCertificate(cluster: ClusterConfig, pair: ClientCertificatePair): Promise<string> {
    const client = cluster.clientCertificate;
    if (!client) throw new ConfigError(`cluster "${cluster.name}" has no clientCertificate`);
    const where =
      client.keySecret !== undefined
        ? await writeClientCertificateSecret(this.clients, client.keySecret, pair, cluster)
        : await writeClientCertificateFiles(client, pair);
    this.forget(cluster);
    return where;
  }

  private async read(cluster: ClusterConfig): Promise<ClusterAccess> {
    const secretId = cluster.credentialsSecret;
    if (!secretId && !cluster.clientCertificate)
      throw new ConfigError(`cluster "${cluster.name}": credentialsSecret is required in AWS mode`);
    const access = secretId
      ? accessFromSecret(cluster, secretId, await this.secretString(cluster, secretId))
      : { username: '', password: '', caPem: configuredCa(cluster) };
    const clientCertificate = await this.clientPair(cluster);
    return clientCertificate ? { ...access, clientCertificate } : access;
  }

  private async clientPair(cluster: ClusterConfig): Promise<ClientCertificatePair | undefined> {
    const client = cluster.clientCertificate;
    if (!client) return undefined;
    if (client.keySecret === undefined)
      return readClientCertificateFiles(client, `clusters["${cluster.name}"].clientCertificate`);
    let text: string | undefined;
    try {
      text = await this.secretString(cluster, client.keySecret);
    } catch (error) {
      throw new ClientCertificateStoreError((error as Error).message, {
        hint: 'check the clientCertificate.keySecret exists and that this function may read it (and decrypt its KMS key)',
      });
    }
    return clientPairFromSecret(cluster, text);
  }

  private async secretString(cluster: ClusterConfig, secretId: string): Promise<string | undefined> {
    try {
      return (
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
  }
}
