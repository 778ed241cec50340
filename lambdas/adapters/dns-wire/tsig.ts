/**
 * TSIG (RFC 8945): an HMAC over a DNS message, keyed by a secret the server shares, carried as the
 * last record of the additional section. node:crypto computes the HMAC; the record is written and
 * read here byte by byte, because the MAC covers names in their canonical (lowercase, uncompressed)
 * form, which a general encoder that compresses names would not give.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type TsigAlgorithm =
  | 'hmac-sha256'
  | 'hmac-sha384'
  | 'hmac-sha512'
  | 'hmac-sha224'
  | 'hmac-sha1'
  | 'hmac-md5';

/** The algorithm's name on the wire and node:crypto's digest name. */
const ALGORITHMS: Record<TsigAlgorithm, { wire: string; digest: string }> = {
  'hmac-sha256': { wire: 'hmac-sha256.', digest: 'sha256' },
  'hmac-sha384': { wire: 'hmac-sha384.', digest: 'sha384' },
  'hmac-sha512': { wire: 'hmac-sha512.', digest: 'sha512' },
  'hmac-sha224': { wire: 'hmac-sha224.', digest: 'sha224' },
  'hmac-sha1': { wire: 'hmac-sha1.', digest: 'sha1' },
  'hmac-md5': { wire: 'hmac-md5.sig-alg.reg.int.', digest: 'md5' },
};

export interface TsigKey {
  /** The key's name, as the server knows it ("watchdog-key" or "watchdog-key."). */
  name: string;
  algorithm: TsigAlgorithm;
  /** The shared secret's bytes (the base64 of a BIND key statement, decoded). */
  secret: Buffer;
}

/** RFC 8945 §5.3: the window either side of the signer's clock that a signature is valid in. */
export const TSIG_FUDGE_SECONDS = 300;
const TYPE_TSIG = 250;
const CLASS_ANY = 255;

/** TSIG error codes (the TSIG record's Error field), RFC 8945 §3 and §5.2. */
export const TSIG_ERRORS: Record<number, string> = {
  16: 'BADSIG',
  17: 'BADKEY',
  18: 'BADTIME',
  22: 'BADTRUNC',
};

