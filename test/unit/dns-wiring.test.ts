/**
 * wiring/dns01 as the issue function and the CLI build it (issue 18 item 14): an httpreq password
 * from Secrets Manager (`passwordSecret`) reaches the endpoint as Basic authentication, read once;
 * the CLI checks every DNS environment variable up front (exit 2 before any network call); the
 * Lambdas refuse an exec hook.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLocalInputs } from '../../lambdas/adapters/config-file';
import { parseConfig } from '../../lambdas/domain/config/schema';
import type { DnsLookup } from '../../lambdas/domain/ports';
import { dns01For } from '../../lambdas/wiring/dns01';

/** Every record is visible at once: these tests are about who writes, not about propagation. */
const visible: DnsLookup = {
  cname: async () => null,
  txtVisibility: async () => [{ server: 'test', missing: [] }],
};

describe('httpreq with Basic authentication', () => {
  const seen: Array<{ path: string; authorization: string | undefined }> = [];
  let server: http.Server;
  let endpoint = '';
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends the password read from passwordSecret, reading the secret once', async () => {
    const config = parseConfig({
      acme: { email: 'ops@example.com' },
      dns: {
        provider: 'httpreq',
        endpoint,
        username: 'lego',
        passwordSecret: 'rs-cert-watchdog/dns/httpreq',
      },
      clusters: [
        {
          name: 'east',
          endpoint: 'https://east.example.com:9443',
          credentialsSecret: 'rs/east',
          certificates: { proxy: { domains: ['*.redis.example.com'] } },
        },
      ],
    });
    const reads: string[] = [];
    const dns = dns01For(config, {
      env: {},
      allowExec: false,
      lookupFor: () => visible,
      readSecret: async (id) => {
        reads.push(id);
        return 's3cret';
      },
    })({ cluster: 'east', certificate: 'proxy' });
    await dns.presentAll?.([{ fqdn: '_acme-challenge.redis.example.com.', value: 'v1' }]);
    await dns.cleanup('_acme-challenge.redis.example.com.', 'v1');
    const basic = `Basic ${Buffer.from('lego:s3cret').toString('base64')}`;
    expect(seen).toEqual([
      { path: '/present', authorization: basic },
      { path: '/cleanup', authorization: basic },
    ]);
    expect(reads).toEqual(['rs-cert-watchdog/dns/httpreq']);
  });
});

describe('DNS secrets and hooks where they cannot work', () => {
  const config = parseConfig({
    acme: { email: 'ops@example.com' },
    dns: [
      {
        provider: 'rfc2136',
        nameserver: '127.0.0.1:53',
        tsigKeyName: 'k',
        tsigSecretEnv: 'TSIG',
        zones: ['a.example.com'],
      },
      { provider: 'exec', command: ['/usr/local/bin/dns-hook'] },
    ],
    clusters: [
      {
        name: 'east',
        endpoint: 'https://east.example.com:9443',
        username: 'admin',
        passwordEnv: 'RS',
        certificates: {
          proxy: {
            domains: ['x.a.example.com'],
            dns: {
              provider: 'httpreq',
              endpoint: 'https://dns.example.com',
              username: 'u',
              passwordEnv: 'HTTPREQ_PW',
            },
          },
        },
      },
    ],
  });

  it('the CLI names every unset DNS variable before any network call', () => {
    expect(() => checkLocalInputs(config, { RS: 'pw' })).toThrow(
      /dns\[0\]\.tsigSecretEnv: the environment variable TSIG is not set[\s\S]*clusters\[0\]\.certificates\.proxy\.dns\.passwordEnv: the environment variable HTTPREQ_PW is not set/,
    );
    expect(() => checkLocalInputs(config, { RS: 'pw', TSIG: 'a2V5', HTTPREQ_PW: 'x' })).not.toThrow();
  });

  it('a Lambda refuses to run an exec hook (synth refuses it first)', async () => {
    const dns = dns01For(config, {
      env: {},
      allowExec: false,
      lookupFor: () => visible,
      readSecret: async () => '',
    })({
      cluster: 'east',
      certificate: 'cm',
    });
    await expect(
      dns.presentAll?.([{ fqdn: '_acme-challenge.www.example.org.', value: 'v' }]),
    ).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining('exec'),
    });
  });
});
