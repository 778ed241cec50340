/**
 * Where a cluster's credentials and pinned CA come from: the config file and the environment
 * (adapters/config-file), Secrets Manager (adapters/secrets-manager) or the Parameters and Secrets
 * Lambda Extension (adapters/secrets-extension).
 */
import type { ClusterConfig } from '../config/types';

export interface ClusterAccess {
  username: string;
  password: string;
  /** The cluster's CA, when pinned. */
  caPem?: string | undefined;
}

export interface CredentialsProvider {
  resolve(cluster: ClusterConfig): Promise<ClusterAccess>;
}