/** A name in canonical wire form: lowercase labels, no compression, root label last. */
export function canonicalName(name: string): Buffer {
  const labels = name
    .toLowerCase()
    .split('.')
    .filter((l) => l.length > 0);
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length > 63) throw new Error(`DNS label longer than 63 octets in ${name}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function uint48(seconds: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(seconds, 0, 6);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** The "TSIG variables" the MAC covers after the message (RFC 8945 §4.3.3). */
function variables(key: TsigKey, timeSigned: number, fudge: number, error: number, other: Buffer): Buffer {
  return Buffer.concat([
    canonicalName(key.name),
    u16(CLASS_ANY),
    Buffer.alloc(4), // TTL 0
    canonicalName(ALGORITHMS[key.algorithm].wire),
    uint48(timeSigned),
    u16(fudge),
    u16(error),
    u16(other.length),
    other,
  ]);
}

function hmac(key: TsigKey, ...parts: Buffer[]): Buffer {
  const mac = createHmac(ALGORITHMS[key.algorithm].digest, key.secret);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/**
 * Signs a whole message (as encoded, its ID in the header): returns the message with the TSIG
 * record appended and ARCOUNT raised by one, and the MAC (the answer's signature covers it).
 */
export function signMessage(
  message: Buffer,
  key: TsigKey,
  now: Date = new Date(),
): { signed: Buffer; mac: Buffer } {
  const timeSigned = Math.floor(now.getTime() / 1000);
  const mac = hmac(key, message, variables(key, timeSigned, TSIG_FUDGE_SECONDS, 0, Buffer.alloc(0)));
  const rdata = Buffer.concat([
    canonicalName(ALGORITHMS[key.algorithm].wire),
    uint48(timeSigned),
    u16(TSIG_FUDGE_SECONDS),
    u16(mac.length),
    mac,
    message.subarray(0, 2), // original ID
    u16(0), // error
    u16(0), // other length
  ]);
  const record = Buffer.concat([
    canonicalName(key.name),
    u16(TYPE_TSIG),
    u16(CLASS_ANY),
    Buffer.alloc(4),
    u16(rdata.length),
    rdata,
  ]);
  const signed = Buffer.concat([message, record]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { signed, mac };
}

/** The TSIG record of an answer, read from its bytes. */
export interface AnswerTsig {
  keyName: string;
  algorithm: string;
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  /** TSIG error code (0, or BADSIG 16, BADKEY 17, BADTIME 18, BADTRUNC 22). */
  error: number;
  other: Buffer;
  /** Where the record starts in the message: what precedes it is what the MAC covers. */
  offset: number;
}

/** What a signed answer says about its signature: valid, or why not. */
export type TsigCheck =
  | { ok: true }
  | {
      ok: false;
      /**
       * unsigned: no signature (a server that could not check ours answers so, with `tsigError`);
       * wrong-key / bad-mac / bad-time: the answer's signature does not hold; rejected: the answer
       * is genuine and says our signature was refused (`tsigError`: BADSIG, BADKEY, BADTIME).
       */
      reason: 'unsigned' | 'wrong-key' | 'bad-mac' | 'bad-time' | 'rejected';
      tsigError?: string;
    };

/**
 * Checks the server's signature on an answer to a request we signed with `requestMac` (RFC 8945
 * §5.3): the MAC over the request MAC, the answer without its TSIG record (ARCOUNT one less, the
 * original ID), and the answer's TSIG variables; then its time against our clock.
 */
export function verifyAnswer(
  answer: Buffer,
  tsig: AnswerTsig | undefined,
  key: TsigKey,
  requestMac: Buffer,
  now: Date = new Date(),
): TsigCheck {
  if (!tsig) return { ok: false, reason: 'unsigned' };
  const tsigError = TSIG_ERRORS[tsig.error];
  if (
    tsig.keyName.toLowerCase().replace(/\.$/, '') !== key.name.toLowerCase().replace(/\.$/, '') ||
    tsig.algorithm.toLowerCase().replace(/\.$/, '') !==
      ALGORITHMS[key.algorithm].wire.toLowerCase().replace(/\.$/, '')
  ) {
    return { ok: false, reason: 'wrong-key', ...(tsigError ? { tsigError } : {}) };
  }
  // A server that could not verify our request answers unsigned (empty MAC) with the TSIG error.
  if (tsig.mac.length === 0) return { ok: false, reason: 'unsigned', ...(tsigError ? { tsigError } : {}) };
  const stripped = Buffer.from(answer.subarray(0, tsig.offset));
  stripped.writeUInt16BE(tsig.originalId, 0);
  stripped.writeUInt16BE(stripped.readUInt16BE(10) - 1, 10);
  const expected = hmac(
    key,
    u16(requestMac.length),
    requestMac,
    stripped,
    variables(key, tsig.timeSigned, tsig.fudge, tsig.error, tsig.other),
  );
  // RFC 8945 §5.2.2.1: a truncated MAC must keep at least half the digest and 10 octets.
  const minimum = Math.max(10, Math.ceil(expected.length / 2));
  if (tsig.mac.length < minimum || tsig.mac.length > expected.length)
    return { ok: false, reason: 'bad-mac', ...(tsigError ? { tsigError } : {}) };
  if (!timingSafeEqual(tsig.mac, expected.subarray(0, tsig.mac.length)))
    return { ok: false, reason: 'bad-mac', ...(tsigError ? { tsigError } : {}) };
  const skew = Math.abs(Math.floor(now.getTime() / 1000) - tsig.timeSigned);
  if (skew > tsig.fudge) return { ok: false, reason: 'bad-time', ...(tsigError ? { tsigError } : {}) };
  return tsigError ? { ok: false, reason: 'rejected', tsigError } : { ok: true };
}

/** Reads a name at `offset` (following compression pointers); returns it and the bytes it took there. */
function readName(message: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let position = offset;
  let next = -1;
  for (let jumps = 0; jumps < 64; ) {
    const length = message[position];
    if (length === undefined) throw new Error('DNS message ends inside a name');
    if (length === 0) {
      if (next < 0) next = position + 1;
      return { name: `${labels.join('.')}.`, next };
    }
    if ((length & 0xc0) === 0xc0) {
      if (position + 1 >= message.length) throw new Error('DNS message ends inside a name pointer');
      if (next < 0) next = position + 2;
      position = message.readUInt16BE(position) & 0x3fff;
      jumps++;
      continue;
    }
    if (length & 0xc0) throw new Error('DNS name with a reserved label type');
    labels.push(message.toString('latin1', position + 1, position + 1 + length));
    position += 1 + length;
  }
  throw new Error('DNS name with too many compression pointers');
}

/**
 * Finds the TSIG record of a message: the last record of the additional section when its type is
 * TSIG. Walks the message's sections (their names may be compressed) to the record's offset.
 */
export function findTsig(message: Buffer): AnswerTsig | undefined {
  if (message.length < 12) return undefined;
  const counts = [4, 6, 8, 10].map((at) => message.readUInt16BE(at)) as [number, number, number, number];
  let offset = 12;
  for (let i = 0; i < counts[0]; i++) offset = readName(message, offset).next + 4;
  const records = counts[1] + counts[2] + counts[3];
  for (let i = 0; i < records; i++) {
    const start = offset;
    const { name, next } = readName(message, offset);
    if (next + 10 > message.length) throw new Error('DNS message ends inside a record');
    const type = message.readUInt16BE(next);
    const rdlength = message.readUInt16BE(next + 8);
    const rdata = next + 10;
    offset = rdata + rdlength;
    if (offset > message.length) throw new Error('DNS record runs past the end of the message');
    if (i === records - 1 && counts[3] > 0 && type === TYPE_TSIG) {
      const algorithm = readName(message, rdata);
      let p = algorithm.next;
      const timeSigned = message.readUIntBE(p, 6);
      const fudge = message.readUInt16BE(p + 6);
      const macSize = message.readUInt16BE(p + 8);
      p += 10;
      const mac = message.subarray(p, p + macSize);
      p += macSize;
      const originalId = message.readUInt16BE(p);
      const error = message.readUInt16BE(p + 2);
      const otherLength = message.readUInt16BE(p + 4);
      const other = message.subarray(p + 6, p + 6 + otherLength);
      return {
        keyName: name,
        algorithm: algorithm.name,
        timeSigned,
        fudge,
        mac: Buffer.from(mac),
        originalId,
        error,
        other: Buffer.from(other),
        offset: start,
      };
    }
  }
  return undefined;
}
