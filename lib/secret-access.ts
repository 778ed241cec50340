/**
 * Who may touch which secret. State secrets live under one name prefix, in three areas named by the
 * state store (lambdas/domain/state.ts): `acme/` (the ACME account key), `certificates/` (issued
 * certificates and their private keys, current and previous), `locks/` and `pushes/` (keyless). Each function gets the
 * areas it needs, by name prefix, and the KMS key only through Secrets Manager for those same
 * secrets. Nothing is ever deleted, and nothing needs DescribeSecret or kms:Encrypt (Secrets Manager
 * encrypts with GenerateDataKey and decrypts with Decrypt).
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { WatchdogConfig } from '../lambdas/domain/config/types';
import { everyDnsProvider } from '../lambdas/domain/dns-settings';
import { issuerSettings } from './bundled-config';

export type StateArea = 'acme' | 'certificates' | 'locks' | 'pending' | 'pushes';
export type StateAccess = 'read' | 'readWrite';

const SECRET_ACTIONS: Record<StateAccess, string[]> = {
  read: ['secretsmanager:GetSecretValue'],
  // write() and claim() are PutSecretValue, or CreateSecret (tagged) when the secret does not exist yet.
  readWrite: [
    'secretsmanager:GetSecretValue',
    'secretsmanager:PutSecretValue',
    'secretsmanager:CreateSecret',
    'secretsmanager:TagResource',
  ],
};
const KEY_ACTIONS: Record<StateAccess, string[]> = {
  read: ['kms:Decrypt'],
  readWrite: ['kms:Decrypt', 'kms:GenerateDataKey'],
};

/**
 * What each function needs of the state, and why:
 * - issue takes the lock, uses the ACME account (created on first use) and saves the certificate;
 * - push reads the certificates, extends the locks it runs under, records the replaced certificates
 *   (`previous`, for rollback) and the push (`pushes/`, keyless);
 * - activeActive extends the locks and records the follow-up's tasks in the push record;
 * - verify records verifiedAt and releases the lock after a verified renewal;
 * - notify reads the certificate for the alert and, on the failure path, releases the lock;
 * - check reads no state. None but issue can read the ACME account key.
 */
export const FUNCTION_STATE_ACCESS = {
  // Only the keyless "pushed, not yet verified" markers: the plan resumes such a push.
  check: { pending: 'read' },
  issue: { acme: 'readWrite', certificates: 'readWrite', locks: 'readWrite' },
  // Push and Verify extend the lock Issue took; Push marks a push pending, Verify clears it.
  push: { certificates: 'readWrite', locks: 'readWrite', pending: 'readWrite', pushes: 'readWrite' },
  verify: { certificates: 'readWrite', locks: 'readWrite', pending: 'readWrite' },
  activeActive: { locks: 'readWrite', pushes: 'readWrite' },
  notify: { certificates: 'read', locks: 'readWrite' },
} as const satisfies Record<string, Partial<Record<StateArea, StateAccess>>>;

/** The state secrets: a name prefix and the key that encrypts them. */
export class StateSecrets {
  constructor(
    private readonly scope: Construct,
    readonly prefix: string,
    readonly key: kms.IKey,
  ) {}

  /**
   * The ARN pattern of the secrets under `${prefix}/${area}/` (all of them without an area). The
   * trailing * also matches the random 6-character suffix Secrets Manager appends.
   */
  arnPattern(area?: StateArea): string {
    return Stack.of(this.scope).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: area ? `${this.prefix}/${area}/*` : `${this.prefix}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /** Grants `access` to the secrets of `areas` (every area when omitted) and to the key for them only. */
  grant(grantee: iam.IGrantable, access: StateAccess, areas?: readonly StateArea[]): iam.Grant {
    const patterns = areas ? areas.map((a) => this.arnPattern(a)) : [this.arnPattern()];
    const secrets = iam.Grant.addToPrincipal({
      grantee,
      actions: SECRET_ACTIONS[access],
      resourceArns: patterns,
    });
    const key = iam.Grant.addToPrincipal({
      grantee,
      actions: KEY_ACTIONS[access],
      resourceArns: [this.key.keyArn],
      conditions: {
        StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this.scope).region}.amazonaws.com` },
        // Secrets Manager's encryption context names the secret: the key serves these secrets only.
        StringLike: { 'kms:EncryptionContext:SecretARN': patterns },
      },
    });
    return secrets.combine(key);
  }

  /** One function's share, from FUNCTION_STATE_ACCESS: one grant per access level. */
  grantFunction(grantee: iam.IGrantable, needs: Partial<Record<StateArea, StateAccess>>): void {
    for (const access of ['read', 'readWrite'] as const) {
      const areas = (Object.keys(needs) as StateArea[]).filter((a) => needs[a] === access);
      if (areas.length > 0) this.grant(grantee, access, areas);
    }
  }
}

