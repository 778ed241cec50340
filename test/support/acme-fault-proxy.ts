/**
 * An HTTPS proxy in front of Pebble that answers chosen ACME requests with faults Pebble cannot
 * produce on demand (rateLimited with Retry-After, 5xx). Everything else is forwarded unchanged.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { PebbleEnv } from './pebble';
import { createCa, issueCert } from './pki';

export interface AcmeFault {
  /** Matches the request path, e.g. /order-plz (Pebble's newOrder). */
  path: RegExp;
  times: number;
  /** Answer this status instead of forwarding... */
  status?: number;
  problem?: { type: string; detail: string };
  headers?: Record<string, string>;
  /** ...or forward, and rewrite the response body (e.g. reorder a downloaded chain). */
  transformBody?: (body: string) => string;
}

export interface AcmeFaultProxy {
  directoryUrl: string;
  /** Trust for the proxy's TLS plus Pebble's roots: the config's acme.caFile. */
  caFile: string;
  /** Every request seen; `nonce` is the JWS nonce a signed POST carried. */
  hits: Array<{ method: string; path: string; status: number; nonce?: string }>;
  inject(fault: AcmeFault): void;
  close(): Promise<void>;
}

export async function startAcmeFaultProxy(pebble: PebbleEnv, dir: string): Promise<AcmeFaultProxy> {
  const ca = await createCa({ commonName: 'ACME fault proxy CA' });
  const leaf = await issueCert({ ca, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const upstream = new URL(pebble.directoryUrl).origin;
  const faults: AcmeFault[] = [];
  const hits: AcmeFaultProxy['hits'] = [];
  let origin = '';

  const server: Server = createServer({ cert: leaf.chainPem, key: leaf.keyPem }, (req, res) => {
    const path = req.url ?? '/';
    const fault = faults.find((f) => f.times > 0 && f.path.test(path));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const nonce = jwsNonce(Buffer.concat(chunks));
      if (fault && fault.status !== undefined) {
        fault.times--;
        hits.push({ method: req.method ?? '', path, status: fault.status, ...(nonce ? { nonce } : {}) });
        // A fresh nonce keeps a well-behaved client able to continue after the fault.
        res.writeHead(fault.status, { 'Content-Type': 'application/problem+json', ...fault.headers });
        res.end(JSON.stringify({ ...fault.problem, status: fault.status }));
        return;
      }
      const forward = httpsRequest(
        `${upstream}${path}`,
        // The Host header passes through: Pebble then builds its URLs (and checks each JWS `url`)
        // with the proxy's origin, so nothing signed needs rewriting.
        { method: req.method, headers: req.headers, ca: pebble.tlsCaPem, servername: 'localhost' },
        (up) => {
          const body: Buffer[] = [];
          up.on('data', (c: Buffer) => body.push(c));
          up.on('end', () => {
            const headers: Record<string, string | string[]> = {};
            for (const [k, v] of Object.entries(up.headers)) {
              if (v === undefined || k === 'content-length') continue;
              headers[k] = v;
            }
            let text: string | Buffer = Buffer.concat(body);
            if (fault?.transformBody) {
              fault.times--;
              text = fault.transformBody(text.toString('utf8'));
            }
            hits.push({
              method: req.method ?? '',
              path,
              status: up.statusCode ?? 0,
              ...(nonce ? { nonce } : {}),
            });
            res.writeHead(up.statusCode ?? 502, headers);
            res.end(text);
          });
        },
      );
      forward.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const caFile = join(dir, 'acme-proxy-ca.pem');
  await writeFile(caFile, `${ca.certPem}${pebble.issuingRootPem}`);
  return {
    directoryUrl: `${origin}${new URL(pebble.directoryUrl).pathname}`,
    caFile,
    hits,
    inject: (fault) => faults.push(fault),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The `nonce` of a flattened JWS body's protected header, if the body is one. */
function jwsNonce(body: Buffer): string | undefined {
  try {
    const { protected: header } = JSON.parse(body.toString('utf8')) as { protected?: string };
    if (typeof header !== 'string') return undefined;
    const { nonce } = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { nonce?: unknown };
    return typeof nonce === 'string' ? nonce : undefined;
  } catch {
    return undefined;
  }
}
