/**
 * Wires the local adapters for the CLI: directory state, config-file credentials (Secrets Manager
 * on demand), httpreq or Route 53, Slack, node:https to the clusters, TLS probes.
 */

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigCredentialsProvider, readAcmeTrust } from '../adapters/config-file';
import { FanOutNotifier } from '../adapters/in-memory/notifier';
import { LocalDirectoryStore } from '../adapters/local-directory/secret-store';
import { connectCluster } from '../adapters/rs-https';
import { SlackWebhookNotifier } from '../adapters/slack/notifier';
import { probeEndpoint, publicRootPems } from '../adapters/tls';
import type { WatchdogConfig } from '../domain/config/types';
import { ConfigError } from '../domain/errors';
import type { CertificateIssuer, CredentialsProvider, DnsProvider, Notifier } from '../domain/ports';
import type { RenewalContext } from '../domain/renewal/context';
import { sleep } from '../domain/retry';
import { type LockOwner, StateStore } from '../domain/state';

export function localRenewalContext(
  config: WatchdogConfig,
  env: NodeJS.ProcessEnv,
  warn: (line: string) => void,
): RenewalContext {
  const notifiers: Notifier[] = [];
  if (config.alerts.slackWebhookUrl) notifiers.push(new SlackWebhookNotifier(config.alerts.slackWebhookUrl));
  const state = new StateStore(new LocalDirectoryStore(config.stateDir));
  const acmeTrustPem = readAcmeTrust(config);
  let issuer: CertificateIssuer | undefined;
  return {
    config,
    credentials: localCredentials(env),
    connect: connectCluster,
    probe: probeEndpoint,
    state,
    notifier: new FanOutNotifier(notifiers, (error) =>
      warn(`alert not delivered: ${(error as Error).message}`),
    ),
    issuer: () => {
      issuer ??= localIssuer(config, acmeTrustPem, state, env);
      return issuer;
    },
    acmeTrustPem,
    publicRootPems,
    lockOwner: processOwner(),
    ownerAlive: processAlive,
    now: () => new Date(),
    sleep,
  };
}

/** This CLI process as a lock holder: host, pid and start time, so a crash is recognised at once. */
function processOwner(): LockOwner {
  const host = hostname();
  const startedAt = new Date(Date.now() - process.uptime() * 1000).toISOString();
  return {
    id: randomUUID(),
    description: `rs-cert-watchdog on ${host} (pid ${process.pid}, started ${startedAt})`,
    host,
    pid: process.pid,
    startedAt,
  };
}

/** A holder on this host whose process is gone is dead; anywhere else, the lease decides. */
function processAlive(owner: LockOwner): boolean | undefined {
  if (owner.host !== hostname() || owner.pid === undefined) return undefined;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function localIssuer(
  config: WatchdogConfig,
  trustPem: string | undefined,
  state: StateStore,
  env: NodeJS.ProcessEnv,
): CertificateIssuer {
  const { acme, dns } = config;
  if (!acme || !dns) throw new ConfigError('acme and dns must be configured to renew certificates');
  // Loaded here only: acme-client is the largest module, and only an order needs it.
  return new LazyAcmeIssuer(async () => {
    const [{ AcmeIssuer }, provider] = await Promise.all([import('../adapters/acme'), dnsProvider(dns, env)]);
    return new AcmeIssuer({
      acme,
      trustPem,
      dns: provider,
      state,
      env,
      // Like credentialsSecret: the CLI reads Secrets Manager with the caller's AWS credentials.
      readSecret: async (id) => (await import('../adapters/secrets-manager')).readSecretString(id),
    });
  });
}

class LazyAcmeIssuer implements CertificateIssuer {
  private loaded: Promise<CertificateIssuer> | undefined;
  constructor(private readonly load: () => Promise<CertificateIssuer>) {}
  async issue(domains: string[], keyType: Parameters<CertificateIssuer['issue']>[1]) {
    this.loaded ??= this.load();
    return (await this.loaded).issue(domains, keyType);
  }
}

async function dnsProvider(
  dns: NonNullable<WatchdogConfig['dns']>,
  env: NodeJS.ProcessEnv,
): Promise<DnsProvider> {
  if (dns.provider === 'route53') {
    const { Route53DnsProvider } = await import('../adapters/route53');
    return new Route53DnsProvider({ hostedZoneId: dns.hostedZoneId });
  }
  const password = dns.passwordEnv ? env[dns.passwordEnv] : undefined;
  if (dns.passwordEnv && password === undefined)
    throw new ConfigError(`dns.passwordEnv: ${dns.passwordEnv} is not set`);
  const { HttpReqDnsProvider } = await import('../adapters/httpreq');
  return new HttpReqDnsProvider({ endpoint: dns.endpoint, username: dns.username, password });
}

/** Config and environment first; Secrets Manager (loaded on demand) for clusters with credentialsSecret. */
export function localCredentials(env: NodeJS.ProcessEnv): ConfigCredentialsProvider {
  let fromSecrets: Promise<CredentialsProvider> | undefined;
  return new ConfigCredentialsProvider(env, () => ({
    resolve: async (cluster) => {
      fromSecrets ??= import('../adapters/secrets-manager').then(
        (m) => new m.SecretsManagerCredentialsProvider(),
      );
      return (await fromSecrets).resolve(cluster);
    },
  }));
}
