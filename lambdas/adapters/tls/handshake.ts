/**
 * The HandshakeVerifier: one TLS handshake on 127.0.0.1 (an ephemeral port, in this process) between
 * the candidate certificate and a peer holding the given trust, so OpenSSL verifies the candidate's
 * whole path exactly as a real peer's OpenSSL would, name constraints included.
 *
 * One handshake answers both questions. The server side presents the candidate; the client side
 * verifies it (purpose sslserver: serverAuth). When the candidate also acts as a TLS client (syncer,
 * ldap_client), the client side presents the candidate too and the server side, asking for a client
 * certificate, verifies it (purpose sslclient: clientAuth). Neither side aborts on a refusal
 * (rejectUnauthorized false): each reads its verdict (`authorized`, `authorizationError`) once the
 * handshake is done. Names are not checked here (the domain does, per configured domain).
 *
 * A client verifying the candidate trusts the public roots plus `trust`, built as adapters/tls/trust.ts
 * builds it (the default context's shared root store, the extras added), so a check costs a
 * handshake, not a root store. A server verifying it as a client trusts `trust` alone.
 */

import { performance } from 'node:perf_hooks';
import { connect, createSecureContext, createServer, type TLSSocket } from 'node:tls';
import type { HandshakeOutcome, HandshakeRejection, HandshakeVerifier } from '../../domain/ports';
import { trustContext } from './trust';

const TIMEOUT_MS = 10_000;

interface CaStore {
  addCACert(pem: string): void;
}

export const verifyByHandshake: HandshakeVerifier = async (check) => {
  const started = performance.now();
  const { certificatePem, keyPem, trust, asServer, asClient } = check;
  // The client side: the peers' trust, and the candidate when it is checked as a client.
  const clientContext = asClient
    ? withClientCertificate(trust, keyPem, certificatePem)
    : trustContext([...trust]);
  // The server side: the candidate and, to verify it as a client, `trust` alone: the servers a client
  // certificate meets (an Active-Active peer, an LDAP server) trust the CA they were set up with, not
  // the public roots (which no longer issue clientAuth certificates anyway).
  const server = createServer({
    key: keyPem,
    cert: certificatePem,
    requestCert: asClient,
    rejectUnauthorized: false,
    ...(asClient ? { ca: [...trust] } : {}),
  });
  try {
    const serverVerdict = new Promise<HandshakeRejection | null>((resolve, reject) => {
      server.once('secureConnection', (socket: TLSSocket) => {
        resolve(asClient ? verdict(socket) : null);
        socket.end();
      });
      server.once('tlsClientError', reject);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const { port } = server.address() as { port: number };
    const client = connect({
      host: '127.0.0.1',
      port,
      secureContext: clientContext,
      rejectUnauthorized: false,
      // The first name is checked by the domain, every configured one; SNI is not needed here.
      checkServerIdentity: () => undefined,
    });
    const clientVerdict = new Promise<HandshakeRejection | null>((resolve, reject) => {
      client.once('secureConnect', () => resolve(asServer ? verdict(client) : null));
      client.once('error', reject);
    });
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`no TLS handshake on loopback within ${TIMEOUT_MS} ms`)),
        TIMEOUT_MS,
      ).unref(),
    );
    try {
      const [serverSide, clientSide] = await Promise.race([
        Promise.all([serverVerdict, clientVerdict]),
        timeout,
      ]);
      const outcome: HandshakeOutcome = {
        asServer: clientSide,
        asClient: serverSide,
        elapsedMs: performance.now() - started,
      };
      return outcome;
    } finally {
      client.destroy();
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
};

/** A client context with the peers' trust (the public roots plus `trust`) and the candidate as its certificate. */
function withClientCertificate(trust: readonly string[], keyPem: string, certificatePem: string) {
  const context = createSecureContext({ key: keyPem, cert: certificatePem });
  const store = context.context as Partial<CaStore>;
  if (typeof store.addCACert !== 'function')
    throw new Error('node:tls cannot add CA certificates to a context');
  for (const pem of trust) store.addCACert(pem);
  return context;
}

/** Node's own verification error of a finished handshake, with OpenSSL's words. */
interface VerifyingHandle {
  verifyError?: () => (Error & { code?: string }) | null | undefined;
}

function verdict(socket: TLSSocket): HandshakeRejection | null {
  if (socket.authorized) return null;
  // The code alone is UNSPECIFIED for several errors Node does not name (a name constraint, a CA's
  // key usage): the handle's error carries OpenSSL's reason for every one.
  const handle = (socket as unknown as { _handle?: VerifyingHandle })._handle;
  const detailed = handle?.verifyError?.();
  const code = detailed?.code ?? String(socket.authorizationError ?? 'NO_CERTIFICATE');
  const reason = detailed?.message ?? (code === 'NO_CERTIFICATE' ? 'no certificate was presented' : code);
  return { code, reason };
}
