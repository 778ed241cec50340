/**
 * wiring/dns01 as the issue function and the CLI build it (issue 18 item 14): an httpreq password
 * from Secrets Manager (`passwordSecret`) reaches the endpoint as Basic authentication, read once;
 * the CLI checks every DNS environment variable up front (exit 2 before any network call); the
 * Lambdas refuse an exec hook.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
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

describe('providers per cluster, with the AWS SDK mocked', () => {
  it("sends each cluster's challenges to its own provider: Route 53 zones by name for one, httpreq for the other", async () => {
    const route53 = mockClient(Route53Client);
    route53.on(ListHostedZonesByNameCommand).callsFake((input: { DNSName?: string }) => ({
      HostedZones:
        input.DNSName === 'east.example.com.'
          ? [
              {
                Id: '/hostedzone/ZEAST',
                Name: 'east.example.com.',
                CallerReference: 'x',
                Config: { PrivateZone: false },
              },
            ]
          : [],
      IsTruncated: false,
    }));
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [] });
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C', Status: 'PENDING', SubmittedAt: new Date() } });
    route53
      .on(GetChangeCommand)
      .resolves({ ChangeInfo: { Id: '/change/C', Status: 'INSYNC', SubmittedAt: new Date() } });
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push(`${req.url} ${(JSON.parse(body) as { fqdn: string }).fqdn}`);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const cluster = (name: string, dns?: unknown) => ({
        name,
        endpoint: `https://${name}.example.com:9443`,
        credentialsSecret: `rs/${name}`,
        ...(dns ? { dns } : {}),
        certificates: { proxy: { domains: [`*.${name}.example.com`] } },
      });
      const config = parseConfig({
        acme: { email: 'ops@example.com' },
        dns: { provider: 'httpreq', endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
        clusters: [cluster('east', { provider: 'route53' }), cluster('west')],
      });
      const dnsFor = dns01For(config, {
        env: {},
        allowExec: false,
        lookupFor: () => visible,
        readSecret: async () => '',
      });
      await dnsFor({ cluster: 'east', certificate: 'proxy' }).present(
        '_acme-challenge.east.example.com.',
        'v1',
      );
      await dnsFor({ cluster: 'west', certificate: 'proxy' }).present(
        '_acme-challenge.west.example.com.',
        'v2',
      );
      expect(
        route53
          .commandCalls(ChangeResourceRecordSetsCommand)
          .map((c) => [
            c.args[0].input.HostedZoneId,
            c.args[0].input.ChangeBatch?.Changes?.[0]?.ResourceRecordSet?.Name,
          ]),
      ).toEqual([['ZEAST', '_acme-challenge.east.example.com.']]);
      expect(seen).toEqual(['/present _acme-challenge.west.example.com.']);
    } finally {
      route53.restore();
      await new Promise<void>((r) => server.close(() => r()));
    }
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
