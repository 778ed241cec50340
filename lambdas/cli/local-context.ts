/** Wires the local adapters (directory state, httpreq or Route 53, stdout and Slack) for the CLI. */

import { SecretsManagerCredentialsProvider } from '../adapters/aws/credentials';
import { HttpReqDnsProvider } from '../adapters/dns/httpreq';
import { Route53DnsProvider } from '../adapters/dns/route53';
import { FanOutNotifier } from '../adapters/notify/collecting';
import { SlackWebhookNotifier } from '../adapters/notify/slack';
import { LocalDirectoryStore } from '../adapters/state/local-directory';
import { AcmeIssuer } from '../domain/acme/issuer';
import { sleep } from '../domain/backoff';
import { readPemFile, type WatchdogConfig } from '../domain/config';
import { ConfigCredentialsProvider } from '../domain/credentials';
import { ConfigError } from '../domain/errors';
import type { DnsProvider, Notifier } from '../domain/ports';
import type { RenewalContext } from '../domain/renewal/context';
import type { CertificateIssuer } from '../domain/renewal/obtain';
import { StateStore } from '../domain/state';

export function localRenewalContext(
  config: WatchdogConfig,
  env: NodeJS.ProcessEnv,
  warn: (line: string) => void,
): RenewalContext {
  const notifiers: Notifier[] = [];
  if (config.alerts.slackWebhookUrl) notifiers.push(new SlackWebhookNotifier(config.alerts.slackWebhookUrl));
  return {
    config,
    credentials: localCredentials(env),
    state: new StateStore(new LocalDirectoryStore(config.stateDir)),
    notifier: new FanOutNotifier(notifiers, (error) =>
      warn(`alert not delivered: ${(error as Error).message}`),
    ),
    acmeTrustPem: config.acme?.caFile ? readPemFile(config.acme.caFile, 'acme.caFile') : undefined,
    now: () => new Date(),
    sleep,
  };
}

export function localIssuer(ctx: RenewalContext, env: NodeJS.ProcessEnv): () => CertificateIssuer {
  let issuer: AcmeIssuer | undefined;
  return () => {
    const { acme, dns } = ctx.config;
    if (!acme || !dns) throw new ConfigError('acme and dns must be configured to renew certificates');
    issuer ??= new AcmeIssuer({
      acme,
      trustPem: ctx.acmeTrustPem,
      dns: dnsProvider(dns, env),
      state: ctx.state,
    });
    return issuer;
  };
}

function dnsProvider(dns: NonNullable<WatchdogConfig['dns']>, env: NodeJS.ProcessEnv): DnsProvider {
  if (dns.provider === 'route53') return new Route53DnsProvider({ hostedZoneId: dns.hostedZoneId });
  const password = dns.passwordEnv ? env[dns.passwordEnv] : undefined;
  if (dns.passwordEnv && password === undefined)
    throw new ConfigError(`dns.passwordEnv: ${dns.passwordEnv} is not set`);
  return new HttpReqDnsProvider({ endpoint: dns.endpoint, username: dns.username, password });
}

/** Config and environment first; Secrets Manager (loaded on demand) for clusters with credentialsSecret. */
export function localCredentials(env: NodeJS.ProcessEnv): ConfigCredentialsProvider {
  let fromSecrets: SecretsManagerCredentialsProvider | undefined;
  return new ConfigCredentialsProvider(env, () => {
    fromSecrets ??= new SecretsManagerCredentialsProvider();
    return fromSecrets;
  });
}
