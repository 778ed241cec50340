/** What every renewal step needs, built once per process by the CLI or a Lambda handler. */
import type { ClusterConfig, WatchdogConfig } from '../config';
import { type CredentialsProvider, connectionFor } from '../credentials';
import { ConfigError } from '../errors';
import type { Notifier } from '../ports';
import { RsClient } from '../rs/client';
import type { StateStore } from '../state';

export interface RenewalContext {
  config: WatchdogConfig;
  credentials: CredentialsProvider;
  state: StateStore;
  notifier: Notifier;
  /** acme.caFile's contents: trusted for ACME TLS, issued chains and the cluster once it serves them. */
  acmeTrustPem: string | undefined;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
}

/** One due certificate, as the check step hands it to the renewal steps (also the Map item). */
export interface DueCertificate {
  cluster: string;
  certificate: string;
  status: string;
  forced: boolean;
  currentNotAfter: string | null;
  currentFingerprint256: string | null;
}

export function clusterByName(config: WatchdogConfig, name: string): ClusterConfig {
  const cluster = config.clusters.find((c) => c.name === name);
  if (!cluster) throw new ConfigError(`unknown cluster "${name}": it is not in the configuration`);
  return cluster;
}

export function managedCertificate(cluster: ClusterConfig, name: string) {
  const managed = cluster.certificates[name];
  if (!managed) {
    throw new ConfigError(
      `certificate "${name}" of cluster "${cluster.name}" is not configured for ACME renewal`,
    );
  }
  return managed;
}

export async function openCluster(ctx: RenewalContext, cluster: ClusterConfig): Promise<RsClient> {
  const access = await ctx.credentials.resolve(cluster);
  return new RsClient(connectionFor(cluster, access, ctx.config, ctx.acmeTrustPem));
}

/** Runs fn with a client that is always closed. */
export async function withCluster<T>(
  ctx: RenewalContext,
  cluster: ClusterConfig,
  fn: (client: RsClient) => Promise<T>,
): Promise<T> {
  const client = await openCluster(ctx, cluster);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
