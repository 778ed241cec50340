/**
 * ACME Renewal Information (RFC 9773) for one certificate: adapters/acme/renewal-info.ts reads the
 * CA's directory and asks `GET <renewalInfo>/<certID>` with plain HTTPS (no acme-client: the check
 * function stays small). The domain decides what to do with the answer (../ari.ts).
 */
import type { RenewalInfoAnswer } from '../ari';

export interface RenewalInfoSource {
  /**
   * The CA's answer for a certID; null when the CA has no renewalInfo in its directory (no ARI).
   * Throws RenewalInfoError on any failure (network, HTTP error, a body that is not a window): the
   * caller falls back to the lifetime policy.
   */
  renewalInfo(certId: string): Promise<RenewalInfoAnswer | null>;
  /** The profiles the CA offers (directory meta.profiles); null when it lists none. */
  profiles(): Promise<Record<string, string> | null>;
}
