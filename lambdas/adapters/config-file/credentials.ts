import type { ClusterConfig } from '../../domain/config/types';
import { ConfigError } from '../../domain/errors';
import type {
  ClientCertificatePair,
  ClusterAccess,
  CredentialsProvider,
} from '../../domain/ports/credentials';
import { readClientCertificateFiles, writeClientCertificateFiles } from './client-certificate';
import { clusterPassword } from './files';
import { readPemFile } from './pem';

/** A client certificate's key secret, read and written with the caller's AWS credentials (CLI). */
export interface ClientCertificateSecrets {
  read(cluster: ClusterConfig): Promise<ClientCertificatePair>;
  write(cluster: ClusterConfig, pair: ClientCertificatePair): Promise<string>;
}

/**
 * Local mode: `password`, `passwordEnv`, `caFile` and the client certificate's files from the
 * config. A cluster with `credentialsSecret` goes to `secrets` when given (the CLI reads Secrets
 * Manager with the caller's AWS credentials, so the deployed config can be checked by hand), and a
 * client certificate with `keySecret` to `clientSecrets`.
 */
export class ConfigCredentialsProvider implements CredentialsProvider {
  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly secrets?: () => CredentialsProvider,
    private readonly clientSecrets?: () => ClientCertificateSecrets,
  ) {}

  async resolve(cluster: ClusterConfig): Promise<ClusterAccess> {
    if (cluster.credentialsSecret !== undefined) {
      if (this.secrets) return this.secrets().resolve(cluster);
      throw new ConfigError(
        `cluster "${cluster.name}": credentialsSecret needs AWS mode; locally use password or passwordEnv`,
      );
    }
    const access: ClusterAccess = {
      username: cluster.username ?? '',
      password: clusterPassword(cluster, this.env),
      caPem: cluster.caFile ? readPemFile(cluster.caFile, `clusters["${cluster.name}"].caFile`) : undefined,
    };
    const clientCertificate = await this.clientPair(cluster);
    return clientCertificate ? { ...access, clientCertificate } : access;
  }

  /** The files are read on every resolve: nothing is cached. */
  forget(cluster: ClusterConfig): void {
    if (cluster.credentialsSecret !== undefined) this.secrets?.().forget?.(cluster);
  }

  async writeClientCertificate(cluster: ClusterConfig, pair: ClientCertificatePair): Promise<string> {
    const client = cluster.clientCertificate;
    if (!client) throw new ConfigError(`cluster "${cluster.name}" has no clientCertificate`);
    if (cluster.credentialsSecret !== undefined && this.secrets) {
      const provider = this.secrets();
      if (provider.writeClientCertificate) return provider.writeClientCertificate(cluster, pair);
    }
    if (client.keyFile !== undefined) return writeClientCertificateFiles(client, pair);
    if (!this.clientSecrets)
      throw new ConfigError(`cluster "${cluster.name}": clientCertificate.keySecret needs AWS access`);
    return this.clientSecrets().write(cluster, pair);
  }

  private async clientPair(cluster: ClusterConfig): Promise<ClientCertificatePair | undefined> {
    const client = cluster.clientCertificate;
    if (!client) return undefined;
    if (client.keyFile !== undefined)
      return readClientCertificateFiles(client, `clusters["${cluster.name}"].clientCertificate`);
    if (!this.clientSecrets)
      throw new ConfigError(
        `cluster "${cluster.name}": clientCertificate.keySecret needs AWS access; locally use keyFile`,
      );
    return this.clientSecrets().read(cluster);
  }
}
