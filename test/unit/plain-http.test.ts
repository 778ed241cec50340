/**
 * adapters/plain-http: the node:http(s) exchange that the httpreq DNS bridge, the Slack webhook and
 * the secrets extension use instead of fetch (whose first use loads Node's undici).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpReqDnsProvider } from '../../lambdas/adapters/httpreq';
import { exchange, PlainHttpError } from '../../lambdas/adapters/plain-http';

let base = '';
const seen: Array<{ method?: string; headers: IncomingMessage['headers']; body: string }> = [];
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  let body = '';
  req.on('data', (chunk) => {
    body += chunk;
  });
  req.on('end', () => {
    seen.push({ method: req.method, headers: req.headers, body });
    if (req.url === '/slow') return; // never answers
    if (req.url === '/large') {
      res.end('x'.repeat(4096));
      return;
    }
    if (req.url?.startsWith('/teapot')) {
      res.statusCode = 418;
      res.setHeader('Retry-After', '120');
      res.end('short and stout');
      return;
    }
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ echo: body }));
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('exchange', () => {
  it('posts a body with its length and returns the status and the whole answer', async () => {
    const answer = await exchange(`${base}/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"a":"é"}',
      timeoutMs: 2_000,
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ echo: '{"a":"é"}' });
    const request = seen.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.headers['content-length']).toBe(String(Buffer.byteLength('{"a":"é"}')));
  });

  it('returns a non-2xx answer as it is (the caller decides)', async () => {
    expect(await exchange(`${base}/teapot`, { timeoutMs: 2_000 })).toEqual({
      status: 418,
      body: 'short and stout',
    });
  });

  it('returns the answer headers asked for, and only those', async () => {
    const answer = await exchange(`${base}/teapot`, {
      timeoutMs: 2_000,
      readHeaders: ['retry-after', 'x-absent'],
    });
    expect(answer.headers).toEqual({ 'retry-after': '120' });
  });

  it('gives up after timeoutMs with a TimeoutError', async () => {
    const started = Date.now();
    const error = await exchange(`${base}/slow`, { timeoutMs: 150 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlainHttpError);
    expect((error as PlainHttpError).name).toBe('TimeoutError');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('refuses an answer larger than maxBytes', async () => {
    const error = await exchange(`${base}/large`, { timeoutMs: 2_000, maxBytes: 1024 }).catch(
      (e: unknown) => e,
    );
    expect((error as PlainHttpError).name).toBe('TooLargeError');
  });

  it('reports a refused connection as a NetworkError with the cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await exchange(`http://127.0.0.1:${port}/`, { timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect((error as PlainHttpError).name).toBe('NetworkError');
    expect(((error as PlainHttpError).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });
});

describe('HttpReqDnsProvider over plain-http', () => {
  it('sends lego httpreq JSON with basic auth, and names the failing status', async () => {
    const provider = new HttpReqDnsProvider({ endpoint: `${base}/`, username: 'u', password: 'p' });
    await provider.present('_acme-challenge.example.com.', 'token');
    const request = seen.at(-1)!;
    expect(JSON.parse(request.body)).toEqual({ fqdn: '_acme-challenge.example.com.', value: 'token' });
    expect(request.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    const failing = new HttpReqDnsProvider({ endpoint: `${base}/teapot`, timeoutMs: 2_000 });
    await expect(failing.cleanup('_acme-challenge.example.com.', 'token')).rejects.toThrow(
      'httpreq cleanup of _acme-challenge.example.com. answered 418',
    );
  });
});
