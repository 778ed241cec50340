/**
 * The ports the domain talks through, one file each. Adapters live in lambdas/adapters/<backend>/,
 * a folder per backend with an index.ts: local ones (local-directory, config-file, httpreq,
 * in-memory, slack) so the whole workflow runs on one machine, AWS ones (secrets-manager,
 * secrets-extension, route53, sns), and the network ones (rs-https, tls, acme).
 */
export type { CertificateIssuer, CertificateKey, IssuedPair, IssueOptions } from './certificate-issuer';
export type {
  ClusterConnector,
  ClusterTransport,
  HttpMethod,
  RawResponse,
  RsConnection,
} from './cluster-transport';
export type { ClientCertificatePair, ClusterAccess, CredentialsProvider } from './credentials';
export type { DnsLookup, TxtVisibility } from './dns-lookup';
export type { DnsProvider, DnsRecord } from './dns-provider';
export type { EndpointProber, ProbeOptions, ProbeResult } from './endpoint-prober';
export type {
  HandshakeCheck,
  HandshakeOutcome,
  HandshakeRejection,
  HandshakeVerifier,
} from './handshake-verifier';
export type { ActiveActiveDatabase, Alert, AlertRenewalWindow, DigestNotifier, Notifier } from './notifier';
export type { RenewalInfoSource } from './renewal-info';
export type { SecretStore } from './secret-store';
