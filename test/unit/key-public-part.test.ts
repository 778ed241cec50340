/**
 * The check's key match from the public half a private key carries (lambdas/domain/key-public-part.ts)
 * must agree with OpenSSL's verdict (X509Certificate.checkPrivateKey) for every key format RS can
 * hold, and step aside (undefined) for anything it does not read.
 */
import { generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { clearInspectionCache, keyMatchesLeafPem } from '../../lambdas/domain/certificate';
import { publicKeyMatches, publicPartOfKeyDer } from '../../lambdas/domain/key-public-part';
import { createCa, issueCert } from '../support/pki';

type Format = 'pkcs1' | 'pkcs8' | 'sec1';

function der(key: KeyObject, type: Format): Buffer {
  return key.export({ format: 'der', type } as never) as Buffer;
}

function pem(key: KeyObject, type: Format): string {
  return key.export({ format: 'pem', type } as never).toString();
}

describe('public half of a private key', () => {
  let rsaLeaf: { chainPem: string; keyPem: string };
  let otherRsa: KeyObject;
  let ec: { privateKey: KeyObject; publicKey: KeyObject };
  let otherEc: KeyObject;

  beforeAll(async () => {
    const ca = await createCa();
    rsaLeaf = await issueCert({ ca, dnsNames: ['a.example.com'], freshKey: true });
    otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    otherEc = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  });

  it('agrees with OpenSSL for RSA keys in PKCS#1 and PKCS#8, matching or not', async () => {
    const leaf = new X509Certificate(rsaLeaf.chainPem);
    const { createPrivateKey } = await import('node:crypto');
    const own = createPrivateKey(rsaLeaf.keyPem);
    for (const key of [own, otherRsa]) {
      for (const type of ['pkcs1', 'pkcs8'] as const) {
        const part = publicPartOfKeyDer(der(key, type), type);
        expect(part?.kind, type).toBe('rsa');
        expect(publicKeyMatches(leaf.publicKey, part!), type).toBe(leaf.checkPrivateKey(key));
      }
    }
  });

  it('agrees with OpenSSL for EC keys in SEC1 and PKCS#8', () => {
    for (const key of [ec.privateKey, otherEc]) {
      for (const type of ['sec1', 'pkcs8'] as const) {
        const part = publicPartOfKeyDer(der(key, type), type);
        expect(part?.kind, type).toBe('ec');
        expect(publicKeyMatches(ec.publicKey, part!), type).toBe(key === ec.privateKey);
      }
    }
  });

  it('never calls an RSA key a match for an EC certificate key, or the reverse', () => {
    const rsaPart = publicPartOfKeyDer(der(otherRsa, 'pkcs1'), 'pkcs1')!;
    const ecPart = publicPartOfKeyDer(der(ec.privateKey, 'sec1'), 'sec1')!;
    expect(publicKeyMatches(ec.publicKey, rsaPart)).toBe(false);
    expect(publicKeyMatches(new X509Certificate(rsaLeaf.chainPem).publicKey, ecPart)).toBe(false);
  });

  it('steps aside for what it does not read: truncated or trailing bytes, another algorithm, no public point', () => {
    const rsa = der(otherRsa, 'pkcs1');
    expect(publicPartOfKeyDer(rsa.subarray(0, rsa.length - 10), 'pkcs1')).toBeUndefined();
    expect(publicPartOfKeyDer(Buffer.concat([rsa, Buffer.of(0)]), 'pkcs1')).toBeUndefined();
    expect(publicPartOfKeyDer(Buffer.from('not a key'), 'pkcs8')).toBeUndefined();
    const ed25519 = generateKeyPairSync('ed25519').privateKey;
    expect(publicPartOfKeyDer(der(ed25519, 'pkcs8'), 'pkcs8')).toBeUndefined();
    // An ECPrivateKey without its optional publicKey field: the point is not there to compare.
    const sec1 = der(ec.privateKey, 'sec1');
    const at = sec1.length - 70; // [1] { BIT STRING 00 04 x y } is the last 70 bytes of a P-256 key
    expect(sec1[at]).toBe(0xa1);
    const trimmed = Buffer.concat([Buffer.of(0x30, at - 2), sec1.subarray(2, at)]);
    expect(publicPartOfKeyDer(trimmed, 'sec1')).toBeUndefined();
  });

  it('drives the check: keyMatchesLeafPem gives OpenSSL answers without a private-key parse', () => {
    clearInspectionCache();
    expect(keyMatchesLeafPem(rsaLeaf.chainPem, rsaLeaf.keyPem)).toBe(true);
    expect(keyMatchesLeafPem(rsaLeaf.chainPem, pem(otherRsa, 'pkcs8'))).toBe(false);
    expect(() =>
      keyMatchesLeafPem(rsaLeaf.chainPem, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----'),
    ).toThrow('the private key does not parse');
  });
});
