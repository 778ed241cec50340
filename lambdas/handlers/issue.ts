import { HttpReqDnsProvider } from '../adapters/dns/httpreq';
import { Route53DnsProvider } from '../adapters/dns/route53';
import { AcmeIssuer } from '../domain/acme/issuer';
import { ConfigError } from '../domain/errors';
import type { DnsProvider } from '../domain/ports';
import type { DueCertificate, RenewalContext } from '../domain/renewal/context';
import { type CertificateIssuer, obtainCertificate } from '../domain/renewal/obtain';
import { awsContext } from './aws-context';
import type { RenewalStep } from './events';
import { logger } from './runtime';

/** Obtains the certificate to push: the saved one if it fits, else a new ACME order saved at once. */
export function createIssueHandler(
  context: () => RenewalContext,
  issuer: (ctx: RenewalContext) => CertificateIssuer,
) {
  let made: CertificateIssuer | undefined;
  return async (item: DueCertificate): Promise<RenewalStep> => {
    const ctx = context();
    const { certificate, reused } = await obtainCertificate(
      ctx,
      item,
      () => {
        made ??= issuer(ctx);
        return made;
      },
      { lockWaitMs: 0 },
    );
    logger.info(reused ? 'reusing saved certificate' : 'issued certificate', {
      cluster: item.cluster,
      certificate: item.certificate,
      serialNumber: certificate.serialNumber,
      notAfter: certificate.notAfter,
    });
    return {
      ...item,
      fingerprint256: certificate.fingerprint256,
      notAfter: certificate.notAfter,
      serialNumber: certificate.serialNumber,
      reused,
    };
  };
}

export function acmeIssuerFor(ctx: RenewalContext, dns?: DnsProvider): CertificateIssuer {
  const { acme, dns: dnsConfig } = ctx.config;
  if (!acme || !dnsConfig) throw new ConfigError('acme and dns must be configured to renew certificates');
  const provider =
    dns ??
    (dnsConfig.provider === 'route53'
      ? new Route53DnsProvider({ hostedZoneId: dnsConfig.hostedZoneId })
      : new HttpReqDnsProvider({ endpoint: dnsConfig.endpoint, username: dnsConfig.username }));
  return new AcmeIssuer({ acme, trustPem: ctx.acmeTrustPem, dns: provider, state: ctx.state });
}

export const handler = createIssueHandler(awsContext, (ctx) => acmeIssuerFor(ctx));
