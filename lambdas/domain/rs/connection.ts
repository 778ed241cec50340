/** The RS connection of a cluster: what the config says plus the access its credentials provider gave. */
import type { ClusterConfig } from '../config/types';
import type { RsConnection } from '../ports/cluster-transport';
import type { ClusterAccess } from '../ports/credentials';

/**
 * The connection for a cluster. `acmeTrustPem` (acme.caFile, read once per process) is trusted too:
 * once our renewal has installed an ACME certificate as `api`, the cluster serves it.
 */
export function connectionFor(
  cluster: ClusterConfig,
  access: ClusterAccess,
  acmeTrustPem: string | undefined,
): RsConnection {
  return {
    cluster: cluster.name,
    endpoint: cluster.endpoint,
    serverName: cluster.serverName,
    username: access.username,
    password: access.password,
    ...(access.clientCertificate ? { clientCertificate: access.clientCertificate } : {}),
    clusterCaPem: access.caPem,
    extraCaPems: acmeTrustPem ? [acmeTrustPem] : [],
    timeoutMs: cluster.timeoutSeconds * 1000,
    ...(cluster.connectTimeoutSeconds === undefined
      ? {}
      : { connectTimeoutMs: cluster.connectTimeoutSeconds * 1000 }),
  };
}

/** The name a cluster's api certificate is verified against: serverName, else the endpoint's host. */
export function connectName(cluster: Pick<ClusterConfig, 'endpoint' | 'serverName'>): string {
  return cluster.serverName ?? new URL(cluster.endpoint).hostname.replace(/^\[|\]$/g, '');
}
