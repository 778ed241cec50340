/**
 * A small DER writer (ITU-T X.690, distinguished encoding): just the types a PKCS#10 request needs
 * (SEQUENCE, SET, INTEGER, OBJECT IDENTIFIER, NULL, the string types, BIT STRING, OCTET STRING and
 * context-specific tags). It replaces an ASN.1 framework on the ACME path (~60 ms of every renewal's
 * CPU: @peculiar/x509, asn1js, pvtsutils, reflect-metadata; bench/cli). Every function returns the
 * complete TLV as a Buffer; nothing here parses.
 */

const TAG = {
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  sequence: 0x30,
  set: 0x31,
} as const;

/** The definite length octets: short form below 128, else 0x80|n followed by n big-endian bytes. */
export function encodeLength(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`DER: bad length ${length}`);
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with the given identifier octet (single-byte tags only: numbers up to 30). */
export function tlv(tag: number, content: Uint8Array): Buffer {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f)
    throw new RangeError(
      `DER: tag 0x${tag.toString(16)} needs the multi-byte form, which this writer does not write`,
    );
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(TAG.sequence, Buffer.concat(items));

/** SET OF: DER orders the elements by their encodings (X.690 §11.6). */
export function setOf(...items: Uint8Array[]): Buffer {
  const sorted = items.map((i) => Buffer.from(i)).sort(Buffer.compare);
  return tlv(TAG.set, Buffer.concat(sorted));
}

/** A non-negative or negative INTEGER in the fewest two's-complement octets. */
export function integer(value: number | bigint): Buffer {
  if (typeof value === 'number' && !Number.isSafeInteger(value))
    throw new RangeError(`DER: ${value} is not a safe integer`);
  let n = BigInt(value);
  const bytes: number[] = [];
  if (n >= 0n) {
    do {
      bytes.unshift(Number(n & 0xffn));
      n >>= 8n;
    } while (n > 0n);
    if ((bytes[0] as number) & 0x80) bytes.unshift(0); // keep it positive
  } else {
    do {
      bytes.unshift(Number(n & 0xffn));
      n >>= 8n;
    } while (n < -1n || ((bytes[0] as number) & 0x80) === 0);
  }
  return tlv(TAG.integer, Buffer.from(bytes));
}

/** An unsigned big-endian INTEGER given as bytes (a serial number, a modulus): minimal, kept positive. */
export function unsignedInteger(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = Buffer.from(bytes.subarray(start));
  if (trimmed.length === 0) return tlv(TAG.integer, Buffer.from([0]));
  return tlv(
    TAG.integer,
    (trimmed[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed,
  );
}

const oidCache = new Map<string, Buffer>();

/** OBJECT IDENTIFIER from its dotted form, e.g. `2.5.4.3`. */
export function oid(dotted: string): Buffer {
  const cached = oidCache.get(dotted);
  if (cached) return cached;
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) throw new RangeError(`DER: bad OID "${dotted}"`);
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const [first, second] = arcs as [bigint, bigint];
  if (first < 2n && second > 39n) throw new RangeError(`DER: bad OID "${dotted}" (second arc above 39)`);
  const bytes: number[] = [];
  for (const arc of [first * 40n + second, ...arcs.slice(2)]) {
    const groups: number[] = [];
    let n = arc;
    do {
      groups.unshift(Number(n & 0x7fn));
      n >>= 7n;
    } while (n > 0n);
    for (let i = 0; i < groups.length - 1; i++) groups[i] = (groups[i] as number) | 0x80;
    bytes.push(...groups);
  }
  const encoded = tlv(TAG.oid, Buffer.from(bytes));
  oidCache.set(dotted, encoded);
  return encoded;
}

export const nullValue = (): Buffer => Buffer.from([TAG.null, 0]);

export const utf8String = (text: string): Buffer => tlv(TAG.utf8String, Buffer.from(text, 'utf8'));

/** X.680 §41.4: A–Z a–z 0–9 space ' ( ) + , - . / : = ? */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
export const isPrintable = (text: string): boolean => PRINTABLE.test(text);

export function printableString(text: string): Buffer {
  if (!isPrintable(text)) throw new RangeError(`DER: "${text}" is not a PrintableString`);
  return tlv(TAG.printableString, Buffer.from(text, 'latin1'));
}

/** IA5String: 7-bit ASCII only (a dNSName is IA5; an internationalized name must be punycode). */
export function ia5Bytes(text: string): Buffer {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the IA5 range is exactly 0x00-0x7f
  if (!/^[\x00-\x7f]*$/.test(text))
    throw new RangeError(`DER: "${text}" is not IA5 (ASCII); use its punycode form`);
  return Buffer.from(text, 'latin1');
}
export const ia5String = (text: string): Buffer => tlv(TAG.ia5String, ia5Bytes(text));

/** BIT STRING of whole octets by default (a key, a signature); `unusedBits` in the last octet otherwise. */
export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits))
    throw new RangeError(`DER: bad unused bit count ${unusedBits}`);
  return tlv(TAG.bitString, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

export const octetString = (bytes: Uint8Array): Buffer => tlv(TAG.octetString, bytes);

/**
 * A context-specific tag [n]. `explicit` wraps a complete encoding (constructed); `implicit`
 * replaces the tag of a primitive value's content (`constructed` for an implicit SET/SEQUENCE).
 */
export function contextTag(
  n: number,
  content: Uint8Array,
  form: 'explicit' | 'implicit-primitive' | 'implicit-constructed',
): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new RangeError(`DER: context tag [${n}] out of range`);
  const constructed = form !== 'implicit-primitive';
  return tlv(0x80 | (constructed ? 0x20 : 0) | n, content);
}

/** The content octets of a TLV this writer produced (for IMPLICIT re-tagging). */
export function contentOf(encoded: Buffer): Buffer {
  const first = encoded[1] as number;
  const lengthBytes = first < 0x80 ? 0 : first & 0x7f;
  return encoded.subarray(2 + lengthBytes);
}

/** PEM armour for DER bytes, 64 characters a line. */
export function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
