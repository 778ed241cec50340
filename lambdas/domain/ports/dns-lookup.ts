/**
 * Reads DNS the way the CA will, before it is asked to: where an `_acme-challenge` name's CNAME
 * chain leads, and whether every TXT value is visible yet. Asks the configured resolvers
 * (`dns.resolvers`) or, without them, the zone's authoritative servers; never a cache of its own
 * (adapters/dns-lookup).
 */

/** One server's view of a TXT name: the values it does not serve yet, or why it could not say. */
export interface TxtVisibility {
  /** "host:port" of the server asked. */
  server: string;
  missing: string[];
  /** Set when the server could not be asked or answered an error (counted as not visible). */
  error?: string;
}

export interface DnsLookup {
  /** The name `fqdn` is a CNAME for (trailing dot), or null when it is not a CNAME. */
  cname(fqdn: string): Promise<string | null>;
  /** What each server asked lacks of `values` at `fqdn` (TXT). Every server must show every value. */
  txtVisibility(fqdn: string, values: readonly string[]): Promise<TxtVisibility[]>;
}
