/**
 * The issuers of a deployment, by each certificate's `issuer` setting: ACME (the DNS-01 providers
 * the config names, wiring/dns01; the state store for the account), AWS Private CA, or a local CA
 * whose key is a secret.
 */
import { readFile } from 'node:fs/promises';
import { ACMPCAClient } from '@aws-sdk/client-acm-pca';
import { AcmeIssuer } from '../adapters/acme';
import { AwsPrivateCaIssuer } from '../adapters/aws-private-ca';
import { LocalCaIssuer } from '../adapters/local-ca';
import { readSecretString } from '../adapters/secrets-manager/regional';
import type { ManagedCertificateConfig } from '../domain/config/types';
import { ConfigError } from '../domain/errors';
import type { CertificateIssuer, DnsProvider } from '../domain/ports';
import type { RenewalContext } from '../domain/renewal/context';
import { dns01For } from './dns01';
import { logger } from './runtime';

/**
 * The ACME issuer of the deployment: DNS-01 through the providers the config names (secrets from
 * Secrets Manager; no exec hook on AWS), the state store for the account. `dns` replaces them (tests).
 */
export function acmeIssuerFor(ctx: RenewalContext, dns?: DnsProvider): CertificateIssuer {
  const { acme } = ctx.config;
  if (!acme) throw new ConfigError('acme and dns must be configured to renew certificates');
  const provider =
    dns ?? dns01For(ctx.config, { env: {}, readSecret: (id) => readSecretString(id), allowExec: false });
  return new AcmeIssuer({
    acme,
    trustPem: ctx.acmeTrustPem,
    dns: provider,
    state: ctx.state,
    readSecret: (id) => readSecretString(id),
    log: (message) => logger.warn(message),
  });
}

/** The issuer a certificate's `issuer` setting names: ACME (default), AWS Private CA, or a local CA. */
export function issuerFor(
  ctx: RenewalContext,
  settings: ManagedCertificateConfig,
  dns?: DnsProvider,
  pca?: (region: string) => ACMPCAClient,
): CertificateIssuer {
  const issuer = settings.issuer;
  if (issuer === 'acme' || issuer === undefined) return acmeIssuerFor(ctx, dns);
  if (issuer.type === 'aws-private-ca') {
    const region = issuer.certificateAuthorityArn.split(':')[3] as string;
    return new AwsPrivateCaIssuer({
      config: issuer,
      client: pca ? pca(region) : new ACMPCAClient({ region }),
    });
  }
  return new LocalCaIssuer({
    config: issuer,
    // certFile ships in the function bundle beside the config; the key comes from keySecret.
    readFile: (path) => readFile(path, 'utf8'),
    readSecret: (id) => readSecretString(id),
  });
}
