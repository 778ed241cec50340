/**
 * TLS trust = the public roots plus extra PEMs (a pinned cluster CA, the ACME CA).
 *
 * Built from Node's default context (the public roots, parsed once per process and shared) with the
 * extra CAs added to it. Passing `ca: [...rootCertificates, extra]` instead makes Node parse all ~140
 * roots again for every distinct trust set: 20 ms of CPU and ~1 MB each, measured (bench/). Every RS
 * cluster ships its own CA, so a fleet of 500 clusters would pay that 500 times; this way a context
 * costs ~0.5 ms and ~30 KB. Contexts are cached per distinct trust set.
 */
import { hash } from 'node:crypto';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';

/** The native context under tls.SecureContext: addCACert is what createSecureContext({ca}) uses. */
interface CaStore {
  addCACert(pem: string): void;
}

const cache = new Map<string, SecureContext>();

/** One short key per distinct trust set (the PEMs' SHA-256). */
export function trustKey(extraPems: readonly string[]): string {
  return hash('sha256', extraPems.join('\n'), 'hex');
}

export function trustContext(extraPems: readonly string[]): SecureContext {
  const key = trustKey(extraPems);
  let context = cache.get(key);
  if (!context) {
    context = createSecureContext();
    const store = context.context as Partial<CaStore>;
    if (typeof store.addCACert === 'function') {
      // Adding to the default context copies the shared root store by reference, then adds ours.
      for (const pem of extraPems) store.addCACert(pem);
    } else if (extraPems.length > 0) {
      // Should a Node release drop the method: the documented, slower way, same trust.
      context = createSecureContext({ ca: [...rootCertificates, ...extraPems] });
    }
    cache.set(key, context);
  }
  return context;
}

/**
 * The trust of `trustContext` plus a client certificate and key, for certificate login. Not cached:
 * a context holds the key, and there is one per cluster connection (its agent keeps it).
 */
export function clientContext(
  extraPems: readonly string[],
  certificatePem: string,
  keyPem: string,
): SecureContext {
  const context = createSecureContext({ cert: certificatePem, key: keyPem });
  const store = context.context as Partial<CaStore>;
  if (typeof store.addCACert === 'function') {
    for (const pem of extraPems) store.addCACert(pem);
    return context;
  }
  return createSecureContext({ ca: [...rootCertificates, ...extraPems], cert: certificatePem, key: keyPem });
}