/**
 * GetSecretValue (nothing else) on a secret named in the config by name or ARN, in any region. A
 * name or partial ARN is granted as `<arn>-??????` (Secrets Manager appends a random suffix). An ARN
 * that may already end with that suffix is granted both ways: `-abc123` could be the suffix or the
 * end of the name. These secrets use the account's `aws/secretsmanager` key (README: a customer key
 * needs its own kms:Decrypt grant).
 */
export function grantSecretRead(
  scope: Construct,
  nameOrArn: string,
  readers: readonly iam.IGrantable[],
): void {
  const arn = nameOrArn.startsWith('arn:')
    ? nameOrArn
    : Stack.of(scope).formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: nameOrArn,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
  const resourceArns = [`${arn}-??????`];
  if (nameOrArn.startsWith('arn:') && /-[A-Za-z0-9]{6}$/.test(nameOrArn)) resourceArns.unshift(nameOrArn);
  for (const grantee of readers) {
    iam.Grant.addToPrincipal({ grantee, actions: ['secretsmanager:GetSecretValue'], resourceArns });
  }
}

/**
 * PutSecretValue (nothing else) on a secret named in the config: the push function writes a renewed
 * client certificate as a new version of `clientCertificate.keySecret`. Granted like
 * grantSecretRead (name or ARN, any region). A secret encrypted with a customer KMS key needs that
 * key's kms:GenerateDataKey too (README).
 */
export function grantSecretWrite(
  scope: Construct,
  nameOrArn: string,
  writers: readonly iam.IGrantable[],
): void {
  const arn = nameOrArn.startsWith('arn:')
    ? nameOrArn
    : Stack.of(scope).formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: nameOrArn,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
  const resourceArns = [`${arn}-??????`];
  if (nameOrArn.startsWith('arn:') && /-[A-Za-z0-9]{6}$/.test(nameOrArn)) resourceArns.unshift(nameOrArn);
  for (const grantee of writers) {
    iam.Grant.addToPrincipal({ grantee, actions: ['secretsmanager:PutSecretValue'], resourceArns });
  }
}

/**
 * DNS-01 challenges in Route 53: TXT records named `_acme-challenge.*` only, in the zones the config
 * allows (`zoneIds`), or in any zone of the account when a route53 provider finds zones by name
 * without a `hostedZoneIds` list (`zoneIds` undefined). Finding zones by name needs
 * `ListHostedZonesByName`, which IAM grants on `*` only (it has no resource).
 */
export function grantAcmeChallenges(
  scope: Construct,
  grantee: iam.IGrantable,
  zones: { zoneIds: readonly string[] | undefined; findsZones: boolean },
): void {
  const route53Arn = (resource: string, resourceName: string) =>
    Stack.of(scope).formatArn({ service: 'route53', region: '', account: '', resource, resourceName });
  const zoneArns = zones.zoneIds
    ? [...zones.zoneIds].sort().map((id) => route53Arn('hostedzone', id))
    : [route53Arn('hostedzone', '*')];
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['route53:ChangeResourceRecordSets'],
    resourceArns: zoneArns,
    conditions: {
      'ForAllValues:StringLike': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_acme-challenge.*'],
      },
      'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
    },
  });
  iam.Grant.addToPrincipal({ grantee, actions: ['route53:ListResourceRecordSets'], resourceArns: zoneArns });
  // Change IDs are not known in advance.
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['route53:GetChange'],
    resourceArns: [route53Arn('change', '*')],
  });
  if (zones.findsZones)
    iam.Grant.addToPrincipal({ grantee, actions: ['route53:ListHostedZonesByName'], resourceArns: ['*'] });
}

