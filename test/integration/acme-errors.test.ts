import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcmeIssuer } from '../../lambdas/adapters/acme/issuer';
import { HttpReqDnsProvider } from '../../lambdas/adapters/httpreq/dns-provider';
import { LocalDirectoryStore } from '../../lambdas/adapters/local-directory/state-directory';
import { StateStore } from '../../lambdas/domain/state';
import { type AcmeFaultProxy, startAcmeFaultProxy } from '../support/acme-fault-proxy';
import { type DnsBridge, startDnsBridge } from '../support/dns-bridge';
import { type PebbleEnv, startPebble } from '../support/pebble';

describe('ACME errors by name, against Pebble', () => {
  let pebble: PebbleEnv;
  let bridge: DnsBridge;
  let proxy: AcmeFaultProxy;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'acme-errors-'));
    pebble = await startPebble();
    bridge = await startDnsBridge(pebble.dns);
    proxy = await startAcmeFaultProxy(pebble, dir);
  });
  afterAll(async () => {
    await proxy.close();
    await bridge.close();
    await pebble.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const issuer = async (directoryUrl: string, caFile: string, state: string | StateStore) =>
    new AcmeIssuer({
      acme: { directoryUrl, email: 'ops@example.com', caFile, keyType: 'ecdsa-p256' },
      trustPem: await readFile(caFile, 'utf8'),
      dns: new HttpReqDnsProvider({ endpoint: bridge.url }),
      state: typeof state === 'string' ? new StateStore(new LocalDirectoryStore(join(dir, state))) : state,
    });

  it('issues through the proxy when nothing is injected', async () => {
    const pair = await (await issuer(proxy.directoryUrl, proxy.caFile, 'ok')).issue(
      ['proxy-ok.example.com'],
      'ecdsa-p256',
    );
    expect(pair.certificatePem).toContain('BEGIN CERTIFICATE');
  });

  it('reports rateLimited with the CA’s Retry-After and does not ask again', async () => {
    proxy.inject({
      path: /order-plz/,
      times: 1,
      status: 429,
      problem: {
        type: 'urn:ietf:params:acme:error:rateLimited',
        detail: 'too many certificates for this exact set of names',
      },
      headers: { 'Retry-After': '3600' },
    });
    const before = proxy.hits.filter((h) => /order-plz/.test(h.path)).length;
    const started = Date.now();
    const error = await (await issuer(proxy.directoryUrl, proxy.caFile, 'rl'))
      .issue(['rl.example.com'], 'ecdsa-p256')
      .catch((e: Error) => e);
    expect(error).toMatchObject({
      name: 'AcmeRateLimitedError',
      message: expect.stringMatching(/too many certificates/),
    });
    const retryAfter = (error as { retryAfter?: Date }).retryAfter!;
    expect(retryAfter.getTime() - started).toBeGreaterThan(3_500_000);
    expect(proxy.hits.filter((h) => /order-plz/.test(h.path)).length - before).toBe(1);
  });

  it('waits out a short Retry-After on 503 and succeeds', async () => {
    proxy.inject({
      path: /order-plz/,
      times: 1,
      status: 503,
      problem: { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'busy' },
      headers: { 'Retry-After': '1' },
    });
    const pair = await (await issuer(proxy.directoryUrl, proxy.caFile, 'busy')).issue(
      ['busy.example.com'],
      'ecdsa-p256',
    );
    expect(pair.certificatePem).toContain('BEGIN CERTIFICATE');
  });

  it('fails fast with AcmeTrustError when the ACME server is not trusted', async () => {
    const started = Date.now();
    const error = await (await issuer(pebble.directoryUrl, proxy.caFile, 'trust'))
      .issue(['trust.example.com'], 'ecdsa-p256')
      .catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'AcmeTrustError' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('reports a DNS record that never appears as AcmeValidationError naming the record', async () => {
    bridge.dropRecords = true;
    try {
      const error = await (await issuer(pebble.directoryUrl, pebble.caFile, 'dns'))
        .issue(['nodns.example.com'], 'ecdsa-p256')
        .catch((e: Error) => e);
      expect(error).toMatchObject({
        name: 'AcmeValidationError',
        record: '_acme-challenge.nodns.example.com.',
      });
    } finally {
      bridge.dropRecords = false;
    }
  });

  it('reports a nonce storm as AcmeBadNonceError after bounded retries', async () => {
    const storm = await startPebble({ nonceRejectPercent: 100 });
    try {
      const stormBridge = await startDnsBridge(storm.dns);
      const error = await new AcmeIssuer({
        acme: {
          directoryUrl: storm.directoryUrl,
          email: 'ops@example.com',
          caFile: storm.caFile,
          keyType: 'ecdsa-p256',
        },
        trustPem: await readFile(storm.caFile, 'utf8'),
        dns: new HttpReqDnsProvider({ endpoint: stormBridge.url }),
        state: new StateStore(new LocalDirectoryStore(join(dir, 'storm'))),
      })
        .issue(['storm.example.com'], 'ecdsa-p256')
        .catch((e: Error) => e);
      await stormBridge.close();
      expect(error).toMatchObject({ name: 'AcmeBadNonceError' });
    } finally {
      await storm.stop();
    }
  });

  it('lets concurrent first runs share one state store and one account, as the Map does', async () => {
    const state = new StateStore(new LocalDirectoryStore(join(dir, 'concurrent')));
    const make = () => issuer(pebble.directoryUrl, pebble.caFile, state);
    const pairs = await Promise.all(
      ['c1', 'c2', 'c3'].map(async (n) => (await make()).issue([`${n}.example.com`], 'ecdsa-p256')),
    );
    expect(pairs).toHaveLength(3);
    const account = await state.account(pebble.directoryUrl);
    expect(account?.accountUrl).toMatch(/^https:/);
    expect(pairs.every((p) => p.certificatePem.includes('BEGIN CERTIFICATE'))).toBe(true);
  });

  it('keeps one ACME account per directory: created once, reused', async () => {
    const state = new StateStore(new LocalDirectoryStore(join(dir, 'account')));
    const make = () => issuer(pebble.directoryUrl, pebble.caFile, state);
    await (await make()).issue(['acct1.example.com'], 'ecdsa-p256');
    const first = await state.account(pebble.directoryUrl);
    await (await make()).issue(['acct2.example.com'], 'ecdsa-p256');
    const second = await state.account(pebble.directoryUrl);
    expect(first?.accountUrl).toMatch(/^https:/);
    expect(second).toEqual(first);
  });
});
