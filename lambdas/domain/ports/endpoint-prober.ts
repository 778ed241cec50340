/**
 * What a TLS endpoint serves, read by a handshake that verifies the chain and the expected name
 * (adapters/tls). Never throws: an endpoint that cannot be read is a result with `error`.
 */
export interface ProbeResult {
  endpoint: string;
  /** SHA-256 fingerprint of the served leaf, as X509Certificate.fingerprint256; null when not read. */
  fingerprint256: string | null;
  /**
   * Why no fingerprint: `unreachable` (no TCP/TLS answer: a warning, the node may be down) or
   * `untrusted` (it answered, with a certificate that does not verify or does not carry the name, or
   * with no TLS version or cipher in common: what its clients would see).
   */
  failure: 'unreachable' | 'untrusted' | null;
  error: string | null;
}

export interface ProbeOptions {
  /** The name the served certificate must carry (nodes are dialled by IP). */
  expectedName: string;
  /** Trust beyond the public roots. */
  ca: readonly string[];
  timeoutMs: number;
}

export type EndpointProber = (endpoint: string, options: ProbeOptions) => Promise<ProbeResult>;
