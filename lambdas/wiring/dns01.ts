/**
 * The DNS-01 side of an ACME order, from the config: for each challenge name, the provider the
 * config names for it (domain/dns-settings), the lookup its propagation check and CNAME lookups
 * use, and its timeout (domain/dns01). Shared by the CLI and the issue Lambda; each provider's code
 * loads the first time it is used (the Route 53 SDK only for Route 53), and each provider is made
 * once per process, so its zone caches and pacing live as long as the process.
 */
import type { DnsProviderConfig, WatchdogConfig } from '../domain/config/types';
import { dnsProviderFor } from '../domain/dns-settings';
import { Dns01Challenges, type Dns01Clock, type Dns01Route } from '../domain/dns01';
import { ConfigError } from '../domain/errors';
import type { DnsLookup, DnsProvider, DnsRecord, IssueOptions } from '../domain/ports';
import { DNS_PROPAGATION, DNS_UPDATE_TIMEOUT_MS } from '../domain/retry';

export interface Dns01Wiring {
  /** Where `passwordEnv` and `tsigSecretEnv` are read (the CLI's environment). */
  env: NodeJS.ProcessEnv;
  /** Reads `passwordSecret` and `tsigSecretSecret` (Secrets Manager, the caller's credentials). */
  readSecret: (secretId: string) => Promise<string>;
  /** Whether this process may run an exec hook (the CLI); the Lambdas may not. */
  allowExec: boolean;
  clock?: Dns01Clock;
  /** The lookup of a provider (tests give the authoritative servers' port). */
  lookupFor?: (provider: DnsProviderConfig) => DnsLookup;
  pollMs?: number;
}

