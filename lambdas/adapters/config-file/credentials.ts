import type { ClusterConfig } from '../../domain/config/types';
import { ConfigError } from '../../domain/errors';
import type { ClusterAccess, CredentialsProvider } from '../../domain/ports/credentials';
import { clusterPassword } from './files';
import { readPemFile } from './pem';

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
    return {
      username: cluster.username ?? '',
      password: clusterPassword(cluster, this.env),
      caPem: cluster.caFile ? readPemFile(cluster.caFile, `clusters["${cluster.name}"].caFile`) : undefined,
    };
  }
}
