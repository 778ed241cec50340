/**
 * Whether a private key belongs to a certificate, from the public half the key's DER carries in
 * clear, without parsing the private key: an RSA key holds its modulus and exponent (PKCS#1, and
 * PKCS#8 around it), an EC key usually its public point (SEC1's optional `publicKey`).
 *
 * This is `openssl x509 -modulus` against `openssl rsa -modulus`, the comparison operators make. It
 * is what a check uses to report `keyMatches` (bench/fleet-check: OpenSSL's private-key parse,
 * which also checks the key's consistency, was ~0.2 ms a key and a quarter of a first check's CPU).
 * It does not prove the private half sound: before a push, validateForPush parses the key and asks
 * OpenSSL (checkPrivateKey). Anything this reader does not know (encrypted, RSA-PSS, Ed25519, a
 * compressed point, malformed DER) returns undefined, and the caller parses the key in full.
 */
import type { KeyObject } from 'node:crypto';

export type PublicPart = { kind: 'rsa'; n: Buffer; e: Buffer } | { kind: 'ec'; point: Buffer };

interface Tlv {
  tag: number;
  /** Content start and end (exclusive). */
  start: number;
  end: number;
}

/** One DER TLV at `offset`, within `limit`; undefined when it does not fit. */
function tlv(der: Buffer, offset: number, limit: number): Tlv | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 3 || start + bytes > limit) return undefined;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  const end = start + length;
  return end > limit ? undefined : { tag, start, end };
}

/** The TLVs inside a constructed one; undefined unless they fill it exactly. */
function children(der: Buffer, parent: Tlv): Tlv[] | undefined {
  const list: Tlv[] = [];
  for (let offset = parent.start; offset < parent.end; ) {
    const child = tlv(der, offset, parent.end);
    if (!child) return undefined;
    list.push(child);
    offset = child.end;
  }
  return list;
}

function sequence(der: Buffer): Tlv[] | undefined {
  const outer = tlv(der, 0, der.length);
  if (outer?.tag !== 0x30 || outer.end !== der.length) return undefined;
  return children(der, outer);
}

const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const OID = 0x06;
const RSA_ENCRYPTION = Buffer.from('2a864886f70d010101', 'hex'); // 1.2.840.113549.1.1.1
const EC_PUBLIC_KEY = Buffer.from('2a8648ce3d0201', 'hex'); // 1.2.840.10045.2.1

/** An INTEGER's magnitude without the sign byte DER adds before a high bit. */
function unsigned(der: Buffer, t: Tlv): Buffer {
  let start = t.start;
  while (start < t.end - 1 && der[start] === 0) start++;
  return der.subarray(start, t.end);
}

function rsaPrivateKey(der: Buffer): PublicPart | undefined {
  const [version, n, e] = sequence(der) ?? [];
  if (!version || !n || !e || [version, n, e].some((t) => t.tag !== INTEGER)) return undefined;
  return { kind: 'rsa', n: unsigned(der, n), e: unsigned(der, e) };
}

function ecPrivateKey(der: Buffer): PublicPart | undefined {
  const fields = sequence(der);
  const publicKey = fields?.find((t) => t.tag === 0xa1); // [1] EXPLICIT BIT STRING
  if (!publicKey) return undefined;
  const [bits] = children(der, publicKey) ?? [];
  // A BIT STRING whose first byte (unused bits) is 0, holding an uncompressed point (0x04 || x || y).
  if (bits?.tag !== 0x03 || der[bits.start] !== 0 || der[bits.start + 1] !== 0x04) return undefined;
  return { kind: 'ec', point: der.subarray(bits.start + 1, bits.end) };
}

function pkcs8(der: Buffer): PublicPart | undefined {
  const [version, algorithm, key] = sequence(der) ?? [];
  if (!version || !algorithm || !key || version.tag !== INTEGER || key.tag !== OCTET_STRING) return undefined;
  const [oid] = children(der, algorithm) ?? [];
  if (!oid || oid.tag !== OID) return undefined;
  const id = der.subarray(oid.start, oid.end);
  const inner = der.subarray(key.start, key.end);
  if (id.equals(RSA_ENCRYPTION)) return rsaPrivateKey(inner);
  if (id.equals(EC_PUBLIC_KEY)) return ecPrivateKey(inner);
  return undefined;
}

/** The public half of an unencrypted private key's DER (`pkcs1`, `pkcs8` or `sec1`), when it carries one. */
export function publicPartOfKeyDer(der: Buffer, type: 'pkcs1' | 'pkcs8' | 'sec1'): PublicPart | undefined {
  try {
    if (type === 'pkcs1') return rsaPrivateKey(der);
    if (type === 'sec1') return ecPrivateKey(der);
    return pkcs8(der);
  } catch {
    return undefined;
  }
}

/** Whether a certificate's public key is the one `part` describes. */
export function publicKeyMatches(publicKey: KeyObject, part: PublicPart): boolean {
  const jwk = publicKey.export({ format: 'jwk' });
  if (part.kind === 'rsa') {
    return (
      jwk.kty === 'RSA' && jwk.n === part.n.toString('base64url') && jwk.e === part.e.toString('base64url')
    );
  }
  if (jwk.kty !== 'EC' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') return false;
  const point = Buffer.concat([
    Buffer.of(0x04),
    Buffer.from(jwk.x, 'base64url'),
    Buffer.from(jwk.y, 'base64url'),
  ]);
  return point.equals(part.point);
}
