/**
 * Who may read which secret: the cluster credentials and the issuers' secrets the config names, and
 * (once, for the migration) the state secrets of version 0.1. Nothing here writes a secret.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { WatchdogConfig } from '../lambdas/domain/config/types';
import { everyDnsProvider } from '../lambdas/domain/dns-settings';
import { issuerSettings } from './bundled-config';

/** The areas of the earlier state secrets the migration reads (locks and push records do not move). */
export const LEGACY_STATE_AREAS = ['acme', 'certificates', 'pending'] as const;

/** The ARN pattern of the earlier state secrets under `${prefix}/${area}/` (the * matches the 6-character suffix too). */
export function legacyStateArn(scope: Construct, prefix: string, area: string): string {
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${prefix}/${area}/*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/**
 * GetSecretValue on the state secrets of version 0.1 (ACME account, certificates, pending
 * markers), and kms:Decrypt of the stack key only through Secrets Manager and only for those secrets.
 */
export function grantLegacyStateRead(
  scope: Construct,
  prefix: string,
  key: kms.IKey,
  grantee: iam.IGrantable,
): void {
  const patterns = LEGACY_STATE_AREAS.map((area) => legacyStateArn(scope, prefix, area));
  iam.Grant.addToPrincipal({ grantee, actions: ['secretsmanager:GetSecretValue'], resourceArns: patterns });
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['kms:Decrypt'],
    resourceArns: [key.keyArn],
    conditions: {
      StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(scope).region}.amazonaws.com` },
      StringLike: { 'kms:EncryptionContext:SecretARN': patterns },
    },
  });
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
