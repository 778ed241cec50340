/**
 * What a TLS endpoint actually serves. After a push, the cluster's API may say it holds the new
 * certificate while a node still serves the old one; probing the endpoints shows it.
 */
import { checkServerIdentity, connect, type PeerCertificate } from 'node:tls';
import { trustContext } from './trust';

export interface ProbeResult {
  endpoint: string;
  /** SHA-256 fingerprint of the served leaf, when the handshake succeeded. */
  fingerprint256: string | null;
  error: string | null;
}

/**
 * Connects to host:port, verifying the served certificate against the trust list and against
 * `expectedName` (not the address we dialled: nodes are reached by IP, certificates name the cluster).
 */
export function probeEndpoint(
  endpoint: string,
  options: { expectedName: string; ca: string[]; timeoutMs?: number },
): Promise<ProbeResult> {
  const [host, portText] = splitHostPort(endpoint);
  const servername = options.expectedName.replace(/^\*\./, 'probe.');
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port: Number(portText),
      servername,
      secureContext: trustContext(options.ca),
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
          error: `no TLS handshake within ${options.timeoutMs ?? 5000} ms`,
        }),
      options.timeoutMs ?? 5000,
    );
    socket.once('secureConnect', () =>
      finish({ endpoint, fingerprint256: socket.getPeerCertificate().fingerprint256 ?? null, error: null }),
    );
    socket.once('error', (error: NodeJS.ErrnoException) =>
      finish({ endpoint, fingerprint256: null, error: error.code ?? error.message }),
    );
  });
}

function splitHostPort(endpoint: string): [string, string] {
  const colon = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, colon).replace(/^\[|\]$/g, ''), endpoint.slice(colon + 1)];
}
