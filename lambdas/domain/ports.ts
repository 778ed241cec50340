/**
 * The ports the domain talks through. Adapters live in lambdas/adapters/<backend>/: local ones
 * (directory, httpreq, stdout, Slack) for one machine, AWS ones (Secrets Manager, Route 53, SNS).
 */
import type { ErrorInfo } from './errors';

/** A small key-value store of secrets. Keys are `/`-separated paths of [A-Za-z0-9._-] segments. */
export interface SecretStore {
  read(key: string): Promise<string | null>;
  /** Replaces the value durably (atomic: a reader sees the old or the new value, never a mix). */
  write(key: string, value: string): Promise<void>;
  /**
   * Sets `key` to `value` as its `generation`-th claim, unless that generation was claimed before
   * (by anyone, with any value): a compare-and-set on a counter, exactly one caller wins each
   * generation. The basis of the per-certificate lock.
   */
  claim(key: string, generation: number, value: string): Promise<boolean>;
}

/** Publishes and removes DNS-01 challenge TXT records. `fqdn` ends with a dot. */
export interface DnsProvider {
  present(fqdn: string, value: string): Promise<void>;
  cleanup(fqdn: string, value: string): Promise<void>;
}

export type Alert =
  | {
      kind: 'renewed';
      cluster: string;
      certificate: string;
      domains: string[];
      oldNotAfter: string | null;
      newNotAfter: string;
      serialNumber: string;
      fingerprint256: string;
      verification: string;
    }
  | { kind: 'renewal-failed'; cluster: string; certificate: string; error: ErrorInfo; action: string }
  | {
      kind: 'alert-only';
      cluster: string;
      certificate: string;
      status: string;
      notAfter: string | null;
      daysLeft: number | null;
      reason: string;
    }
  | { kind: 'cluster-unreachable'; cluster: string; error: ErrorInfo };

export interface Notifier {
  send(alert: Alert): Promise<void>;
}
