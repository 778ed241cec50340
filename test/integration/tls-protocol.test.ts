/**
 * TLS protocol mismatches against real loopback servers: a server that speaks only TLS 1.0/1.1, and
 * one whose only cipher the client refuses. Both are a named TlsProtocolError with a hint (not a bare
 * EPROTO), no credentials are ever sent, and the endpoint probe names the same failure.
 */

import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Server, connect as tcpConnect } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { RsTransport } from '../../lambdas/adapters/rs-https/transport';
import { probeEndpoint } from '../../lambdas/adapters/tls/probe';
import { RsClient } from '../../lambdas/domain/rs/client';
import { createCa, issueCert } from '../support/pki';

const USER = 'admin@example.com';
const PASSWORD = 'tls-protocol-password-5d1e';

interface Mismatched {
  port: number;
  /** Every byte the client sent, seen by a TCP relay in front of the TLS server. */
  received: () => Buffer;
  /** Handshakes the TLS server completed. */
  secured: () => number;
  caPem: string;
  /** TCP connections the client opened. */
  connections: () => number;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function mismatchedServer(tls: TlsOptions): Promise<Mismatched> {
  const ca = await createCa({ commonName: 'TLS Protocol Test CA' });
  const leaf = await issueCert({ ca, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  let secured = 0;
  const server = createTlsServer({ key: leaf.keyPem, cert: leaf.chainPem, ...tls }, (socket) => {
    secured++;
    socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}');
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const tlsPort = (server.address() as AddressInfo).port;
  const chunks: Buffer[] = [];
  let connections = 0;
  const relay = createTcpServer((client) => {
    connections++;
    const upstream = tcpConnect(tlsPort, '127.0.0.1');
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  servers.push(server, relay);
  return {
    port: (relay.address() as AddressInfo).port,
    received: () => Buffer.concat(chunks),
    secured: () => secured,
    caPem: ca.certPem,
    connections: () => connections,
  };
}

const transport = (port: number, caPem: string) =>
  new RsTransport({
    cluster: 'old-tls',
    baseUrl: new URL(`https://127.0.0.1:${port}`),
    serverName: 'localhost',
    username: USER,
    password: PASSWORD,
    extraCa: [caPem],
    connectTimeoutMs: 5_000,
    requestTimeoutMs: 5_000,
    getRetries: 2,
    retryBackoff: { baseMs: 1, rate: 1, maxMs: 1 },
  });

function expectNoCredentials(server: Mismatched): void {
  const sent = server.received();
  expect(sent.length).toBeGreaterThan(0); // the ClientHello reached the server
  const basic = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  expect(sent.includes(Buffer.from('Authorization'))).toBe(false);
  expect(sent.includes(Buffer.from(basic))).toBe(false);
  expect(server.secured()).toBe(0);
}

describe('TLS protocol mismatches are named, and send no credentials', () => {
  it.each([
    [
      'TLS 1.0 and 1.1 only',
      { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' },
      /no TLS protocol version in common/,
    ],
    [
      'a cipher the client refuses (Camellia, TLS 1.2)',
      { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'CAMELLIA128-SHA' },
      /no TLS cipher in common/,
    ],
  ] as const)('%s: TlsProtocolError with a hint, not retried', async (_what, tls, reason) => {
    const server = await mismatchedServer(tls as TlsOptions);
    const client = new RsClient('old-tls', transport(server.port, server.caPem));
    const error = await client.getCertificates().catch((e: unknown) => e);
    client.close();
    expect(error).toMatchObject({
      name: 'TlsProtocolError',
      message: expect.stringMatching(reason),
      hint: expect.stringMatching(/TLS 1\.2 or 1\.3/),
    });
    expect((error as Error).message).toContain('no credentials were sent');
    expect((error as Error).message).not.toContain(PASSWORD);
    expectNoCredentials(server);
    // A configuration mismatch is not transient: the GET is not retried (getRetries is 2 here).
    expect(server.connections()).toBe(1);
  });

  it.each([
    [
      'TLS 1.0 and 1.1 only',
      { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' },
      /no TLS protocol version in common/,
    ],
    [
      'a cipher the client refuses',
      { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'CAMELLIA128-SHA' },
      /no TLS cipher in common/,
    ],
  ] as const)('the endpoint probe names it too: %s', async (_what, tls, reason) => {
    const server = await mismatchedServer(tls as TlsOptions);
    const result = await probeEndpoint(`127.0.0.1:${server.port}`, {
      expectedName: 'localhost',
      ca: [server.caPem],
      timeoutMs: 5_000,
    });
    expect(result).toMatchObject({
      fingerprint256: null,
      error: expect.stringMatching(new RegExp(`^TlsProtocolError: ${reason.source}`)),
    });
    expect(server.secured()).toBe(0);
  });
});
