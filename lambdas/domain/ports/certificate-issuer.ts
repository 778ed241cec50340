/**
 * Issues a certificate with a fresh key for a list of names: ACME (adapters/acme), AWS Private CA
 * (adapters/aws-private-ca) or an operator's CA (adapters/local-ca), chosen per certificate by its
 * `issuer` setting. Called only after the caller holds the certificate's lock and found nothing to reuse.
 */
import type { KeyType } from '../config/types';

export interface IssuedPair {
  /** Full chain PEM, leaf first. */
  certificatePem: string;
  /** PKCS#1 for RSA (as RS shows), PKCS#8 for ECDSA. */
  keyPem: string;
}

export interface IssueOptions {
  /** ACME: the profile to ask for in newOrder (checked against the directory's meta.profiles first). */
  profile?: string;
  /**
   * ACME: the RFC 9773 certID of the certificate this one replaces (newOrder `replaces`). Set only
   * when the CA answered renewalInfo for it, i.e. it issued it.
   */
  replaces?: string;
}

export interface CertificateIssuer {
  issue(domains: string[], keyType: KeyType, options?: IssueOptions): Promise<IssuedPair>;
}
