/**
 * Issues a certificate with a fresh key for a list of names: ACME (adapters/acme), AWS Private CA
 * (adapters/aws-private-ca) or an operator's CA (adapters/local-ca), chosen per certificate by its
 * `issuer` setting. Called only after the caller holds the certificate's lock and found nothing to reuse.
 */
import type { KeyObject } from 'node:crypto';
import type { KeyType } from '../config/types';

/** A new certificate key (adapters/keys makes them with node:crypto). */
export interface CertificateKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PKCS#1 for RSA (the format RS documents), PKCS#8 for ECDSA. */
  keyPem: string;
}

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
  /**
   * The certificate's key, already being made (of `keyType`): a caller that loads the issuer's code
   * on demand starts the key first, so that RSA generation (~150 ms on a thread of its own) overlaps
   * the load instead of following it. Without it the issuer makes one.
   */
  key?: Promise<CertificateKey>;
  /**
   * ACME: the cluster and managed certificate the order is for, so that each name's DNS-01
   * challenge goes to the provider configured for it (global, cluster or certificate `dns`).
   */
  scope?: { cluster: string; certificate: string };
  /**
   * Private CAs: the new certificate copies this certificate's subject (PEM), attribute for
   * attribute (the client certificate: RS matches certificate users by it). Without it the subject
   * is CN=<first domain>. With no domains, the certificate has no subjectAltName.
   */
  sameSubjectAs?: string;
}

export interface CertificateIssuer {
  issue(domains: string[], keyType: KeyType, options?: IssueOptions): Promise<IssuedPair>;
}
