/**
 * The DNS the CA will read, read first (ports/dns-lookup): CNAME chains and TXT visibility.
 *
 * - With `dns.resolvers` ("host:port", e.g. an internal resolver the CA also uses, or the public
 *   ones), every question goes to those servers only, recursion desired.
 * - Without, the zone's authoritative servers are asked directly (no recursion, no cache between
 *   the watchdog and the zone): the zone is the longest name above the record with its own SOA, and
 *   its servers come from its NS records, both found through the system's resolvers.
 *
 * Every question is one UDP exchange (TCP when truncated) through adapters/dns-wire: no cache.
 */
import { getServers } from 'node:dns';
import type { DnsLookup, TxtVisibility } from '../../domain/ports';
import {
  ask,
  type DnsAnswer,
  formatServer,
  fqdn,
  parseServer,
  RRTYPE,
  type ServerAddress,
} from '../dns-wire';

export interface WireDnsLookupOptions {
  /** `dns.resolvers`: ask only these, with recursion desired. */
  resolvers?: readonly string[] | undefined;
  /** Where zones and their servers are looked up without `resolvers` (default: the system's). */
  systemResolvers?: () => readonly string[];
  /** Port of the authoritative servers (53; tests run them elsewhere). */
  authoritativePort?: number;
  /** Per question and attempt (UDP makes two). */
  timeoutMs?: number;
}

const QUESTION_TIMEOUT_MS = 2_000;

export class WireDnsLookup implements DnsLookup {
  private readonly zoneServers = new Map<string, Promise<ServerAddress[]>>();

  constructor(private readonly options: WireDnsLookupOptions = {}) {}

  async cname(name: string): Promise<string | null> {
    const target = fqdn(name);
    const servers = await this.serversFor(target);
    let last: unknown;
    // The first server that answers decides: every server of a zone holds the same data.
    for (const server of servers) {
      try {
        const answer = await this.ask(server, target, RRTYPE.CNAME);
        if (answer.rcodeName !== 'NOERROR' && answer.rcodeName !== 'NXDOMAIN')
          throw new Error(`${formatServer(server)} answered ${answer.rcodeName}`);
        const record = answer.answers.find((r) => r.type === RRTYPE.CNAME && r.name === target);
        return record ? record.value : null;
      } catch (error) {
        last = error;
      }
    }
    throw new Error(`could not look up the CNAME of ${target}: ${(last as Error)?.message ?? 'no server'}`);
  }

  async txtVisibility(name: string, values: readonly string[]): Promise<TxtVisibility[]> {
    const target = fqdn(name);
    const servers = await this.serversFor(target);
    return Promise.all(
      servers.map(async (server): Promise<TxtVisibility> => {
        const label = formatServer(server);
        try {
          const answer = await this.ask(server, target, RRTYPE.TXT);
          if (answer.rcodeName !== 'NOERROR' && answer.rcodeName !== 'NXDOMAIN')
            return { server: label, missing: [...values], error: `answered ${answer.rcodeName}` };
          const seen = new Set(
            answer.answers.filter((r) => r.type === RRTYPE.TXT && r.name === target).map((r) => r.value),
          );
          return { server: label, missing: values.filter((v) => !seen.has(v)) };
        } catch (error) {
          return { server: label, missing: [...values], error: (error as Error).message };
        }
      }),
    );
  }

  private ask(server: ServerAddress, name: string, type: number): Promise<DnsAnswer> {
    return ask(server, name, type, {
      recursionDesired: this.options.resolvers !== undefined,
      timeoutMs: this.options.timeoutMs ?? QUESTION_TIMEOUT_MS,
    });
  }

  /** The configured resolvers, or the authoritative servers of the zone holding `name`. */
  private async serversFor(name: string): Promise<ServerAddress[]> {
    if (this.options.resolvers) return this.options.resolvers.map((r) => parseServer(r));
    const zone = await this.zoneOf(name);
    let servers = this.zoneServers.get(zone);
    if (!servers) {
      servers = this.authoritativeServers(zone);
      servers.catch(() => this.zoneServers.delete(zone));
      this.zoneServers.set(zone, servers);
    }
    return servers;
  }

  private recursive(): ServerAddress[] {
    const servers = (this.options.systemResolvers ?? getServers)().map((s) => parseServer(s));
    if (servers.length === 0)
      throw new Error('this system has no DNS resolver configured; set dns.resolvers');
    return servers;
  }

  /** Asks the system's resolvers in turn until one answers. */
  private async askRecursive(name: string, type: number): Promise<DnsAnswer> {
    let last: unknown;
    for (const server of this.recursive()) {
      try {
        const answer = await ask(server, name, type, {
          recursionDesired: true,
          timeoutMs: this.options.timeoutMs ?? QUESTION_TIMEOUT_MS,
        });
        if (answer.rcodeName === 'NOERROR' || answer.rcodeName === 'NXDOMAIN') return answer;
        last = new Error(`${formatServer(server)} answered ${answer.rcodeName} for ${name} ${type}`);
      } catch (error) {
        last = error;
      }
    }
    throw last;
  }

  /** The longest name at or above `name` that has its own SOA: its zone's apex. */
  private async zoneOf(name: string): Promise<string> {
    const labels = name.replace(/\.$/, '').split('.');
    for (let i = 0; i < labels.length; i++) {
      const candidate = `${labels.slice(i).join('.')}.`;
      const answer = await this.askRecursive(candidate, RRTYPE.SOA);
      if (answer.answers.some((r) => r.type === RRTYPE.SOA && r.name === candidate)) return candidate;
    }
    throw new Error(`no zone holds ${name} (no SOA at any name above it)`);
  }

  private async authoritativeServers(zone: string): Promise<ServerAddress[]> {
    const ns = (await this.askRecursive(zone, RRTYPE.NS)).answers
      .filter((r) => r.type === RRTYPE.NS && r.name === zone)
      .map((r) => r.value);
    if (ns.length === 0) throw new Error(`zone ${zone} lists no NS records`);
    const port = this.options.authoritativePort ?? 53;
    const addresses = await Promise.all(
      ns.map(async (host) => {
        for (const type of [RRTYPE.A, RRTYPE.AAAA]) {
          const found = (await this.askRecursive(host, type).catch(() => undefined))?.answers
            .filter((r) => r.type === type)
            .map((r) => ({ host: r.value, port }));
          if (found && found.length > 0) return found;
        }
        return [];
      }),
    );
    const servers = addresses.flat();
    if (servers.length === 0)
      throw new Error(`no address for the name servers of ${zone} (${ns.join(', ')})`);
    return servers;
  }
}
