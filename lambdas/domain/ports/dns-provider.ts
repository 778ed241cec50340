/** Publishes and removes DNS-01 challenge TXT records. `fqdn` ends with a dot. */
export interface DnsProvider {
  present(fqdn: string, value: string): Promise<void>;
  cleanup(fqdn: string, value: string): Promise<void>;
}
