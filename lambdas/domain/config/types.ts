/**
 * Configuration types, derived at compile time from the zod schema (./schema.ts). Lambdas import
 * only these types: the schema (and zod) stays out of their bundles.
 */
import type * as z from 'zod';
import type {
  acmeSchema,
  awsPrivateCaIssuerSchema,
  clientCertificateSchema,
  clusterSchema,
  configSchema,
  dnsProviderSchema,
  dnsSchema,
  execDnsSchema,
  httpreqDnsSchema,
  issuerSchema,
  localCaIssuerSchema,
  managedCertificateSchema,
  rfc2136DnsSchema,
  route53DnsSchema,
} from './schema';

export type WatchdogConfig = z.output<typeof configSchema>;
export type ClusterConfig = z.output<typeof clusterSchema>;
export type ManagedCertificateConfig = z.output<typeof managedCertificateSchema>;
export type AcmeConfig = z.output<typeof acmeSchema>;
/** A `dns` setting: one provider, or a list of providers with `zones`. */
export type DnsConfig = z.output<typeof dnsSchema>;
export type DnsProviderConfig = z.output<typeof dnsProviderSchema>;
export type Route53DnsConfig = z.output<typeof route53DnsSchema>;
export type HttpReqDnsConfig = z.output<typeof httpreqDnsSchema>;
export type Rfc2136DnsConfig = z.output<typeof rfc2136DnsSchema>;
export type ExecDnsConfig = z.output<typeof execDnsSchema>;
export type IssuerConfig = z.output<typeof issuerSchema>;
export type AwsPrivateCaIssuerConfig = z.output<typeof awsPrivateCaIssuerSchema>;
export type LocalCaIssuerConfig = z.output<typeof localCaIssuerSchema>;
export type ClientCertificateConfig = z.output<typeof clientCertificateSchema>;
export type KeyType = 'rsa-2048' | 'ecdsa-p256';

/** Marks a config file written by the deployment after validation (see lib/). */
export const DEPLOYED_CONFIG_MARKER = 'rs-cert-watchdog/validated-config/v1';
