/**
 * The ports the domain talks through, one file each. Adapters live in lambdas/adapters/<backend>/,
 * a folder per backend with an index.ts: local ones (local-directory, config-file, httpreq,
 * in-memory, slack) so the whole workflow runs on one machine, AWS ones (dynamodb, kms,
 * secrets-manager, secrets-extension, route53, sns, s3), and the network ones (rs-https, tls, acme).
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
export type { KeyStore } from './key-store';
export type { LegacyStateReader } from './legacy-state';
export type { LockAttempt, LockOwner, LockRecord, LockStore } from './lock-store';
export type { ActiveActiveDatabase, Alert, AlertRenewalWindow, DigestNotifier, Notifier } from './notifier';
export type { ObjectStore } from './object-store';
export type { ListOptions, RecordOptions, RecordStore, StateKey } from './record-store';
export type { RenewalInfoSource } from './renewal-info';
