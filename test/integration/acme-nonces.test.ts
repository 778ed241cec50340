/**
 * acme-client asks the CA for a new nonce (HEAD new-nonce) before every signed request; the HTTP
 * guard answers those from the Replay-Nonce of earlier answers instead (RFC 8555 §6.5). Counted
 * against Pebble through a recording proxy: one HEAD per order instead of one per request, every
 * nonce used once, and the badNonce retry still recovers.
 */
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

describe('ACME nonces come from earlier answers, not from a HEAD per request', () => {
  let pebble: PebbleEnv;
  let bridge: DnsBridge;
  let proxy: AcmeFaultProxy;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'acme-nonces-'));
    pebble = await startPebble({ nonceRejectPercent: 0 });
    bridge = await startDnsBridge(pebble.dns);
    proxy = await startAcmeFaultProxy(pebble, dir);
  });
  afterAll(async () => {
    await proxy.close();
    await bridge.close();
    await pebble.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const issue = async (state: string, domain: string) => {
    const issuer = new AcmeIssuer({
      acme: {
        directoryUrl: proxy.directoryUrl,
        email: 'ops@example.com',
        caFile: proxy.caFile,
        keyType: 'ecdsa-p256',
      },
      trustPem: await readFile(proxy.caFile, 'utf8'),
      dns: new HttpReqDnsProvider({ endpoint: bridge.url }),
      state: new StateStore(new LocalDirectoryStore(join(dir, state))),
    });
    const from = proxy.hits.length;
    const pair = await issuer.issue([domain], 'ecdsa-p256');
    return { pair, hits: proxy.hits.slice(from) };
  };

  it('sends one HEAD new-nonce for a whole order, and no nonce twice', async () => {
    const { pair, hits } = await issue('one-head', 'one-head.example.com');
    expect(pair.certificatePem).toContain('BEGIN CERTIFICATE');
    const heads = hits.filter((h) => h.method === 'HEAD' && /nonce/.test(h.path));
    const signed = hits.filter((h) => h.method === 'POST');
    // new-account, new-order, authorization, challenge, polls, finalize, order, certificate.
    expect(signed.length).toBeGreaterThanOrEqual(7);
    // acme-client alone sends one HEAD per signed request.
    expect(heads.length).toBeLessThanOrEqual(1);
    const nonces = signed.map((h) => h.nonce);
    expect(nonces.every((n) => typeof n === 'string')).toBe(true);
    expect(new Set(nonces).size).toBe(nonces.length);
    expect(signed.every((h) => h.status < 400)).toBe(true);
  });

  it('still recovers from a badNonce answer (acme-client retries, then a pooled or fetched nonce)', async () => {
    proxy.inject({
      path: /order-plz/,
      times: 1,
      status: 400,
      problem: {
        type: 'urn:ietf:params:acme:error:badNonce',
        detail: 'JWS has an invalid anti-replay nonce',
      },
    });
    const { pair, hits } = await issue('bad-nonce', 'bad-nonce.example.com');
    expect(pair.certificatePem).toContain('BEGIN CERTIFICATE');
    const orders = hits.filter((h) => /order-plz/.test(h.path));
    expect(orders.map((h) => h.status)).toEqual([400, 201]);
    const nonces = hits.filter((h) => h.method === 'POST').map((h) => h.nonce);
    expect(new Set(nonces).size).toBe(nonces.length);
  });
});
