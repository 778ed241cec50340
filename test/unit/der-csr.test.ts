/**
 * The DER writer and the PKCS#10 requests built on it (lambdas/adapters/keys/der.ts, csr.ts): known
 * encodings from X.690 and RFC 5280, and every request read back by OpenSSL (`openssl req -verify
 * -text`, the signature checked) and by an independent ASN.1 parser (node-forge's).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { createCsrDer, createCsrPem } from '../../lambdas/adapters/keys/csr';
import {
  bitString,
  contextTag,
  encodeLength,
  ia5String,
  integer,
  nullValue,
  octetString,
  oid,
  pem,
  printableString,
  sequence,
  setOf,
  unsignedInteger,
  utf8String,
} from '../../lambdas/adapters/keys/der';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('DER writer', () => {
  it('writes short and long definite lengths', () => {
    expect(hex(encodeLength(0))).toBe('00');
    expect(hex(encodeLength(127))).toBe('7f');
    expect(hex(encodeLength(128))).toBe('8180');
    expect(hex(encodeLength(255))).toBe('81ff');
    expect(hex(encodeLength(256))).toBe('820100');
    expect(hex(encodeLength(65_536))).toBe('83010000');
    expect(() => encodeLength(-1)).toThrow(RangeError);
    const long = octetString(Buffer.alloc(300, 1));
    expect(hex(long.subarray(0, 4))).toBe('0482012c');
    expect(long.length).toBe(304);
  });

  it('writes INTEGERs in the fewest two’s-complement octets', () => {
    expect(hex(integer(0))).toBe('020100');
    expect(hex(integer(127))).toBe('02017f');
    expect(hex(integer(128))).toBe('02020080');
    expect(hex(integer(256))).toBe('02020100');
    expect(hex(integer(65_537))).toBe('0203010001');
    expect(hex(integer(-1))).toBe('0201ff');
    expect(hex(integer(-128))).toBe('020180');
    expect(hex(integer(-129))).toBe('0202ff7f');
    expect(hex(integer(-256))).toBe('0202ff00');
    expect(hex(integer(2n ** 64n))).toBe('0209010000000000000000');
    expect(() => integer(2 ** 60)).toThrow(RangeError);
    // Unsigned magnitudes (serials, moduli): leading zeros dropped, a zero added before a set top bit.
    expect(hex(unsignedInteger(Buffer.from('000087654321', 'hex')))).toBe('02050087654321');
    expect(hex(unsignedInteger(Buffer.from('0000', 'hex')))).toBe('020100');
    expect(hex(unsignedInteger(Buffer.from('7f', 'hex')))).toBe('02017f');
  });

  it('writes OBJECT IDENTIFIERs (X.690 §8.19)', () => {
    expect(hex(oid('2.5.4.3'))).toBe('0603550403');
    expect(hex(oid('1.2.840.113549.1.1.11'))).toBe('06092a864886f70d01010b');
    expect(hex(oid('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302');
    expect(hex(oid('2.5.29.17'))).toBe('0603551d11');
    // First arc 2 lets the second exceed 39: 2.999 → 88 37.
    expect(hex(oid('2.999.3'))).toBe('0603883703');
    for (const bad of ['1', '3.1', '1.40', '1.2.', '1..2', '1.02', 'a.b'])
      expect(() => oid(bad), bad).toThrow(RangeError);
  });

  it('writes strings, NULL, BIT STRING, SEQUENCE, SET OF and context tags', () => {
    expect(hex(printableString('Ab 1'))).toBe('130441622031');
    expect(() => printableString('*.x')).toThrow(RangeError);
    expect(hex(utf8String('é'))).toBe('0c02c3a9');
    expect(hex(ia5String('a.b'))).toBe('1603612e62');
    expect(() => ia5String('bücher.example')).toThrow(/punycode/);
    expect(hex(nullValue())).toBe('0500');
    expect(hex(bitString(Buffer.from([0xff])))).toBe('030200ff');
    expect(hex(bitString(Buffer.from([0xf0]), 4))).toBe('030204f0');
    expect(() => bitString(Buffer.alloc(0), 1)).toThrow(RangeError);
    expect(hex(sequence())).toBe('3000');
    expect(hex(sequence(integer(1), nullValue()))).toBe('30050201010500');
    // SET OF sorts its elements by encoding.
    expect(hex(setOf(integer(2), integer(1)))).toBe('3106020101020102');
    expect(hex(contextTag(2, Buffer.from('a.b'), 'implicit-primitive'))).toBe('8203612e62');
    expect(hex(contextTag(0, integer(2), 'explicit'))).toBe('a003020102');
    expect(() => contextTag(31, Buffer.alloc(0), 'explicit')).toThrow(RangeError);
  });

  it('wraps DER in PEM lines of 64 characters', () => {
    const text = pem('TEST', Buffer.alloc(100, 7));
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe('-----BEGIN TEST-----');
    expect(lines.at(-1)).toBe('-----END TEST-----');
    expect(lines.slice(1, -1).map((l) => l.length)).toEqual([64, 64, 8]);
  });
});

/**
 * `openssl req -verify -text`: the text, or a throw unless OpenSSL says the self-signature verifies
 * (OpenSSL 3.0 exits 0 on "verify failure": its message is what tells).
 */
