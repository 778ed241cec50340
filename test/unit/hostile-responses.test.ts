/**
 * Every answer a cluster gives is untrusted input: bounded before it is parsed, and checked for shape
 * after. A wrong answer is that cluster's BadResponseError or a certificate reported `invalid` with its
 * reason, never a silent omission and never a crash of the fleet check.
 */
import { describe, expect, it } from 'vitest';
import { parseBoundedJson, RS_JSON_LIMITS } from '../../lambdas/domain/bounded-json';
import { checkFleet } from '../../lambdas/domain/check';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import type { ClusterTransport, RawResponse } from '../../lambdas/domain/ports';
import { needsAttention } from '../../lambdas/domain/report';
import { RsClient } from '../../lambdas/domain/rs/client';
import { createCa, issueCert } from '../support/pki';

const transport = (answers: Record<string, RawResponse>): ClusterTransport => ({
  send: async (_method, path) => answers[path] ?? { status: 404, body: '{}' },
  close: () => undefined,
});
const ok = (body: unknown): RawResponse => ({
  status: 200,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('bounded JSON', () => {
  const limits = { maxLength: 1_000, maxDepth: 4, maxValues: 20 };

  it('parses documents within the limits', () => {
    expect(parseBoundedJson('{"a":[1,2,{"b":"[[[[[[,,,,"}]}', limits)).toEqual({
      ok: true,
      value: { a: [1, 2, { b: '[[[[[[,,,,' }] },
    });
    // Escaped quotes do not end a string: the brackets after them are still inside it.
    expect(parseBoundedJson('["\\"[[[[[[[["]', limits)).toMatchObject({ ok: true });
  });

  it('refuses depth, value count and size before parsing', () => {
    expect(parseBoundedJson('[[[[[1]]]]]', limits)).toMatchObject({ ok: false, reason: 'too-deep' });
    expect(parseBoundedJson(`[${'0,'.repeat(30)}0]`, limits)).toMatchObject({
      ok: false,
      reason: 'too-many-values',
    });
    expect(parseBoundedJson(' '.repeat(1_001), limits)).toMatchObject({ ok: false, reason: 'too-large' });
    expect(parseBoundedJson('{"a":', limits)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('refuses 7 MB of nested arrays without building them', () => {
    const text = `${'['.repeat(3_500_000)}${']'.repeat(3_500_000)}`;
    const before = process.memoryUsage().heapUsed;
    const result = parseBoundedJson(text, RS_JSON_LIMITS);
    expect(result).toMatchObject({ ok: false, reason: 'too-deep' });
    // JSON.parse of this text takes hundreds of MB; the scan allocates nothing of its size.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(16 * 1024 * 1024);
  });
});

describe('GET /v1/cluster/certificates shapes', () => {
  it.each([
    ['a 7 MB body of nested arrays', `${'['.repeat(3_500_000)}${']'.repeat(3_500_000)}`, /refused unparsed/],
    ['a flat list of 3 million values', `[${'0,'.repeat(3_000_000)}0]`, /refused unparsed/],
    ['an empty object', '{}', /named no certificate/],
    ['a list', '[]', /returned an array, not an object/],
    ['null', 'null', /returned null/],
    ['a string', '"api_cert"', /returned a string/],
    ['a number', '42', /returned a number/],
    ['an object without *_cert fields', '{"api_key":"x","name":"cluster"}', /named no certificate/],
  ])('%s is the cluster’s BadResponseError', async (_what, body, message) => {
    const client = new RsClient('east', transport({ '/v1/cluster/certificates': ok(body) }));
    const error = await client.getCertificates().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'BadResponseError', message: expect.stringMatching(message) });
  });

  it('marks every non-string *_cert or *_key invalid with its reason, never drops it', async () => {
    const ca = await createCa({ commonName: 'Shape CA' });
    const good = await issueCert({ ca, dnsNames: ['api.example.com'] });
    const client = new RsClient(
      'east',
      transport({
        '/v1/cluster/certificates': ok({
          api_cert: good.certPem,
          api_key: good.keyPem,
          proxy_cert: 42,
          cm_cert: null,
          syncer_cert: {},
          metrics_exporter_cert: ['-----BEGIN CERTIFICATE-----'],
          ldap_client_cert: good.certPem,
          ldap_client_key: false,
        }),
      }),
    );
    const set = await client.getCertificates();
    expect(set.names()).toEqual(['api', 'proxy', 'cm', 'syncer', 'metrics_exporter', 'ldap_client']);
    expect(set.fieldProblem('api')).toBeNull();
    expect(set.fieldProblem('proxy')).toBe('proxy_cert is a number, not a PEM string');
    expect(set.fieldProblem('cm')).toBe('cm_cert is null, not a PEM string');
    expect(set.fieldProblem('syncer')).toBe('syncer_cert is an object, not a PEM string');
    expect(set.fieldProblem('metrics_exporter')).toBe('metrics_exporter_cert is an array, not a PEM string');
    expect(set.fieldProblem('ldap_client')).toBe('ldap_client_key is a boolean, not a PEM string');
  });

  it('reports them invalid in a fleet check, with exit-worthy findings', async () => {
    const ca = await createCa({ commonName: 'Shape CA' });
    const good = await issueCert({ ca, dnsNames: ['api.example.com'] });
    const bodies: Record<string, RawResponse> = {
      east: ok({
        api_cert: good.certPem,
        api_key: good.keyPem,
        proxy_cert: 42,
        cm_cert: null,
        syncer_cert: {},
      }),
      west: ok({}),
      north: ok({ api_cert: good.certPem, api_key: good.keyPem }),
    };
    const config = {
      renewBeforeDays: 30,
      concurrency: 4,
      clusters: Object.keys(bodies).map((name) => ({
        name,
        endpoint: `https://${name}.example.com:9443`,
        username: 'u',
        password: 'p',
        timeoutSeconds: 5,
        certificates: {},
        probe: {},
      })),
    } as unknown as WatchdogConfig;
    const report = await checkFleet(config, {
      credentials: { resolve: async () => ({ username: 'u', password: 'p', caPem: undefined }) },
      connect: (connection) => transport({ '/v1/cluster/certificates': bodies[connection.cluster]! }),
    });
    const byName = Object.fromEntries(report.clusters.map((c) => [c.name, c]));
    const east = Object.fromEntries(byName.east!.certificates.map((c) => [c.name, c]));
    expect(Object.keys(east)).toEqual(['api', 'proxy', 'cm', 'syncer']);
    expect(east.api).toMatchObject({ status: 'ok', error: null });
    for (const [name, type] of [
      ['proxy', 'a number'],
      ['cm', 'null'],
      ['syncer', 'an object'],
    ] as const) {
      expect(east[name]).toMatchObject({
        status: 'invalid',
        error: { name: 'CertificateParseError', message: `${name}_cert is ${type}, not a PEM string` },
      });
    }
    expect(byName.west).toMatchObject({ error: { name: 'BadResponseError' }, certificates: [] });
    expect(byName.north).toMatchObject({ error: null });
    expect(needsAttention(report)).toBe(true);
    expect(needsAttention({ ...report, clusters: [byName.north!] })).toBe(false);
  });
});

describe('GET /v1/nodes shapes', () => {
  it('refuses an item it cannot name instead of skipping it', async () => {
    const client = new RsClient(
      'east',
      transport({ '/v1/nodes': ok([{ uid: 1, addr: '10.0.0.1', status: 'active' }, { uid: '2' }]) }),
    );
    await expect(client.getNodes()).rejects.toMatchObject({
      name: 'BadResponseError',
      message: expect.stringContaining('item #2'),
    });
  });

  it('refuses a deep body before parsing it', async () => {
    const client = new RsClient(
      'east',
      transport({ '/v1/nodes': ok(`${'['.repeat(100)}${']'.repeat(100)}`) }),
    );
    await expect(client.getNodes()).rejects.toMatchObject({ name: 'BadResponseError' });
  });
});
