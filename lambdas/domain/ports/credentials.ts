/**
 * Where a cluster's credentials and pinned CA come from: the config file and the environment
 * (adapters/config-file), Secrets Manager (adapters/secrets-manager) or the Parameters and Secrets
 * Lambda Extension (adapters/secrets-extension).
 */
import type { ClusterConfig } from '../config/types';

export interface ClusterAccess {
  /** '' when the cluster logs in with a client certificate only. */
  username: string;
  /** '' when the cluster logs in with a client certificate only. */
  password: string;
  /** The cluster's CA, when pinned. */
  caPem?: string | undefined;
  /** RS 7.8.4+ certificate login (`clientCertificate`): presented on every connection. */
  clientCertificate?: ClientCertificatePair | undefined;
}

/** The watchdog's own client certificate and its key, as read from where the operator keeps them. */
export interface ClientCertificatePair {
  /** Leaf first, then its chain. */
  certificatePem: string;
  keyPem: string;
}

export interface CredentialsProvider {
  resolve(cluster: ClusterConfig): Promise<ClusterAccess>;
  /**
   * Writes a renewed client certificate where `resolve` read it from (the files, atomically, the key
   * 0600; or a new version of the key secret) and returns where, in words. Later `resolve` calls
   * return it. Absent: this provider cannot write (the renewal fails, nothing is lost).
   */
  writeClientCertificate?(cluster: ClusterConfig, pair: ClientCertificatePair): Promise<string>;
  /** Forgets what it cached for the cluster, so the next `resolve` reads again. */
  forget?(cluster: ClusterConfig): void;
}
