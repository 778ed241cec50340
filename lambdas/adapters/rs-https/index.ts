/** The RS REST API over node:https: one keep-alive agent per cluster with its pinned trust. */
import type { ClusterConnector } from '../../domain/ports/cluster-transport';
import { RS_CONNECT_TIMEOUT_MS, RS_GET_RETRY, RS_REQUEST_TIMEOUT_MS } from '../../domain/retry';
import { RsTransport } from './transport';

export const connectCluster: ClusterConnector = (connection) => {
  const timeoutMs = connection.timeoutMs ?? RS_REQUEST_TIMEOUT_MS;
  return new RsTransport({
    cluster: connection.cluster,
    baseUrl: new URL(connection.endpoint),
    serverName: connection.serverName,
    username: connection.username,
    password: connection.password,
    clientCertificate: connection.clientCertificate,
    extraCa: [
      ...(connection.clusterCaPem ? [connection.clusterCaPem] : []),
      ...(connection.extraCaPems ?? []),
    ],
    connectTimeoutMs: Math.min(connection.connectTimeoutMs ?? RS_CONNECT_TIMEOUT_MS, timeoutMs),
    requestTimeoutMs: timeoutMs,
    getRetries: connection.getRetries ?? RS_GET_RETRY.retries,
    retryBackoff: RS_GET_RETRY.backoff,
  });
};

export { RsTransport } from './transport';
