/**
 * What a failed TLS connection means, from Node's error code and OpenSSL's reason. One table for
 * every TLS client here: the RS transport, the endpoint probe and the ACME HTTP guard.
 *
 * - `untrusted`: the peer answered with a certificate that does not chain to our trust, is expired
 *   or self-signed, or does not carry the name we expect. The operator fixes trust or names.
 * - `protocol`: no common TLS version or cipher (a bare EPROTO, an alert during the handshake). The
 *   operator fixes the server's (or an intercepting proxy's) TLS settings.
 */
export type TlsFailure = 'untrusted' | 'protocol';

const UNTRUSTED = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME|ALTNAME|ERR_TLS_CERT/;
const PROTOCOL =
  /EPROTO|ERR_SSL_(WRONG_VERSION_NUMBER|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE|TLSV1_ALERT_PROTOCOL_VERSION|SSLV3_ALERT_HANDSHAKE_FAILURE|NO_SHARED_CIPHER|NO_CIPHERS_AVAILABLE|VERSION_TOO_LOW|VERSION_TOO_HIGH)|wrong version number|unsupported protocol|no protocols available|protocol version|handshake failure|no shared cipher|no ciphers available/i;

export function classifyTlsFailure(error: { code?: string | undefined; message: string }): TlsFailure | null {
  const code = error.code ?? '';
  if (UNTRUSTED.test(code) || UNTRUSTED.test(error.message)) return 'untrusted';
  if (PROTOCOL.test(code) || PROTOCOL.test(error.message)) return 'protocol';
  return null;
}

export function isTlsVerificationFailure(error: { code?: string | undefined; message: string }): boolean {
  return classifyTlsFailure(error) === 'untrusted';
}

/** A one-line reason for an operator, for a `protocol` failure. */
export function protocolFailureReason(error: { code?: string | undefined; message: string }): string {
  const text = `${error.code ?? ''} ${error.message}`;
  if (/cipher|handshake failure/i.test(text)) return 'no TLS cipher in common';
  return 'no TLS protocol version in common';
}
