/** What every renewal step needs, built once per process by the CLI or a Lambda handler. */
import { managedSettings } from '../certificate-kinds';
import type { ClusterConfig, ManagedCertificateConfig, WatchdogConfig } from '../config/types';
import { ConfigError } from '../errors';
import type {
  CertificateIssuer,
  ClusterConnector,
  CredentialsProvider,
  DigestNotifier,
  EndpointProber,
  HandshakeVerifier,
  Notifier,
} from '../ports';
import { openRsClient, type RsClient } from '../rs/client';
import { connectionFor } from '../rs/connection';
import type { LockOwner, StateStore } from '../state';
import type { RenewalInfoDependencies } from './renewal-info';

export interface RenewalContext {
  config: WatchdogConfig;
  credentials: CredentialsProvider;
  /** Opens the HTTPS transport to a cluster (adapters/rs-https). */
  connect: ClusterConnector;
  /** Reads what a TLS endpoint serves (adapters/tls). */
  probe: EndpointProber;
  /** Has a candidate verified by TLS peers with its peers' trust, before any push (adapters/tls/handshake.ts). */
  handshake: HandshakeVerifier;
  state: StateStore;
  notifier: Notifier;
  /** Where a run's digest goes (the notify function on AWS: the alert topic). */
  digests?: DigestNotifier;
  /**
   * The issuer of one managed certificate, chosen by its `issuer` setting (ACME, AWS Private CA or a
   * local CA). Built on first use: only the Issue step orders, and the ACME client is the largest module.
   */
  issuer: (settings: ManagedCertificateConfig) => CertificateIssuer;
  /** acme.caFile's contents, read once: trusted for ACME TLS, issued chains and the cluster once it serves them. */
  acmeTrustPem: string | undefined;
  /** The public roots (node:tls rootCertificates), for the trust checks before a push. */
  publicRootPems: readonly string[];
  /** Who takes locks in this process, and whether another holder is still alive (CLI only). */
  lockOwner: LockOwner;
  ownerAlive?: (owner: LockOwner) => boolean | undefined;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  /** ACME Renewal Information for the check (RFC 9773); absent: the lifetime policy alone. */
  renewalInfo?: RenewalInfoDependencies;
}

/** One due certificate, as the check step hands it to the renewal steps (also the Map item). */
export interface DueCertificate {
  cluster: string;
  certificate: string;
  status: string;
  forced: boolean;
  currentNotAfter: string | null;
  currentFingerprint256: string | null;
  /**
   * Set when an earlier run pushed this certificate and never finished verifying it (it crashed):
   * this run verifies it and sends the alert that run never sent, without ordering or pushing again
   * unless the PUT never got its answer.
   */
  resume?: 'pushing' | 'pushed';
  /**
   * The RFC 9773 certID of the certificate on the cluster, set when the CA answered renewalInfo for
   * it: the new order then names it in `replaces`.
   */
  ariCertId?: string;
  /** The CA's ARI window for it, for the alerts. */
  renewalWindow?: { start: string; end: string; explanationURL?: string };
  /** An operator's rollback: the kept previous certificate goes back instead of a renewal. */
  rollback?: boolean;
  /**
   * The run's order budget went to more urgent certificates (./order-budget.ts): Issue pushes a
   * saved certificate that fits, but orders nothing; otherwise the item is deferred to the next run.
   */
  deferOrder?: boolean;
  /**
   * `client` only: the current client certificate (its leaf, PEM; public). The renewal copies its
   * subject and names, so the Issue step needs no access to the client key.
   */
  sameSubjectAs?: string;
  /**
   * When the check read this certificate on the cluster (ISO time). Issue decides with it, without
   * reading the cluster itself (on AWS it has neither the cluster's credentials nor its network).
   */
  checkedAt?: string;
}

/** One issuer per distinct `issuer` setting, made on first use (the ACME issuer is shared by all "acme"). */
export function issuerCache(
  make: (settings: ManagedCertificateConfig) => CertificateIssuer,
): (settings: ManagedCertificateConfig) => CertificateIssuer {
  const made = new Map<string, CertificateIssuer>();
  return (settings) => {
    const key = typeof settings.issuer === 'object' ? JSON.stringify(settings.issuer) : 'acme';
    let issuer = made.get(key);
    if (!issuer) {
      issuer = make(settings);
      made.set(key, issuer);
    }
    return issuer;
  };
}

export function clusterByName(config: WatchdogConfig, name: string): ClusterConfig {
  const cluster = config.clusters.find((c) => c.name === name);
  if (!cluster) throw new ConfigError(`unknown cluster "${name}": it is not in the configuration`);
  return cluster;
}

/**
 * The renewal settings of a managed certificate: listed under the cluster's `certificates`, a
 * database under `databases` (`bdb:<uid>`), or the client certificate with an issuer (`client`).
 */
export function renewalSettings(cluster: ClusterConfig, name: string): ManagedCertificateConfig {
  const settings = managedSettings(cluster, name);
  if (!settings) {
    throw new ConfigError(
      `certificate "${name}" of cluster "${cluster.name}" is not configured for ACME renewal`,
    );
  }
  return settings;
}

export async function openCluster(
  ctx: Pick<RenewalContext, 'credentials' | 'connect' | 'acmeTrustPem'>,
  cluster: ClusterConfig,
): Promise<RsClient> {
  const access = await ctx.credentials.resolve(cluster);
  return openRsClient(ctx.connect, connectionFor(cluster, access, ctx.acmeTrustPem));
}

/** Runs fn with a client that is always closed. */
export async function withCluster<T>(
  ctx: Pick<RenewalContext, 'credentials' | 'connect' | 'acmeTrustPem'>,
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
