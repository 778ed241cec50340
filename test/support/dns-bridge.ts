// A loopback HTTP server speaking lego's `httpreq` DNS provider convention (default mode, not RAW):
//   POST {url}/present  {"fqdn": "_acme-challenge.example.com.", "value": "<TXT value>"}  -> challtestsrv set-txt
//   POST {url}/cleanup  {"fqdn": "_acme-challenge.example.com.", "value": "<TXT value>"}  -> challtestsrv clear-txt
// with optional HTTP basic auth, plus fault injection for tests.
import http from 'node:http';
import type { PebbleEnv } from './pebble';

export interface DnsBridgeCall {
  op: 'present' | 'cleanup';
  fqdn: string;
  value: string;
  /** HTTP status the bridge answered: 200, 500 (failNext) or 502 (challtestsrv refused). */
  status: number;
}

export interface DnsBridge {
  /** http://127.0.0.1:<port>, the httpreq endpoint (no trailing slash). */
  url: string;
  /** Every authenticated, well-formed present/cleanup call, in arrival order. */
  calls: DnsBridgeCall[];
  /** Answer 500 to the next n present calls (not forwarded). */
  failNext(n: number): void;
  /** When true, present/cleanup answer 200 but are not forwarded, so the record never appears. */
  dropRecords: boolean;
  close(): Promise<void>;
}

export interface DnsBridgeOptions {
  username?: string;
  password?: string;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parsePayload(text: string): { fqdn: string; value: string } | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const { fqdn, value } = data as Record<string, unknown>;
  if (typeof fqdn !== 'string' || fqdn === '' || typeof value !== 'string') return undefined;
  return { fqdn, value };
}

export async function startDnsBridge(dns: PebbleEnv['dns'], opts: DnsBridgeOptions = {}): Promise<DnsBridge> {
  let failures = 0;
  const expectedAuth =
    opts.username !== undefined || opts.password !== undefined
      ? `Basic ${Buffer.from(`${opts.username ?? ''}:${opts.password ?? ''}`).toString('base64')}`
      : undefined;

  const send = (
    res: http.ServerResponse,
    status: number,
    text: string,
    headers: http.OutgoingHttpHeaders = {},
  ) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(text);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://bridge').pathname;
    const op = path === '/present' ? 'present' : path === '/cleanup' ? 'cleanup' : undefined;
    if (!op) return send(res, 404, 'not found');
    if (req.method !== 'POST') return send(res, 405, 'method not allowed', { allow: 'POST' });
    if (expectedAuth !== undefined && req.headers.authorization !== expectedAuth) {
      return send(res, 401, 'unauthorized', { 'www-authenticate': 'Basic realm="dns-bridge"' });
    }
    const payload = parsePayload(await readBody(req));
    if (!payload) return send(res, 400, 'expected JSON {"fqdn": string, "value": string}');

    const call: DnsBridgeCall = { op, ...payload, status: 200 };
    bridge.calls.push(call);
    if (op === 'present' && failures > 0) {
      failures--;
      call.status = 500;
      return send(res, 500, 'injected failure');
    }
    if (!bridge.dropRecords) {
      try {
        if (op === 'present') await dns.setTxt(payload.fqdn, payload.value);
        else await dns.clearTxt(payload.fqdn);
      } catch (err) {
        call.status = 502;
        return send(res, 502, `challtestsrv: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    send(res, 200, 'ok');
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (typeof addr !== 'object' || addr === null) throw new Error('dns-bridge: no listening address');

  let closed: Promise<void> | undefined;
  const bridge: DnsBridge = {
    url: `http://127.0.0.1:${addr.port}`,
    calls: [],
    dropRecords: false,
    failNext(n: number) {
      failures = n;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
  return bridge;
}
