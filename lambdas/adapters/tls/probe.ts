/**
 * What a TLS endpoint actually serves. After a push, the cluster's API may say it holds the new
 * certificate while a node still serves the old one; probing the endpoints shows it.
 */
import { checkServerIdentity, connect, type PeerCertificate } from 'node:tls';
import type { ProbeOptions, ProbeResult } from '../../domain/ports/endpoint-prober';
import { classifyTlsFailure, protocolFailureReason } from './errors';
import { trustContext } from './trust';

/**
 * Connects to host:port, verifying the served certificate against the trust list and against
 * `expectedName` (not the address we dialled: nodes are reached by IP, certificates name the cluster).
 */
export function probeEndpoint(endpoint: string, options: ProbeOptions): Promise<ProbeResult> {
  const [host, portText] = splitHostPort(endpoint);
  const servername = options.expectedName.replace(/^\*\./, 'probe.');
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port: Number(portText),
      servername,
      secureContext: trustContext([...options.ca]),
      rejectUnauthorized: true,
      checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(servername, cert),
    });
    const finish = (result: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () =>
        finish({
          endpoint,
          fingerprint256: null,
          failure: 'unreachable',
          error: `no TLS handshake within ${options.timeoutMs} ms`,
        }),
      options.timeoutMs,
    );
    socket.once('secureConnect', () =>
      finish({
        endpoint,
        fingerprint256: socket.getPeerCertificate().fingerprint256 ?? null,
        failure: null,
        error: null,
      }),
    );
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const kind = classifyTlsFailure(error);
      const code = error.code ?? error.message;
      finish({
        endpoint,
        fingerprint256: null,
        // It answered, with something its clients cannot use (a bad certificate, no TLS in common).
        failure: kind === null ? 'unreachable' : 'untrusted',
        // A protocol mismatch is named like the transport names it, not left as a bare EPROTO.
        error: kind === 'protocol' ? `TlsProtocolError: ${protocolFailureReason(error)} (${code})` : code,
      });
    });
  });
}

function splitHostPort(endpoint: string): [string, string] {
  const colon = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, colon).replace(/^\[|\]$/g, ''), endpoint.slice(colon + 1)];
}