/**
 * What the route53 providers of a config need: the zones they may write (undefined: any, when one
 * finds zones by name without hostedZoneIds), whether any finds zones by name. Null without route53.
 */
export function route53Access(
  config: Pick<WatchdogConfig, 'dns' | 'clusters'>,
): { zoneIds: string[] | undefined; findsZones: boolean } | null {
  const route53 = everyDnsProvider(config).flatMap(({ provider }) =>
    provider.provider === 'route53' ? [provider] : [],
  );
  if (route53.length === 0) return null;
  const ids = new Set<string>();
  let anyZone = false;
  for (const p of route53) {
    if (p.hostedZoneId !== undefined) ids.add(p.hostedZoneId);
    else if (p.hostedZoneIds !== undefined) for (const id of p.hostedZoneIds) ids.add(id);
    else anyZone = true;
  }
  return {
    zoneIds: anyZone ? undefined : [...ids],
    findsZones: route53.some((p) => p.hostedZoneId === undefined),
  };
}

/** The secrets the DNS-01 providers read on AWS: an httpreq `passwordSecret`, an rfc2136 `tsigSecretSecret`. */
export function dnsSecrets(config: Pick<WatchdogConfig, 'dns' | 'clusters'>): string[] {
  const secrets = new Set<string>();
  for (const { provider } of everyDnsProvider(config)) {
    if (provider.provider === 'httpreq' && provider.passwordSecret) secrets.add(provider.passwordSecret);
    if (provider.provider === 'rfc2136' && provider.tsigSecretSecret) secrets.add(provider.tsigSecretSecret);
  }
  return [...secrets].sort();
}

/** What the issue function may ask AWS Private CA: issue, fetch the certificate, fetch the CA's chain. */
export const PRIVATE_CA_ACTIONS = [
  'acm-pca:IssueCertificate',
  'acm-pca:GetCertificate',
  'acm-pca:GetCertificateAuthorityCertificate',
] as const;

/**
 * The issue function's access for the issuers the config names: the AWS Private CA actions on each
 * configured CA only, GetSecretValue on each local CA's `keySecret`, and on the EAB HMAC key secret.
 * Secrets in another region are granted by their ARN (the handler reads them with a client there).
 */
export function grantIssuers(scope: Construct, config: WatchdogConfig, issue: iam.IGrantable): void {
  const authorities = new Set<string>();
  const keySecrets = new Set<string>();
  for (const cluster of config.clusters) {
    // Its certificates, its databases (RS 8.x) and its client certificate's issuer.
    for (const [, settings] of issuerSettings(cluster)) {
      const issuer = settings.issuer;
      if (typeof issuer !== 'object') continue;
      if (issuer.type === 'aws-private-ca') authorities.add(issuer.certificateAuthorityArn);
      else if (issuer.keySecret !== undefined) keySecrets.add(issuer.keySecret);
    }
  }
  if (authorities.size > 0) {
    iam.Grant.addToPrincipal({
      grantee: issue,
      actions: [...PRIVATE_CA_ACTIONS],
      resourceArns: [...authorities].sort(),
    });
  }
  for (const secret of [...keySecrets].sort()) grantSecretRead(scope, secret, [issue]);
  const eabSecret = config.acme?.eab?.hmacKeySecret;
  if (eabSecret !== undefined) grantSecretRead(scope, eabSecret, [issue]);
  // DNS-01: only issue publishes and removes challenge records (its own cleanup, on every path).
  for (const secret of dnsSecrets(config)) grantSecretRead(scope, secret, [issue]);
  const route53 = route53Access(config);
  if (route53) grantAcmeChallenges(scope, issue, route53);
}

/**
 * Clusters whose secrets live in another account name a `roleArn`: the functions that read cluster
 * secrets may assume exactly the configured roles (sts:AssumeRole, nothing else), once each.
 */
export function grantClusterRoles(config: WatchdogConfig, readers: readonly iam.IGrantable[]): void {
  const roles = [
    ...new Set(config.clusters.flatMap((c) => (c.roleArn === undefined ? [] : [c.roleArn]))),
  ].sort();
  if (roles.length === 0) return;
  for (const grantee of readers) {
    iam.Grant.addToPrincipal({ grantee, actions: ['sts:AssumeRole'], resourceArns: roles });
  }
}
