/**
 * DNS-01 as enterprises run it: each challenge goes to the provider that serves its name
 * (dns-settings.ts), is written where its `_acme-challenge` CNAME chain ends (delegation to a
 * validation zone, as lego and cert-manager do), and is checked visible on every server the CA may
 * ask before the CA is asked, within the provider's propagation timeout. Every record written is
 * removed afterwards, whatever happened.
 *
 * Implements the DnsProvider port the ACME issuer calls: `presentAll` publishes an order's records
 * and returns once they are visible; `cleanup` removes one record from wherever it was written.
 * Pure: the providers and the lookups are ports, the clock is injected.
 */
import {
  DnsCnameChainTooLongError,
  DnsCnameLoopError,
  DnsPropagationTimeoutError,
  DnsProviderError,
  WatchdogError,
} from './errors';
import type { DnsLookup, DnsProvider, DnsRecord, TxtVisibility } from './ports';

/** How one name's challenge is published: by whom, read through what, how long it may take. */
export interface Dns01Route {
  /** Writes the TXT record (route53, httpreq, rfc2136, exec). */
  provider: DnsProvider;
  /** Reads CNAMEs and TXT visibility (the provider's `resolvers`, else the authoritative servers). */
  lookup: DnsLookup;
  followCnames: boolean;
  propagationTimeoutMs: number;
  /** For messages: "rfc2136 127.0.0.1:53", "route53", ... */
  label: string;
}

export interface Dns01Clock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** An `_acme-challenge` chain may take at most this many CNAME links (lego and cert-manager allow few). */
export const MAX_CNAME_LINKS = 8;

/** Where the record of one challenge went (or was asked to go). */
interface Written {
  route: Dns01Route;
  target: string;
  value: string;
}

export class Dns01Challenges implements DnsProvider {
  /** Challenge (name and value) -> where its record was asked to be written, until cleaned up. */
  private readonly written = new Map<string, Written>();

  constructor(
    private readonly routeFor: (name: string) => Dns01Route,
    private readonly clock: Dns01Clock,
    private readonly pollMs: number,
  ) {}

  present(fqdn: string, value: string): Promise<void> {
    return this.presentAll([{ fqdn, value }]);
  }

