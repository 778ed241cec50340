/**
 * The CSR the ACME issuer sends (lambdas/adapters/keys/csr.ts, node:crypto and our DER writer) is
 * accepted by a real CA: Pebble finalizes the order for each key type the config allows, and the
 * certificate it issues carries every name asked for, for the key we made.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcmeIssuer } from '../../lambdas/adapters/acme/issuer';
import { HttpReqDnsProvider } from '../../lambdas/adapters/httpreq/dns-provider';
import { LocalDirectoryStore } from '../../lambdas/adapters/local-directory/state-directory';
import type { KeyType } from '../../lambdas/domain/config/types';
import { StateStore } from '../../lambdas/domain/state';
import { type DnsBridge, startDnsBridge } from '../support/dns-bridge';
import { type PebbleEnv, startPebble } from '../support/pebble';

describe('our CSR against Pebble', () => {
  let pebble: PebbleEnv;
  let bridge: DnsBridge;
  let dir: string;
  let issuer: AcmeIssuer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'csr-pebble-'));
    pebble = await startPebble();
    bridge = await startDnsBridge(pebble.dns);
    issuer = new AcmeIssuer({
      acme: {
        directoryUrl: pebble.directoryUrl,
        email: 'ops@example.com',
        caFile: pebble.caFile,
        keyType: 'rsa-2048',
      },
      trustPem: await readFile(pebble.caFile, 'utf8'),
      dns: new HttpReqDnsProvider({ endpoint: bridge.url }),
      state: new StateStore(new LocalDirectoryStore(join(dir, 'state'))),
    });
  });
  afterAll(async () => {
    await bridge?.close();
    await pebble?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const long = `${'n'.repeat(60)}.csr.example.com`; // 77 characters: no room in a CN

  it.each<[KeyType, string[]]>([
    ['rsa-2048', ['*.rsa.csr.example.com', 'rsa.csr.example.com']],
    ['ecdsa-p256', ['*.ec.csr.example.com', 'ec.csr.example.com', 'node-1.ec.csr.example.com']],
    ['ecdsa-p256', [long, 'short.csr.example.com']],
  ])('%s %j: Pebble issues a certificate for every name, for our key', async (keyType, names) => {
    const { certificatePem, keyPem } = await issuer.issue(names, keyType);
    const leaf = new X509Certificate(certificatePem);
    expect(leaf.subjectAltName?.split(', ').sort()).toEqual(names.map((n) => `DNS:${n}`).sort());
    expect(leaf.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(leaf.publicKey.asymmetricKeyType).toBe(keyType === 'rsa-2048' ? 'rsa' : 'ec');
    // RS documents PKCS#1 for RSA keys; ECDSA keys stay PKCS#8.
    expect(keyPem).toMatch(keyType === 'rsa-2048' ? /BEGIN RSA PRIVATE KEY/ : /BEGIN PRIVATE KEY/);
  });
});