function openssl(csrPem: string): { text: string } {
  const run = spawnSync('openssl', ['req', '-noout', '-text', '-verify'], {
    input: csrPem,
    encoding: 'utf8',
  });
  if (run.status !== 0 || !/self-signature verify OK/.test(run.stderr))
    throw new Error(`openssl req -verify: exit ${run.status}: ${run.stderr.trim()}`);
  return { text: run.stdout };
}

const KEYS: Array<[string, () => KeyObject]> = [
  ['RSA-2048 (the config’s rsa-2048)', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
  [
    'ECDSA P-256 (the config’s ecdsa-p256)',
    () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  ],
  ['RSA-3072', () => generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey],
  ['ECDSA P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey],
  ['ECDSA P-521', () => generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey],
];

const SIGNATURE: Record<string, RegExp> = {
  rsa: /Signature Algorithm: sha256WithRSAEncryption/,
  prime256v1: /Signature Algorithm: ecdsa-with-SHA256/,
  secp384r1: /Signature Algorithm: ecdsa-with-SHA384/,
  secp521r1: /Signature Algorithm: ecdsa-with-SHA512/,
};

describe('CSR (PKCS#10) from node:crypto and the DER writer', () => {
  it.each(KEYS)('%s: OpenSSL verifies the signature and reads the CN and every dNSName', (_, makeKey) => {
    const privateKey = makeKey();
    const domains = ['*.redis.example.com', 'redis.example.com', 'node-1.redis.example.com'];
    const csrPem = createCsrPem({ domains, privateKey });
    expect(csrPem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
    const { text } = openssl(csrPem);
    expect(text).toMatch(/Version: 1 \(0x0\)/);
    expect(text).toMatch(/Subject: CN ?= ?\*\.redis\.example\.com\n/);
    expect(text).toContain('DNS:*.redis.example.com, DNS:redis.example.com, DNS:node-1.redis.example.com');
    const curve = privateKey.asymmetricKeyDetails?.namedCurve ?? 'rsa';
    expect(text).toMatch(SIGNATURE[curve] as RegExp);
    // The public key in the request is the key's own.
    const pub = execFileSync('openssl', ['req', '-noout', '-pubkey'], { input: csrPem, encoding: 'utf8' });
    expect(pub.trim()).toBe(
      createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString().trim(),
    );
  });

  it('OpenSSL refuses a request whose signed part was altered (the check above can fail)', () => {
    const privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const der = createCsrDer({ domains: ['api.example.com'], privateKey });
    const at = der.indexOf(Buffer.from('api.example.com'));
    der[at] = 'b'.charCodeAt(0); // bpi.example.com, the signature unchanged
    expect(() => openssl(pem('CERTIFICATE REQUEST', der))).toThrow(/verify failure/);
  });

  it('an independent parser (node-forge) reads the same names and accepts the RSA signature', () => {
    const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const domains = ['api.example.com', 'www.example.com'];
    const csr = forge.pki.certificationRequestFromPem(createCsrPem({ domains, privateKey }));
    expect(csr.verify()).toBe(true);
    expect(csr.subject.getField('CN').value).toBe('api.example.com');
    const ext = (
      csr.getAttribute({ name: 'extensionRequest' }) as {
        extensions: Array<{ name: string; altNames: Array<{ type: number; value: string }> }>;
      }
    ).extensions;
    const san = ext.find((e) => e.name === 'subjectAltName');
    expect(san?.altNames.map((n) => [n.type, n.value])).toEqual([
      [2, 'api.example.com'],
      [2, 'www.example.com'],
    ]);
  });

  it('a printable CN is a PrintableString, a wildcard a UTF8String', () => {
    const privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const der = (name: string) => createCsrDer({ domains: [name], privateKey });
    // 06 03 55 04 03 (commonName) followed by the string's tag.
    const tagAfterCn = (b: Buffer) => b[b.indexOf(Buffer.from('0603550403', 'hex')) + 5];
    expect(tagAfterCn(der('api.example.com'))).toBe(0x13);
    expect(tagAfterCn(der('*.example.com'))).toBe(0x0c);
  });

  it('a first name longer than 64 characters goes in the SAN only (an empty subject, as Let’s Encrypt does)', () => {
    const privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const long = `${'a'.repeat(60)}.redis.example.com`;
    const { text } = openssl(createCsrPem({ domains: [long, 'short.example.com'], privateKey }));
    expect(text).toMatch(/Subject: *\n/);
    expect(text).toContain(`DNS:${long}, DNS:short.example.com`);
  });

  it('refuses what it cannot encode faithfully', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => createCsrDer({ domains: [], privateKey: ec.privateKey })).toThrow(/at least one name/);
    expect(() => createCsrDer({ domains: ['bücher.example'], privateKey: ec.privateKey })).toThrow(
      /punycode/,
    );
    expect(() => createCsrDer({ domains: ['a.example'], privateKey: ec.publicKey })).toThrow(/private key/);
    const ed = generateKeyPairSync('ed25519').privateKey;
    expect(() => createCsrDer({ domains: ['a.example'], privateKey: ed })).toThrow(/unsupported key type/);
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey;
    expect(() => createCsrDer({ domains: ['a.example'], privateKey: k1 })).toThrow(/unsupported EC curve/);
  });
});
