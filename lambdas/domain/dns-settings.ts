/**
 * Which DNS-01 provider serves which name. `dns` may be set globally, per cluster and per managed
 * certificate, each as one provider or a list of providers with `zones`. For a name, the most
 * specific level that serves it wins (certificate, then cluster, then global); within a level, the
 * provider whose `zones` hold the longest suffix of the name, else the one without `zones`. One
 * order may so mix providers across its names. Pure: the CLI, the Lambdas and synth all read it.
 */
import { databaseCertificateName, managedSettings } from './certificate-kinds';
import type { DnsConfig, DnsProviderConfig, WatchdogConfig } from './config/types';
import { DNS_PROPAGATION } from './retry';

/** A provider as written in the config, with where it was written (for messages and grants). */
export interface PlacedDnsProvider {
  path: string;
  provider: DnsProviderConfig;
}

export function providersOf(setting: DnsConfig | undefined): DnsProviderConfig[] {
  if (setting === undefined) return [];
  return Array.isArray(setting) ? setting : [setting];
}

/** Every provider the config names, at every level, with its key path. */
export function everyDnsProvider(config: Pick<WatchdogConfig, 'dns' | 'clusters'>): PlacedDnsProvider[] {
  const placed: PlacedDnsProvider[] = [];
  const add = (setting: DnsConfig | undefined, path: string) => {
    if (setting === undefined) return;
    if (Array.isArray(setting)) {
      setting.forEach((provider, i) => {
        placed.push({ path: `${path}[${i}]`, provider });
      });
    } else placed.push({ path, provider: setting });
  };
  add(config.dns, 'dns');
  config.clusters.forEach((cluster, i) => {
    add(cluster.dns, `clusters[${i}].dns`);
    for (const [name, settings] of Object.entries(cluster.certificates ?? {}))
      add(settings.dns, `clusters[${i}].certificates.${name}.dns`);
    for (const [uid, settings] of Object.entries(cluster.databases ?? {}))
      add(settings.dns, `clusters[${i}].databases.${uid}.dns`);
  });
  return placed;
}

/** The name a challenge is for, without `_acme-challenge.`, a wildcard or the trailing dot. */
export function identifierOf(name: string): string {
  return name
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^_acme-challenge\./, '')
    .replace(/^\*\./, '');
}

const normalized = (zone: string) => zone.toLowerCase().replace(/\.$/, '');

/** The provider of one level that serves `name`: the longest zone suffix, else the one without zones. */
export function providerInLevel(setting: DnsConfig | undefined, name: string): DnsProviderConfig | undefined {
  const host = identifierOf(name);
  let best: { provider: DnsProviderConfig; length: number } | undefined;
  let fallback: DnsProviderConfig | undefined;
  for (const provider of providersOf(setting)) {
    if (provider.zones === undefined) {
      fallback ??= provider;
      continue;
    }
    for (const zone of provider.zones.map(normalized)) {
      if ((host === zone || host.endsWith(`.${zone}`)) && (!best || zone.length > best.length))
        best = { provider, length: zone.length };
    }
  }
  return best?.provider ?? fallback;
}

/**
 * The provider that writes the challenge for `name` (a domain of the certificate, or its
 * `_acme-challenge` name) of `certificate` on `cluster`: certificate, cluster, then global level.
 */
export function dnsProviderFor(
  config: Pick<WatchdogConfig, 'dns' | 'clusters'>,
  cluster: string | undefined,
  certificate: string | undefined,
  name: string,
): DnsProviderConfig | undefined {
  const clusterConfig = cluster === undefined ? undefined : config.clusters.find((c) => c.name === cluster);
  const certificateConfig =
    certificate === undefined || clusterConfig === undefined
      ? undefined
      : managedSettings(clusterConfig, certificate);
  return (
    providerInLevel(certificateConfig?.dns, name) ??
    providerInLevel(clusterConfig?.dns, name) ??
    providerInLevel(config.dns, name)
  );
}

/**
 * The domains of ACME certificates that no provider serves, at their certificate's key path:
 * the config is refused (a ConfigError before any order) when any are left.
 */
export function unservedDomains(
  config: Pick<WatchdogConfig, 'dns' | 'clusters'>,
): Array<{ path: PropertyKey[]; message: string }> {
  const problems: Array<{ path: PropertyKey[]; message: string }> = [];
  config.clusters.forEach((cluster, i) => {
    const managed = [
      ...Object.entries(cluster.certificates ?? {}).map(([name, settings]) => ({
        name,
        settings,
        path: ['clusters', i, 'certificates', name, 'domains'],
      })),
      ...Object.entries(cluster.databases ?? {}).map(([uid, settings]) => ({
        name: databaseCertificateName(uid),
        settings,
        path: ['clusters', i, 'databases', uid, 'domains'],
      })),
    ];
    for (const { name, settings, path } of managed) {
      if (typeof settings.issuer === 'object') continue;
      const unserved = settings.domains.filter((d) => !dnsProviderFor(config, cluster.name, name, d));
      if (unserved.length > 0)
        problems.push({
          path,
          message: `no dns provider serves ${unserved.join(', ')} (set dns globally, on the cluster or on the certificate, or list a provider without zones)`,
        });
    }
  });
  return problems;
}

/** The longest propagation wait any provider allows: the Issue step's timeout follows it. */
export function longestPropagationMs(config: Pick<WatchdogConfig, 'dns' | 'clusters'>): number {
  const waits = everyDnsProvider(config).map((p) => p.provider.propagationTimeoutSeconds * 1000);
  return Math.max(DNS_PROPAGATION.timeoutMs, ...waits);
}