  /**
   * Publishes every record of an order (each provider once, its records together), then waits until
   * every value is visible everywhere. A record is remembered for cleanup before it is asked for,
   * so one a provider applied before failing is still removed.
   */
  async presentAll(records: readonly DnsRecord[]): Promise<void> {
    if (records.length === 0) return;
    const started = this.clock.now();
    const placed = await Promise.all(
      records.map(async ({ fqdn, value }) => {
        const route = this.routeFor(fqdn);
        const target = route.followCnames ? await followChain(route.lookup, fqdn) : normalize(fqdn);
        return { route, target, value, fqdn };
      }),
    );
    const byProvider = new Map<DnsProvider, Written[]>();
    for (const entry of placed) {
      this.written.set(key(entry.fqdn, entry.value), entry);
      byProvider.set(entry.route.provider, [...(byProvider.get(entry.route.provider) ?? []), entry]);
    }
    const results = await Promise.allSettled(
      [...byProvider].map(([provider, entries]) =>
        publish(
          provider,
          entries.map((e) => ({ fqdn: e.target, value: e.value })),
        ),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await this.waitVisible(placed, started);
  }

  async cleanup(fqdn: string, value: string): Promise<void> {
    const entry = this.written.get(key(fqdn, value));
    if (!entry) return; // never asked to be written: nothing to remove
    await entry.route.provider.cleanup(entry.target, value);
    this.written.delete(key(fqdn, value));
  }

  /** Polls every route's servers until each shows every value, or a route's timeout passes. */
  private async waitVisible(placed: readonly Written[], started: number): Promise<void> {
    // One check per (lookup, target name): a wildcard and its apex share a name and both values.
    const checks: Array<{ route: Dns01Route; target: string; values: string[] }> = [];
    for (const { route, target, value } of placed) {
      const same = checks.find((c) => c.route.lookup === route.lookup && c.target === target);
      if (!same) checks.push({ route, target, values: [value] });
      else if (!same.values.includes(value)) same.values.push(value);
    }
    const deadline = started + Math.max(...placed.map((p) => p.route.propagationTimeoutMs));
    let pending = checks;
    for (;;) {
      const views = await Promise.all(
        pending.map(async (check) => ({
          check,
          views: await check.route.lookup
            .txtVisibility(check.target, check.values)
            .catch((error: unknown): TxtVisibility[] => [
              { server: check.route.label, missing: check.values, error: (error as Error).message },
            ]),
        })),
      );
      const incomplete = views.filter((v) => v.views.some((s) => s.missing.length > 0));
      if (incomplete.length === 0) return;
      pending = incomplete.map((v) => v.check);
      const now = this.clock.now();
      // A route whose own timeout has passed fails the order now, naming what it still lacks.
      const expired = incomplete.filter((v) => now >= started + v.check.route.propagationTimeoutMs);
      if (expired.length > 0 || now >= deadline) {
        const stuck = expired.length > 0 ? expired : incomplete;
        throw propagationTimeout(
          stuck.map((v) => ({ target: v.check.target, views: v.views })),
          Math.max(...stuck.map((v) => v.check.route.propagationTimeoutMs)),
        );
      }
      await this.clock.sleep(Math.min(this.pollMs, Math.max(0, deadline - now)));
    }
  }
}

/** Publishes a provider's records: in one call when it can, else by name, sequentially per name. */
async function publish(provider: DnsProvider, records: DnsRecord[]): Promise<void> {
  if (provider.presentAll) return provider.presentAll(records);
  const byName = new Map<string, DnsRecord[]>();
  for (const r of records) byName.set(r.fqdn, [...(byName.get(r.fqdn) ?? []), r]);
  const results = await Promise.allSettled(
    [...byName.values()].map(async (group) => {
      // A wildcard and its apex share a name: a read-merge-write provider must see one, then the other.
      for (const { fqdn, value } of group) await provider.present(fqdn, value);
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Where `_acme-challenge.<name>`'s CNAME chain ends: the name itself when it is no CNAME. A chain
 * that returns to a name it passed, or has more than MAX_CNAME_LINKS links, is an error that names
 * every link, so the operator can fix the records.
 */
export async function followChain(lookup: DnsLookup, fqdn: string): Promise<string> {
  const chain = [normalize(fqdn)];
  for (;;) {
    const current = chain[chain.length - 1] as string;
    let next: string | null;
    try {
      next = await lookup.cname(current);
    } catch (error) {
      if (error instanceof WatchdogError) throw error;
      throw new DnsProviderError(
        `could not follow the CNAME chain of ${chain[0]}: ${(error as Error).message}`,
        {
          cause: error,
          hint: 'check that the zone is served and reachable, or list reachable servers in dns.resolvers',
        },
      );
    }
    if (next === null) return current;
    const target = normalize(next);
    if (chain.includes(target))
      throw new DnsCnameLoopError(
        `the CNAME chain of ${chain[0]} loops: ${[...chain, target].join(' -> ')}`,
        {
          hint: 'fix the _acme-challenge CNAME records so that the chain ends at a name holding TXT records',
        },
      );
    chain.push(target);
    if (chain.length - 1 > MAX_CNAME_LINKS)
      throw new DnsCnameChainTooLongError(
        `the CNAME chain of ${chain[0]} has more than ${MAX_CNAME_LINKS} links: ${chain.join(' -> ')}`,
        { hint: `point _acme-challenge.<name> at the validation zone in at most ${MAX_CNAME_LINKS} links` },
      );
  }
}

function propagationTimeout(
  stuck: ReadonlyArray<{ target: string; views: TxtVisibility[] }>,
  timeoutMs: number,
): DnsPropagationTimeoutError {
  const details = stuck.flatMap(({ target, views }) =>
    views
      .filter((v) => v.missing.length > 0)
      .map(
        (v) => `${target} at ${v.server}: ${v.error ? v.error : `${v.missing.length} of the values missing`}`,
      ),
  );
  return new DnsPropagationTimeoutError(
    stuck.map((s) => s.target),
    `the challenge records were not visible everywhere within ${Math.round(timeoutMs / 1000)} s: ${details.join('; ')}`,
    {
      hint: 'the CA was not asked (no failed authorization); check that every server named serves the zone and is up to date, or raise dns.propagationTimeoutSeconds',
    },
  );
}

const normalize = (name: string) => `${name.toLowerCase().replace(/\.+$/, '')}.`;
const key = (fqdn: string, value: string) => `${normalize(fqdn)}|${value}`;
