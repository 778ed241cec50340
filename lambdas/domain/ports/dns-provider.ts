/** A DNS-01 challenge record: `fqdn` ends with a dot; `value` is the TXT value. */
export interface DnsRecord {
  fqdn: string;
  value: string;
}

/** Publishes and removes DNS-01 challenge TXT records. `fqdn` ends with a dot. */
export interface DnsProvider {
  present(fqdn: string, value: string): Promise<void>;
  cleanup(fqdn: string, value: string): Promise<void>;
  /**
   * Publishes every record of an order with ONE propagation wait (Route 53: one change batch, one
   * INSYNC wait). Optional: without it, the issuer calls `present` for each record in parallel.
   */
  presentAll?(records: readonly DnsRecord[]): Promise<void>;
}
