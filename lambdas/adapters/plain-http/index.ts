/**
 * One small HTTP(S) exchange on node:http / node:https, for the adapters that talk to a local or
 * simple endpoint: the httpreq DNS bridge, the Slack webhook, the secrets extension, and the ACME
 * renewalInfo reads of the check (through an agent carrying the ACME CA's trust).
 *
 * fetch() would do the same, but the first fetch in a process makes Node load its bundled undici,
 * ~50 ms of CPU (bench/cli): a renewal from the CLI paid it for one httpreq call, and the check
 * function for one read through the secrets extension at every cold start.
 */
import {
  type Agent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface PlainRequest {
  method?: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  /** Sent as is (a string as UTF-8). */
  body?: string | Uint8Array;
  /** The whole exchange, connection to last byte. */
  timeoutMs: number;
  /** Largest body read; more is an error (default 1 MB). */
  maxBytes?: number;
  /** The connection pool (and, for HTTPS, its TLS trust); Node's global agent otherwise. */
  agent?: Agent;
  /** Answer headers to return (lower case), e.g. `retry-after`; none otherwise. */
  readHeaders?: readonly string[];
}

export interface PlainResponse {
  status: number;
  body: string;
  /** The `readHeaders` the answer carried (a repeated one joined with ", "). */
  headers?: Record<string, string>;
}

/** The exchange did not complete: `name` is TimeoutError, or the network error's (e.g. Error with code ECONNREFUSED). */
export class PlainHttpError extends Error {
  constructor(
    override readonly name: 'TimeoutError' | 'NetworkError' | 'TooLargeError',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function exchange(url: string | URL, options: PlainRequest): Promise<PlainResponse> {
  const target = typeof url === 'string' ? new URL(url) : url;
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? Buffer.from(options.body, 'utf8')
        : Buffer.from(options.body.buffer, options.body.byteOffset, options.body.byteLength);
  return new Promise<PlainResponse>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const fail = (error: Error) =>
      settle(() =>
        reject(
          error instanceof PlainHttpError
            ? error
            : new PlainHttpError('NetworkError', error.message, { cause: error }),
        ),
      );
    const req = send(target, {
      method: options.method ?? (body ? 'POST' : 'GET'),
      ...(options.agent ? { agent: options.agent } : {}),
      headers: { ...options.headers, ...(body ? { 'Content-Length': String(body.length) } : {}) },
    });
    const timer = setTimeout(() => {
      fail(new PlainHttpError('TimeoutError', `no answer within ${options.timeoutMs} ms`));
      req.destroy();
    }, options.timeoutMs);
    req.on('error', fail);
    req.on('response', (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          fail(new PlainHttpError('TooLargeError', `the answer is larger than ${maxBytes} bytes`));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', fail);
      response.on('end', () =>
        settle(() =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            ...(options.readHeaders ? { headers: picked(response.headers, options.readHeaders) } : {}),
          }),
        ),
      );
    });
    req.end(body);
  });
}

function picked(headers: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
