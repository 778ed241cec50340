/**
 * Issues a certificate with a fresh key for a list of names: ACME (adapters/acme) today, a private
 * CA tomorrow. Called only after the caller holds the certificate's lock and found nothing to reuse.
 */
import type { KeyType } from '../config/types';

export interface IssuedPair {
  /** Full chain PEM, leaf first. */
  certificatePem: string;
  /** PKCS#1 for RSA (as RS shows), PKCS#8 for ECDSA. */
  keyPem: string;
}

export interface CertificateIssuer {
  issue(domains: string[], keyType: KeyType): Promise<IssuedPair>;
}
