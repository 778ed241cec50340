/**
 * TLS trust = the public roots plus extra PEMs (a pinned cluster CA, the ACME CA). Contexts are built
 * once per distinct trust set: building one parses ~140 roots (~20 ms), which per connection would
 * dominate a fleet check and every ACME request.
 */
import { createHash } from 'node:crypto';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';

const cache = new Map<string, SecureContext>();

export function trustContext(extraPems: readonly string[]): SecureContext {
  const key = createHash('sha256').update(extraPems.join('\n')).digest('hex');
  let context = cache.get(key);
  if (!context) {
    context = createSecureContext({ ca: [...rootCertificates, ...extraPems] });
    cache.set(key, context);
  }
  return context;
}
