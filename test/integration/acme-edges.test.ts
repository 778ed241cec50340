/**
 * The ACME side's edges, against Pebble: every response is capped while it arrives (a chain at most
 * 1 MB, other answers 256 KB) and refused by name; every DNS-01 record of an order is published in
 * parallel with one propagation wait, and every record asked for is removed whatever happened.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME_MAX_CHAIN_BYTES, ACME_MAX_JSON_BYTES } from '../../lambdas/adapters/acme/http-guard';
import { AcmeIssuer } from '../../lambdas/adapters/acme/issuer';
import { HttpReqDnsProvider } from '../../lambdas/adapters/httpreq/dns-provider';
import { LocalDirectoryStore } from '../../lambdas/adapters/local-directory/state-directory';
import { DnsProviderError } from '../../lambdas/domain/errors';
import type { DnsProvider, DnsRecord } from '../../lambdas/domain/ports';
import { StateStore } from '../../lambdas/domain/state';
import { type AcmeFaultProxy, startAcmeFaultProxy } from '../support/acme-fault-proxy';
import { type DnsBridge, startDnsBridge } from '../support/dns-bridge';
import { type PebbleEnv, startPebble } from '../support/pebble';

describe('ACME edges against Pebble', () => {
  let pebble: PebbleEnv;
  let bridge: DnsBridge;
  let proxy: AcmeFaultProxy;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'acme-edges-'));
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

  const issuer = async (state: string, dns?: DnsProvider) =>
    new AcmeIssuer({
      acme: {
        directoryUrl: proxy.directoryUrl,
        email: 'ops@example.com',
        caFile: proxy.caFile,
        keyType: 'ecdsa-p256',
      },
      trustPem: await readFile(proxy.caFile, 'utf8'),
      dns: dns ?? new HttpReqDnsProvider({ endpoint: bridge.url }),
      state: new StateStore(new LocalDirectoryStore(join(dir, state))),
    });

  it('refuses a certificate download larger than 1 MB by name', async () => {
    proxy.inject({
      path: /certZ/,
      times: 1,
      transformBody: (pem) => pem + '\n'.repeat(ACME_MAX_CHAIN_BYTES + 1),
    });
    const error = await (await issuer('big-chain'))
      .issue(['big-chain.example.com'], 'ecdsa-p256')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'AcmeResponseTooLargeError',
      message: expect.stringMatching(new RegExp(`larger than ${ACME_MAX_CHAIN_BYTES} bytes to /certZ/`)),
      hint: expect.stringContaining('1 MB'),
    });
  });

  it('accepts a chain above the JSON cap but under 1 MB: the caps are per response', async () => {
    proxy.inject({
      path: /certZ/,
      times: 1,
      transformBody: (pem) => pem + '\n'.repeat(ACME_MAX_JSON_BYTES * 2),
    });
    const pair = await (await issuer('mid-chain')).issue(['mid-chain.example.com'], 'ecdsa-p256');
    expect(pair.certificatePem.length).toBeGreaterThan(ACME_MAX_JSON_BYTES * 2);
  });

  it('refuses a JSON answer over 256 KB (a new order) by name, without retrying it', async () => {
    proxy.inject({
      path: /order-plz/,
      times: 1,
      transformBody: (json) => json.replace(/^\{/, `{"padding":"${'x'.repeat(ACME_MAX_JSON_BYTES)}",`),
    });
    const before = proxy.hits.filter((h) => /order-plz/.test(h.path)).length;
    const error = await (await issuer('big-json'))
      .issue(['big-json.example.com'], 'ecdsa-p256')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'AcmeResponseTooLargeError',
      message: expect.stringMatching(new RegExp(`larger than ${ACME_MAX_JSON_BYTES} bytes`)),
    });
    expect(proxy.hits.filter((h) => /order-plz/.test(h.path)).length - before).toBe(1);
  });

  /** Records what the issuer asks of a DNS provider, over the real bridge. */
  class RecordingDns implements DnsProvider {
    readonly presented: DnsRecord[] = [];
    readonly cleaned: DnsRecord[] = [];
    inFlight = 0;
    maxInFlight = 0;
    readonly inner = new HttpReqDnsProvider({ endpoint: bridge.url });
    constructor(private readonly failOn?: (record: DnsRecord) => boolean) {}
    async present(fqdn: string, value: string): Promise<void> {
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      try {
        await this.inner.present(fqdn, value);
        this.presented.push({ fqdn, value });
        // Applied, then the propagation wait fails: the record exists although present threw.
        if (this.failOn?.({ fqdn, value })) throw new DnsProviderError(`propagation of ${fqdn} timed out`);
        // Let the other names' calls start before this one ends (a propagation wait).
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        this.inFlight--;
      }
    }
    async cleanup(fqdn: string, value: string): Promise<void> {
      this.cleaned.push({ fqdn, value });
      await this.inner.cleanup(fqdn, value);
    }
  }

  it('publishes the records of every name in parallel, then validates', async () => {
    const dns = new RecordingDns();
    const names = ['p1.example.com', 'p2.example.com', 'p3.example.com'];
    const pair = await (await issuer('parallel', dns)).issue(names, 'ecdsa-p256');
    expect(pair.certificatePem).toContain('BEGIN CERTIFICATE');
    expect(dns.presented.map((r) => r.fqdn).sort()).toEqual(names.map((n) => `_acme-challenge.${n}.`));
    expect(dns.maxInFlight).toBe(3);
    expect(dns.cleaned.map((r) => r.value).sort()).toEqual(dns.presented.map((r) => r.value).sort());
  });

  it('removes every record it asked for when one publication fails after being applied', async () => {
    const dns = new RecordingDns((r) => r.fqdn.startsWith('_acme-challenge.q2.'));
    const error = await (await issuer('partial', dns))
      .issue(['q1.example.com', 'q2.example.com', 'q3.example.com'], 'ecdsa-p256')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'DnsProviderError', message: expect.stringContaining('q2') });
    expect(dns.presented).toHaveLength(3);
    // q2's record was applied although its present() failed: it is removed too.
    expect(dns.cleaned.map((r) => r.fqdn).sort()).toEqual(dns.presented.map((r) => r.fqdn).sort());
  });

  it('hands every record to presentAll at once when the provider has it', async () => {
    const inner = new HttpReqDnsProvider({ endpoint: bridge.url });
    const batches: DnsRecord[][] = [];
    const cleaned: DnsRecord[] = [];
    const dns: DnsProvider = {
      present: () => Promise.reject(new Error('present must not be called when presentAll exists')),
      presentAll: async (records) => {
        batches.push([...records]);
        for (const r of records) await inner.present(r.fqdn, r.value);
      },
      cleanup: async (fqdn, value) => {
        cleaned.push({ fqdn, value });
        await inner.cleanup(fqdn, value);
      },
    };
    await (await issuer('batch', dns)).issue(['b1.example.com', 'b2.example.com'], 'ecdsa-p256');
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((r) => r.fqdn).sort()).toEqual([
      '_acme-challenge.b1.example.com.',
      '_acme-challenge.b2.example.com.',
    ]);
    expect(cleaned).toHaveLength(2);
  });
});
