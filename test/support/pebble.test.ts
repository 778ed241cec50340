import { X509Certificate } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import tls from 'node:tls';
import acme from 'acme-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DnsBridge, startDnsBridge } from './dns-bridge';
import { type PebbleEnv, startPebble } from './pebble';

let pebble: PebbleEnv;
let bridge: DnsBridge;
let agent: https.Agent | undefined;
const savedAgent = acme.axios.defaults.httpsAgent;

beforeAll(async () => {
  pebble = await startPebble();
  bridge = await startDnsBridge(pebble.dns, { username: 'lego', password: 's3cret' });
  // acme-client trust: its shared axios instance is the only place to put it (see pebble.ts header).
  agent = new https.Agent({
    keepAlive: true,
    secureContext: tls.createSecureContext({ ca: [...tls.rootCertificates, pebble.tlsCaPem] }),
  });
  acme.axios.defaults.httpsAgent = agent;
});

afterAll(async () => {
  acme.axios.defaults.httpsAgent = savedAgent;
  agent?.destroy();
  await bridge?.close();
  await pebble?.stop();
});

const basicAuth = `Basic ${Buffer.from('lego:s3cret').toString('base64')}`;

async function bridgePost(op: 'present' | 'cleanup', fqdn: string, value: string, auth = basicAuth) {
  return fetch(`${bridge.url}/${op}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: auth },
    body: JSON.stringify({ fqdn, value }),
  });
}

async function txt(name: string): Promise<string[]> {
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([pebble.dns.dnsAddress]);
  try {
    return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
  } catch {
    return [];
  }
}

describe('Pebble + dns-bridge', () => {
  it('issues a certificate through one DNS-01 order (explicit acme-client flow)', async () => {
    const client = new acme.Client({
      directoryUrl: pebble.directoryUrl,
      accountKey: await acme.crypto.createPrivateEcdsaKey(),
      // Pebble validates in milliseconds with PEBBLE_VA_NOSLEEP: poll fast instead of the 5 s default.
      backoffAttempts: 20,
      backoffMin: 20,
      backoffMax: 500,
    });
    await client.createAccount({ termsOfServiceAgreed: true });
    const names = ['smoke.example.com', '*.smoke.example.com'];
    let order = await client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })) });
    const authzs = await client.getAuthorizations(order);

    // Present every record first: the apex and the wildcard share one _acme-challenge name.
    const pending = [];
    for (const authz of authzs) {
      if (authz.status === 'valid') continue;
      const challenge = authz.challenges.find((c) => c.type === 'dns-01');
      if (!challenge) throw new Error(`no dns-01 challenge for ${authz.identifier.value}`);
      const value = await client.getChallengeKeyAuthorization(challenge);
      const fqdn = `_acme-challenge.${authz.identifier.value}.`;
      const res = await bridgePost('present', fqdn, value);
      expect(res.status).toBe(200);
      pending.push({ challenge, fqdn, value });
    }
    expect(pending).toHaveLength(2);
    expect((await txt('_acme-challenge.smoke.example.com')).sort()).toEqual(
      pending.map((p) => p.value).sort(),
    );

    for (const { challenge } of pending) await client.completeChallenge(challenge);
    for (const { challenge } of pending) await client.waitForValidStatus(challenge);
    for (const { fqdn, value } of pending)
      expect((await bridgePost('cleanup', fqdn, value)).status).toBe(200);

    const [, csr] = await acme.crypto.createCsr(
      { commonName: names[0], altNames: names },
      await acme.crypto.createPrivateEcdsaKey(),
    );
    order = await client.finalizeOrder(order, csr);
    order = await client.waitForValidStatus(order);
    const chainPem = await client.getCertificate(order);

    const [leafPem, interPem] = acme.crypto.splitPemChain(chainPem);
    const leaf = new X509Certificate(leafPem ?? '');
    const inter = new X509Certificate(interPem ?? '');
    const root = new X509Certificate(pebble.issuingRootPem);
    expect(leaf.checkIssued(inter) && leaf.verify(inter.publicKey)).toBe(true);
    expect(inter.checkIssued(root) && inter.verify(root.publicKey)).toBe(true);
    expect(inter.fingerprint256).toBe(new X509Certificate(pebble.issuingIntermediatePem).fingerprint256);
    expect(leaf.subjectAltName).toBe('DNS:smoke.example.com, DNS:*.smoke.example.com');

    expect(bridge.calls.map((c) => [c.op, c.fqdn, c.status])).toEqual([
      ['present', '_acme-challenge.smoke.example.com.', 200],
      ['present', '_acme-challenge.smoke.example.com.', 200],
      ['cleanup', '_acme-challenge.smoke.example.com.', 200],
      ['cleanup', '_acme-challenge.smoke.example.com.', 200],
    ]);
    expect(await txt('_acme-challenge.smoke.example.com')).toEqual([]);

    const bundle = await readFile(pebble.caFile, 'utf8');
    for (const pem of [pebble.tlsCaPem, pebble.issuingRootPem, pebble.issuingIntermediatePem]) {
      expect(bundle).toContain(pem.trim());
    }
  });

  it('bridge: basic auth, failNext and dropRecords', async () => {
    bridge.calls.length = 0;
    const fqdn = '_acme-challenge.faults.example.com.';
    expect((await bridgePost('present', fqdn, 'x', 'Basic bm9wZTpub3Bl')).status).toBe(401);

    bridge.failNext(2);
    expect((await bridgePost('present', fqdn, 'a')).status).toBe(500);
    expect((await bridgePost('present', fqdn, 'b')).status).toBe(500);
    expect((await bridgePost('present', fqdn, 'c')).status).toBe(200);
    expect(await txt(fqdn)).toEqual(['c']);
    expect((await bridgePost('cleanup', fqdn, 'c')).status).toBe(200);

    bridge.dropRecords = true;
    try {
      expect((await bridgePost('present', fqdn, 'd')).status).toBe(200);
      expect(await txt(fqdn)).toEqual([]);
    } finally {
      bridge.dropRecords = false;
    }
    expect(bridge.calls.map((c) => `${c.op}:${c.value}:${c.status}`)).toEqual([
      'present:a:500',
      'present:b:500',
      'present:c:200',
      'cleanup:c:200',
      'present:d:200',
    ]);
  });
});
