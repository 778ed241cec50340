/**
 * The kinds of certificate a report row can be, beyond the cluster's own `<name>_cert` fields
 * (RS 8.x, seeds/rs-8x-certificates.md):
 *
 * - `bdb:<uid>`: a database's own proxy certificate (GET /v1/bdbs/certificates). RS never returns
 *   its key; it is replaced with POST /v1/bdbs/{uid}/certificates, one database at a time.
 * - `client`: the certificate the watchdog itself presents to the REST API (certificate login).
 *   It lives where the operator put it (files, or a Secrets Manager secret), not on the cluster.
 * - internode certificates (`ccs_internode_encryption`, `data_internode_encryption`): cluster
 *   certificates RS accepts only with an RSA key and the clientAuth usage, and replaces with a
 *   self-signed one 5 days before they expire.
 * - keyless certificates (`mtls_trusted_ca`, `sso_issuer`): RS holds the certificate only.
 *
 * Pure: the config schema (load), the CDK app (synth) and the renewal steps share these rules.
 */
import type { ClusterConfig, KeyType, ManagedCertificateConfig, WatchdogConfig } from './config/types';
import { renewalPoint } from './policy';

export const DATABASE_PREFIX = 'bdb:';
export const CLIENT_CERTIFICATE = 'client';
export const INTERNODE_CERTIFICATES: readonly string[] = [
  'ccs_internode_encryption',
  'data_internode_encryption',
];
/** RS holds these without a key: reported and alerted on, never "key missing", never managed. */
export const KEYLESS_CERTIFICATES: readonly string[] = ['mtls_trusted_ca', 'sso_issuer'];
/** RS swaps a customer internode certificate for a self-signed one this many days before it expires. */
export const INTERNODE_SWAP_DAYS = 5;

export type CertificateKind = 'cluster' | 'database' | 'client';

export function kindOf(name: string): CertificateKind {
  if (name.startsWith(DATABASE_PREFIX)) return 'database';
  return name === CLIENT_CERTIFICATE ? 'client' : 'cluster';
}

/** `bdb:12` for database 12. */
export function databaseCertificateName(uid: string | number): string {
  return `${DATABASE_PREFIX}${uid}`;
}

/** The uid of `bdb:12` ("12"), or null for any other name. */
export function databaseUid(name: string): string | null {
  return name.startsWith(DATABASE_PREFIX) && /^[1-9]\d*$/.test(name.slice(DATABASE_PREFIX.length))
    ? name.slice(DATABASE_PREFIX.length)
    : null;
}

export const isInternode = (name: string): boolean => INTERNODE_CERTIFICATES.includes(name);
export const isKeyless = (name: string): boolean => KEYLESS_CERTIFICATES.includes(name);

/**
 * The renewal settings of any managed row of a cluster: a cluster certificate (`certificates`), a
 * database (`databases`) or the client certificate (`clientCertificate` with an issuer, whose names
 * and subject come from the certificate it replaces). Undefined when the row is not managed.
 */
export function managedSettings(cluster: ClusterConfig, name: string): ManagedCertificateConfig | undefined {
  const uid = databaseUid(name);
  if (uid !== null) return cluster.databases?.[uid];
  if (name === CLIENT_CERTIFICATE) {
    const client = cluster.clientCertificate;
    if (!client?.issuer) return undefined;
    return {
      domains: [],
      issuer: client.issuer,
      ...(client.keyType ? { keyType: client.keyType } : {}),
    } as ManagedCertificateConfig;
  }
  return Object.hasOwn(cluster.certificates, name) ? cluster.certificates[name] : undefined;
}

/** Every managed row name of a cluster, in config order: certificates, then databases, then client. */
export function managedNames(cluster: ClusterConfig): string[] {
  return [
    ...Object.keys(cluster.certificates),
    ...Object.keys(cluster.databases ?? {}).map(databaseCertificateName),
    ...(cluster.clientCertificate?.issuer ? [CLIENT_CERTIFICATE] : []),
  ];
}

/** A problem with a configuration, at a key path (as the config schema reports them). */
export interface KindProblem {
  path: PropertyKey[];
  message: string;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/**
 * What the rules above forbid in a configuration, checked at load (config schema) and at synth
 * (the CDK construct), each at the key it is about:
 *
 * 1. a keyless certificate (mtls_trusted_ca, sso_issuer) or `client` under `certificates`;
 * 2. an internode certificate whose issuer is not a private CA (RS requires clientAuth, which
 *    public ACME CAs no longer issue) or whose key type is not RSA (RS refuses others at upload);
 * 3. an internode certificate whose renewal point is not more than 5 days (RS's swap) plus the
 *    schedule's longest gap before its expiry, for the lifetime its issuer promises (validityDays).
 *
 * `maxGapMs` is the longest time between two runs (aws.schedule, daylight saving included).
 */
export function kindProblems(
  config: Pick<WatchdogConfig, 'clusters' | 'acme' | 'renewBeforeDays'>,
  maxGapMs: number,
): KindProblem[] {
  const problems: KindProblem[] = [];
  config.clusters.forEach((cluster, i) => {
    for (const [name, settings] of Object.entries(cluster.certificates ?? {})) {
      const at = (...rest: string[]) => ['clusters', i, 'certificates', name, ...rest];
      if (isKeyless(name)) {
        problems.push({
          path: at(),
          message: `${name} comes without a key (RS holds only the certificate): it is watched and alerted on, never renewed; remove it from "certificates"`,
        });
        continue;
      }
      if (name === CLIENT_CERTIFICATE) {
        problems.push({
          path: at(),
          message:
            '"client" is the watchdog\'s own client certificate: configure it under "clientCertificate" (with an "issuer" to renew it)',
        });
        continue;
      }
      if (!isInternode(name)) continue;
      const issuer = settings.issuer;
      if (typeof issuer !== 'object') {
        problems.push({
          path: at('issuer'),
          message: `${name} needs a private CA ({"type":"local-ca",…} or {"type":"aws-private-ca",…}): RS requires the clientAuth usage, which public ACME CAs no longer issue`,
        });
        continue;
      }
      const keyType: KeyType = settings.keyType ?? config.acme?.keyType ?? 'rsa-2048';
      if (keyType !== 'rsa-2048') {
        problems.push({
          path: at('keyType'),
          message: `${name} must have an RSA key: RS refuses any other at upload; set "keyType": "rsa-2048"${settings.keyType === undefined ? ' (acme.keyType is the default)' : ''}`,
        });
      }
      const lifetimeMs = issuer.validityDays * DAY_MS;
      const point = renewalPoint(new Date(0), new Date(lifetimeMs), config.renewBeforeDays);
      const leadMs = lifetimeMs - point.renewalTime.getTime();
      const neededMs = INTERNODE_SWAP_DAYS * DAY_MS + maxGapMs;
      if (leadMs <= neededMs) {
        const days = (ms: number) => Math.round((ms / DAY_MS) * 100) / 100;
        problems.push({
          path: at('issuer', 'validityDays'),
          message:
            `${name} renews ${days(leadMs)} days before it expires (a ${issuer.validityDays}-day certificate, renewBeforeDays ${config.renewBeforeDays}), ` +
            `but RS swaps in a self-signed certificate ${INTERNODE_SWAP_DAYS} days before expiry and runs can be ${Math.round((maxGapMs / HOUR_MS) * 10) / 10} hours apart: ` +
            `the renewal point must be more than ${days(neededMs)} days before expiry; raise validityDays (at least ${Math.floor(days(neededMs) * 3) + 1} days renews a third before expiry) or renewBeforeDays`,
        });
      }
    }
  });
  return problems;
}
