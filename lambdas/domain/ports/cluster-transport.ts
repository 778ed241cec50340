import type { ClientCertificatePair } from './credentials';

/**
 * How the RS client reaches a cluster: one HTTPS connection per cluster with its own trust, timeouts
 * and GET retries (adapters/rs-https). The client (domain/rs/client.ts) maps statuses to errors.
 */
export interface RsConnection {
  cluster: string;
  endpoint: string;
  serverName?: string | undefined;
  /** Basic authentication is sent only when both are non-empty. */
  username: string;
  password: string;
  /** Certificate login (RS 7.8.4+): presented on every TLS connection to the REST API. */
  clientCertificate?: ClientCertificatePair | undefined;
  /** The cluster's own CA (RS ships self-signed certificates), pinned in addition to public roots. */
  clusterCaPem?: string | undefined;
  /** More trust, e.g. the ACME CA's roots once our renewal has installed its certificate as `api`. */
  extraCaPems?: string[];
  timeoutMs?: number;
  connectTimeoutMs?: number;
  getRetries?: number;
}

export interface RawResponse {
  status: number;
  body: string;
}

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

export interface ClusterTransport {
  /** Sends one request. GETs may be retried by the transport; other methods never are. */
  send(method: HttpMethod, path: string, body?: unknown): Promise<RawResponse>;
  close(): void;
}

/** Opens the transport for one cluster connection. */
export type ClusterConnector = (connection: RsConnection) => ClusterTransport;
