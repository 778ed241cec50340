/**
 * Where a cluster's credentials and pinned CA come from: the config file and the environment
 * (local mode), or a Secrets Manager secret (AWS mode, adapters/secrets-manager).
 */
import type { ClusterConfig, WatchdogConfig } from './config';
import { readPemFile } from './config';
import { ConfigError } from './errors';
import type { RsConnection } from './rs/client';

export interface ClusterAccess {
  username: string;
  password: string;
  /** The cluster's CA, when pinned. */
  caPem?: string | undefined;
}

export interface CredentialsProvider {
  resolve(cluster: ClusterConfig): Promise<ClusterAccess>;
}

/**
 * Local mode: `password`, `passwordEnv` and `caFile` from the config. A cluster with
 * `credentialsSecret` goes to `secrets` when given (the CLI reads Secrets Manager with the caller's
 * AWS credentials, so the deployed config can be checked by hand).
 */
export class ConfigCredentialsProvider implements CredentialsProvider {
  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly secrets?: () => CredentialsProvider,
  ) {}

  async resolve(cluster: ClusterConfig): Promise<ClusterAccess> {
    if (cluster.credentialsSecret !== undefined) {
      if (this.secrets) return this.secrets().resolve(cluster);
      throw new ConfigError(
        `cluster "${cluster.name}": credentialsSecret needs AWS mode; locally use password or passwordEnv`,
      );
    }
    let password = cluster.password;
    if (cluster.passwordEnv !== undefined) {
      password = this.env[cluster.passwordEnv];
      if (!password)
        throw new ConfigError(
          `cluster "${cluster.name}": environment variable ${cluster.passwordEnv} is not set`,
        );
    }
    return {
      username: cluster.username ?? '',
      password: password ?? '',
      caPem: cluster.caFile ? readPemFile(cluster.caFile, `clusters["${cluster.name}"].caFile`) : undefined,
    };
  }
}

/** The RS connection for a cluster: its access plus the ACME CA as extra trust (see RsConnection). */
export function connectionFor(
  cluster: ClusterConfig,
  access: ClusterAccess,
  config: Pick<WatchdogConfig, 'acme'>,
  acmeTrustPem?: string,
): RsConnection {
  return {
    cluster: cluster.name,
    endpoint: cluster.endpoint,
    serverName: cluster.serverName,
    username: access.username,
    password: access.password,
    clusterCaPem: access.caPem,
    extraCaPems: acmeTrustPem
      ? [acmeTrustPem]
      : config.acme?.caFile
        ? [readPemFile(config.acme.caFile, 'acme.caFile')]
        : [],
    timeoutMs: cluster.timeoutSeconds * 1000,
  };
}

/** The name a cluster's api certificate is verified against: serverName, else the endpoint's host. */
export function connectName(cluster: Pick<ClusterConfig, 'endpoint' | 'serverName'>): string {
  return cluster.serverName ?? new URL(cluster.endpoint).hostname.replace(/^\[|\]$/g, '');
}
