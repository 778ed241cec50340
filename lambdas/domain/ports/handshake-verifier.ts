/**
 * What the peers of a certificate will say of it, found out the way they will: a TLS handshake on
 * loopback (adapters/tls/handshake.ts), the candidate on one side and on the other a peer holding the
 * trust the real peers hold. OpenSSL then checks the whole path as a client does (every
 * certificate's dates, basic constraints and path length, key usage, name constraints, the leaf's
 * extended key usage for the role), which node:crypto alone cannot.
 */
export interface HandshakeCheck {
  /** The candidate: leaf first, then its chain, as it would be pushed. */
  certificatePem: string;
  keyPem: string;
  /**
   * PEM roots the peers trust. Its clients trust these beyond the public roots; the servers it
   * connects to as a client trust these alone (they trust the CA they were set up with).
   */
  trust: readonly string[];
  /** Check it as a TLS server (its clients verify it, purpose serverAuth). */
  asServer: boolean;
  /** Check it as a TLS client (the servers it connects to verify it, purpose clientAuth). */
  asClient: boolean;
}

/** Why a peer refused the candidate: OpenSSL's verification error, as Node names it. */
export interface HandshakeRejection {
  /** e.g. CERT_NOT_YET_VALID, PATH_LENGTH_EXCEEDED, INVALID_PURPOSE, EXCLUDED_VIOLATION. */
  code: string;
  /** OpenSSL's words: "certificate is not yet valid". */
  reason: string;
}

export interface HandshakeOutcome {
  /** Null when the client side accepted it (or `asServer` was false). */
  asServer: HandshakeRejection | null;
  /** Null when the server side accepted it (or `asClient` was false). */
  asClient: HandshakeRejection | null;
  /** Wall time of the whole check, for the logs and the benchmark. */
  elapsedMs: number;
}

/** Never throws for a refusal (that is the outcome); throws when no handshake could be made at all. */
export type HandshakeVerifier = (check: HandshakeCheck) => Promise<HandshakeOutcome>;