/** The DNS-01 publisher of one order, by its cluster and certificate (AcmeIssuer's `dns`). */
export function dns01For(
  config: Pick<WatchdogConfig, 'dns' | 'clusters'>,
  wiring: Dns01Wiring,
): (scope: IssueOptions['scope']) => DnsProvider {
  const made = new Map<string, { provider: DnsProvider; lookup: DnsLookup }>();
  const clock = wiring.clock ?? { now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
  const adaptersFor = (settings: DnsProviderConfig) => {
    const key = JSON.stringify(settings);
    let adapters = made.get(key);
    if (!adapters) {
      adapters = {
        provider: new LazyDnsProvider(() => makeProvider(settings, wiring)),
        lookup: wiring.lookupFor?.(settings) ?? new LazyDnsLookup(settings),
      };
      made.set(key, adapters);
    }
    return adapters;
  };
  return (scope) =>
    new Dns01Challenges(
      (name): Dns01Route => {
        const settings = dnsProviderFor(config, scope?.cluster, scope?.certificate, name);
        if (!settings)
          throw new ConfigError(`no dns provider serves ${name}`, {
            hint: 'set dns globally, on the cluster or on the certificate',
          });
        const { provider, lookup } = adaptersFor(settings);
        return {
          provider,
          lookup,
          followCnames: settings.followCnames,
          propagationTimeoutMs: settings.propagationTimeoutSeconds * 1000,
          label: labelOf(settings),
        };
      },
      clock,
      wiring.pollMs ?? DNS_PROPAGATION.pollMs,
    );
}

function labelOf(settings: DnsProviderConfig): string {
  switch (settings.provider) {
    case 'rfc2136':
      return `rfc2136 ${settings.nameserver}`;
    case 'httpreq':
      return 'httpreq';
    case 'exec':
      return 'exec';
    default:
      return 'route53';
  }
}

async function makeProvider(settings: DnsProviderConfig, wiring: Dns01Wiring): Promise<DnsProvider> {
  switch (settings.provider) {
    case 'route53': {
      const { Route53DnsProvider } = await import('../adapters/route53');
      return new Route53DnsProvider({
        hostedZoneId: settings.hostedZoneId,
        hostedZoneIds: settings.hostedZoneIds,
        privateZone: settings.privateZone,
        propagationTimeoutMs: settings.propagationTimeoutSeconds * 1000,
      });
    }
    case 'httpreq': {
      const { HttpReqDnsProvider } = await import('../adapters/httpreq');
      return new HttpReqDnsProvider({
        endpoint: settings.endpoint,
        username: settings.username,
        password: secretSource(settings.passwordEnv, settings.passwordSecret, 'passwordEnv', wiring),
      });
    }
    case 'rfc2136': {
      const { Rfc2136DnsProvider } = await import('../adapters/rfc2136');
      const secret = secretSource(settings.tsigSecretEnv, settings.tsigSecretSecret, 'tsigSecretEnv', wiring);
      return new Rfc2136DnsProvider({
        nameserver: settings.nameserver,
        zone: settings.zone,
        ...(settings.tsigKeyName !== undefined && secret
          ? {
              tsig: {
                keyName: settings.tsigKeyName,
                algorithm: settings.tsigAlgorithm,
                secret,
                source: settings.tsigSecretEnv
                  ? `dns.tsigSecretEnv (${settings.tsigSecretEnv})`
                  : `dns.tsigSecretSecret (${settings.tsigSecretSecret})`,
              },
            }
          : {}),
        timeoutMs: DNS_UPDATE_TIMEOUT_MS,
      });
    }
    case 'exec': {
      if (!wiring.allowExec)
        throw new ConfigError('dns.provider "exec" runs only from the command line', {
          hint: 'on AWS use rfc2136, route53 or httpreq',
        });
      const { ExecDnsProvider } = await import('../adapters/exec');
      return new ExecDnsProvider({
        command: settings.command,
        timeoutMs: settings.timeoutSeconds * 1000,
        env: wiring.env,
      });
    }
  }
}

/** A password or TSIG secret: from the environment (CLI) or Secrets Manager, read when first needed. */
function secretSource(
  envName: string | undefined,
  secretId: string | undefined,
  field: string,
  wiring: Dns01Wiring,
): (() => Promise<string>) | undefined {
  if (envName !== undefined)
    return async () => {
      const value = wiring.env[envName];
      if (!value) throw new ConfigError(`dns.${field}: the environment variable ${envName} is not set`);
      return value;
    };
  if (secretId !== undefined) return () => wiring.readSecret(secretId);
  return undefined;
}

/** A provider whose code (and SDK client) loads at its first use. */
class LazyDnsProvider implements DnsProvider {
  private loaded: Promise<DnsProvider> | undefined;
  constructor(private readonly load: () => Promise<DnsProvider>) {}

  private get(): Promise<DnsProvider> {
    this.loaded ??= this.load();
    this.loaded.catch(() => {
      this.loaded = undefined;
    });
    return this.loaded;
  }

  async present(fqdn: string, value: string): Promise<void> {
    return (await this.get()).present(fqdn, value);
  }

  async presentAll(records: readonly DnsRecord[]): Promise<void> {
    const provider = await this.get();
    if (provider.presentAll) return provider.presentAll(records);
    const byName = new Map<string, DnsRecord[]>();
    for (const r of records)
      byName.set(r.fqdn.toLowerCase(), [...(byName.get(r.fqdn.toLowerCase()) ?? []), r]);
    const results = await Promise.allSettled(
      [...byName.values()].map(async (group) => {
        for (const { fqdn, value } of group) await provider.present(fqdn, value);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async cleanup(fqdn: string, value: string): Promise<void> {
    return (await this.get()).cleanup(fqdn, value);
  }
}

/** The wire lookup of a provider (its `resolvers`, else the zone's authoritative servers), loaded on use. */
class LazyDnsLookup implements DnsLookup {
  private loaded: Promise<DnsLookup> | undefined;
  constructor(private readonly settings: DnsProviderConfig) {}

  private get(): Promise<DnsLookup> {
    this.loaded ??= import('../adapters/dns-lookup').then(
      ({ WireDnsLookup }) => new WireDnsLookup({ resolvers: this.settings.resolvers }),
    );
    return this.loaded;
  }

  async cname(fqdn: string): Promise<string | null> {
    return (await this.get()).cname(fqdn);
  }

  async txtVisibility(fqdn: string, values: readonly string[]) {
    return (await this.get()).txtVisibility(fqdn, values);
  }
}
