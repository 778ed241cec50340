/**
 * Certificate inspection with node:crypto's X509Certificate: native, ~130 µs a parse, and it reads
 * ECDSA certificates (node-forge cannot). See bench/crypto.bench.ts for the comparison.
 */
import { createPrivateKey, hash, type KeyObject, X509Certificate } from 'node:crypto';
import { CertificateParseError } from './errors';
import { publicKeyMatches, publicPartOfKeyDer } from './key-public-part';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n?([\s\S]*?)-----END \1-----/g;

/** Splits a PEM bundle into its CERTIFICATE blocks, in order. Throws when there is none or one is broken. */
export function parseCertificateChain(pem: string): X509Certificate[] {
  return certificateBlocks(pem).map((block, index) => parseBlock(block, index));
}

/** The CERTIFICATE blocks of a PEM bundle; throws as parseCertificateChain does when there is none. */
function certificateBlocks(pem: string): string[] {
  if (typeof pem !== 'string' || pem.trim() === '') throw new CertificateParseError('the field is empty');
  const blocks = [...pem.matchAll(PEM_BLOCK)].filter((m) => m[1] === 'CERTIFICATE').map((m) => m[0]);
  if (blocks.length === 0) {
    throw new CertificateParseError(
      pem.includes('-----BEGIN CERTIFICATE-----')
        ? 'the PEM block is truncated (no END line)'
        : 'no PEM CERTIFICATE block found',
    );
  }
  return blocks;
}

function parseBlock(block: string, index: number): X509Certificate {
  try {
    return new X509Certificate(block);
  } catch (error) {
    throw new CertificateParseError(
      `certificate #${index + 1} of the chain does not parse: ${(error as Error).message}`,
    );
  }
}

/**
 * Digests of the issuers' blocks (every certificate after a chain's leaf) that parsed: a check
 * parses only the leaf of a chain, and an issuer it has already parsed is not parsed again. Chains
 * share their issuers (every chain from one ACME CA carries the same intermediate), and a parse is
 * ~35 µs of CPU on Node 24, ~150 µs on Node 20 (bench/fleet-check; its simulated chains are leaves
 * alone, so it does not show this saving). Only that a block parses is kept, never a parse.
 */
const parsedIssuers = new Set<string>();

/**
 * The leaf of a chain and the chain's length, every block checked to parse as parseCertificateChain
 * checks it (the same errors), the issuers' blocks once per process.
 */
function parseLeafOfChain(pem: string): { leaf: X509Certificate; length: number } {
  const blocks = certificateBlocks(pem);
  const leaf = parseBlock(blocks[0] as string, 0);
  for (let index = 1; index < blocks.length; index++) {
    const key = digest(blocks[index] as string);
    if (parsedIssuers.has(key)) continue;
    inspectionCacheStats.issuerParses++;
    parseBlock(blocks[index] as string, index);
    if (parsedIssuers.size >= CACHE_LIMIT) parsedIssuers.clear();
    parsedIssuers.add(key);
  }
  return { leaf, length: blocks.length };
}

/** PEM labels whose DER node:crypto reads directly. */
const KEY_DER_TYPES: Record<string, 'pkcs1' | 'pkcs8' | 'sec1'> = {
  'RSA PRIVATE KEY': 'pkcs1',
  'PRIVATE KEY': 'pkcs8',
  'EC PRIVATE KEY': 'sec1',
};

/** An unencrypted PEM private key's DER and its type, or undefined (encrypted, unusual armour). */
function keyDer(pem: string): { der: Buffer; type: 'pkcs1' | 'pkcs8' | 'sec1' } | undefined {
  const block = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  const type = block ? KEY_DER_TYPES[block[1]!] : undefined;
  if (!block || !type || block[2]!.includes(':')) return undefined;
  return { der: Buffer.from(block[2]!, 'base64'), type };
}

export function parsePrivateKey(pem: string): KeyObject {
  try {
    // Decoding the armour here and handing OpenSSL the DER halves the cost of reading a key
    // (its PEM reader tries several decoders): 37 % of a fleet check's CPU (bench/fleet-check).
    const decoded = keyDer(pem);
    if (decoded) return createPrivateKey({ key: decoded.der, format: 'der', type: decoded.type });
    return createPrivateKey(pem); // encrypted or unusual PEM: let OpenSSL decide
  } catch {
    // The key material itself must never reach a message.
    throw new CertificateParseError('the private key does not parse');
  }
}

export interface CertificateDetails {
  subject: string;
  issuer: string;
  dnsNames: string[];
  ipAddresses: string[];
  serialNumber: string;
  /** Upper-case hex with colons, as `openssl x509 -fingerprint -sha256` and RS's UI show it. */
  fingerprint256: string;
  notBefore: Date;
  notAfter: Date;
  keyType: string;
  keySize: number | undefined;
  /** Extended key usage OIDs (serverAuth 1.3.6.1.5.5.7.3.1, clientAuth …3.2); empty when absent. */
  extKeyUsage: string[];
  chainLength: number;
}

export const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export function describeLeaf(chain: X509Certificate[]): CertificateDetails {
  const leaf = chain[0];
  if (!leaf) throw new CertificateParseError('empty chain');
  return describeCertificate(leaf, chain.length);
}

function describeCertificate(leaf: X509Certificate, chainLength: number): CertificateDetails {
  const { dnsNames, ipAddresses } = subjectAltNames(leaf);
  const key = leaf.publicKey;
  const details = key.asymmetricKeyDetails;
  return {
    subject: oneLine(leaf.subject),
    issuer: oneLine(leaf.issuer),
    dnsNames,
    ipAddresses,
    serialNumber: leaf.serialNumber.toUpperCase(),
    fingerprint256: leaf.fingerprint256,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    keyType:
      key.asymmetricKeyType === 'ec'
        ? `ecdsa-${details?.namedCurve ?? 'unknown'}`
        : (key.asymmetricKeyType ?? 'unknown'),
    keySize: details?.modulusLength ?? curveBits(details?.namedCurve),
    extKeyUsage: extendedKeyUsage(leaf),
    chainLength,
  };
}

/** Whether the private key belongs to the leaf certificate. */
export function keyMatchesLeaf(leaf: X509Certificate, key: KeyObject): boolean {
  try {
    return leaf.checkPrivateKey(key);
  } catch {
    return false;
  }
}

/**
 * What a check learns from a certificate field and its key, remembered per process. A check reads
 * the same certificates run after run (a warm Lambda, a long-lived bench or CLI process): parsing
 * a chain costs ~140 µs a certificate and a private key ~170 µs, which made up most of a fleet
 * check's CPU (bench/fleet-check). Both are pure functions of the PEM text, so they are cached by
 * its SHA-256 (~5 µs for a few KB): a changed certificate or key is a different entry.
 *
 * Only digests are kept for keys: the cache maps SHA-256(leaf fingerprint, key PEM) to a boolean,
 * never the key. Entries are bounded (oldest dropped first): 6 certificates × 5,000 clusters fit.
 */
const CACHE_LIMIT = 32_768;
const leafCache = new Map<string, CertificateDetails>();
/** The leaf inspectChainPem parsed last, for keyMatchesLeafPem on the same PEM (one parse, not two). */
let lastParsed: { pem: string; leaf: X509Certificate } | undefined;
const keyMatchCache = new Map<string, boolean>();

/**
 * Changes whenever an entry is added to the caches or they are cleared. With the same generation
 * and the same digests in use, exportInspectionMemory gives the same memory, and the caches still
 * hold every entry a memory loaded or saved under that generation: a store can skip both its load
 * and its save (inspectionMemoryUnchanged, inspection-memory-records.ts).
 */
let contentGeneration = 0;

export function inspectionContentGeneration(): number {
  return contentGeneration;
}

function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  contentGeneration++;
  if (cache.size >= CACHE_LIMIT) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(key, value);
  return value;
}

/**
 * SHA-256 of each part followed by a NUL, in base64: the memory's keys, so they must not change
 * (test/unit/inspection-cache.test.ts). One-shot `hash` gives the digest a `createHash` fed part
 * by part gave, for less CPU on PEM-sized input (4.7 → 2.7 µs on Node 24); a warm check takes a
 * dozen per cluster.
 */
function digest(...parts: string[]): string {
  let text = '';
  for (const part of parts) text += `${part}\0`;
  return hash('sha256', text, 'base64');
}

/** Counts of cache hits and misses since the last clear (bench and tests read them). */
export const inspectionCacheStats = { leafHits: 0, leafMisses: 0, keyHits: 0, keyMisses: 0, issuerParses: 0 };

/** Forgets every remembered inspection (a bench's cold run; tests). */
export function clearInspectionCache(): void {
  leafCache.clear();
  parsedIssuers.clear();
  keyMatchCache.clear();
  touched.clear();
  contentGeneration++;
  lastParsed = undefined;
  Object.assign(inspectionCacheStats, {
    leafHits: 0,
    leafMisses: 0,
    keyHits: 0,
    keyMisses: 0,
    issuerParses: 0,
  });
}

/**
 * Starts a new account of what is used (a warm check function that runs another check shard):
 * the next export holds only what is used from now on, while the caches keep saving parses.
 */
export function restartInspectionUse(): void {
  touched.clear();
}

/**
 * The inspection memory as JSON, for a process that starts from the last one's (the CLI keeps it in
 * its stateDir: a daily `check` of 500 clusters then parses only what changed since yesterday).
 * Only entries this process used are kept, so the memory follows the fleet. Digests, results and
 * public certificate details only: never a key.
 */
export interface InspectionMemory {
  version: typeof MEMORY_VERSION;
  leaves: Record<
    string,
    Omit<CertificateDetails, 'notBefore' | 'notAfter'> & { notBefore: string; notAfter: string }
  >;
  keyMatches: Record<string, boolean>;
}

const MEMORY_VERSION = 1;
/** Digests used since the last clear (hits and new entries alike), bounded like the caches. */
const touched = new Set<string>();

function touch(key: string): void {
  if (touched.has(key)) return;
  if (touched.size >= CACHE_LIMIT) touched.clear();
  touched.add(key);
}

/**
 * Where a stored memory stands against the caches: the digests it holds, and the caches' generation
 * when it was loaded or saved. See `inspectionMemoryUnchanged`.
 */
export interface InspectionMemoryMark {
  generation: number;
  digests: ReadonlySet<string>;
}

/** The mark of memories just imported (their texts as stored, one or several shards). */
export function loadedInspectionMemoryMark(memories: readonly unknown[]): InspectionMemoryMark {
  const digests = new Set<string>();
  for (const memory of memories) {
    if (!isRecord(memory)) continue;
    for (const entries of [memory.leaves, memory.keyMatches])
      if (isRecord(entries)) for (const digest of Object.keys(entries)) digests.add(digest);
  }
  return { generation: contentGeneration, digests };
}

/** The mark of the memory `exportInspectionMemory` gives now, once it is stored. */
export function exportedInspectionMemoryMark(): InspectionMemoryMark {
  return { generation: contentGeneration, digests: new Set(touched) };
}

/**
 * Whether exporting now would give the stored memory again: nothing was parsed or imported since
 * the mark (the same generation), and the digests used are the ones it holds. Then the export, its
 * text and the comparison with the stored text can all be skipped. A cold process that loaded
 * yesterday's memory of the same fleet ends this way.
 */
export function inspectionMemoryUnchanged(mark: InspectionMemoryMark | undefined): boolean {
  if (mark === undefined || mark.generation !== contentGeneration) return false;
  if (mark.digests.size !== touched.size) return false;
  for (const digest of touched) if (!mark.digests.has(digest)) return false;
  return true;
}

export function exportInspectionMemory(): InspectionMemory {
  const leaves: InspectionMemory['leaves'] = {};
  const keyMatches: InspectionMemory['keyMatches'] = {};
  // Sorted: the same fleet gives the same text, whatever order the clusters answered in.
  for (const key of [...touched].sort()) {
    const details = leafCache.get(key);
    if (details)
      leaves[key] = {
        ...details,
        notBefore: details.notBefore.toISOString(),
        notAfter: details.notAfter.toISOString(),
      };
    const match = keyMatchCache.get(key);
    if (match !== undefined) keyMatches[key] = match;
  }
  return { version: MEMORY_VERSION, leaves, keyMatches };
}

/**
 * Adds a memory exported by an earlier process. Anything of another version or shape is ignored
 * (the memory only saves work: a missing entry is parsed again). Returns the entries taken.
 */
export function importInspectionMemory(memory: unknown): number {
  if (!isRecord(memory) || memory.version !== MEMORY_VERSION) return 0;
  let taken = 0;
  if (isRecord(memory.leaves)) {
    for (const [key, value] of Object.entries(memory.leaves)) {
      const details = revivedDetails(value);
      if (!details) continue;
      remember(leafCache, key, details);
      taken++;
    }
  }
  if (isRecord(memory.keyMatches)) {
    for (const [key, value] of Object.entries(memory.keyMatches)) {
      if (typeof value !== 'boolean') continue;
      remember(keyMatchCache, key, value);
      taken++;
    }
  }
  return taken;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function revivedDetails(value: unknown): CertificateDetails | undefined {
  if (!isRecord(value)) return undefined;
  const strings = ['subject', 'issuer', 'serialNumber', 'fingerprint256', 'keyType'] as const;
  const lists = ['dnsNames', 'ipAddresses', 'extKeyUsage'] as const;
  if (!strings.every((k) => typeof value[k] === 'string')) return undefined;
  if (
    !lists.every(
      (k) => Array.isArray(value[k]) && (value[k] as unknown[]).every((v) => typeof v === 'string'),
    )
  )
    return undefined;
  if (
    typeof value.chainLength !== 'number' ||
    (value.keySize !== undefined && typeof value.keySize !== 'number')
  )
    return undefined;
  const notBefore = new Date(String(value.notBefore));
  const notAfter = new Date(String(value.notAfter));
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) return undefined;
  return Object.freeze({
    subject: value.subject as string,
    issuer: value.issuer as string,
    dnsNames: Object.freeze([...(value.dnsNames as string[])]) as string[],
    ipAddresses: Object.freeze([...(value.ipAddresses as string[])]) as string[],
    serialNumber: value.serialNumber as string,
    fingerprint256: value.fingerprint256 as string,
    notBefore,
    notAfter,
    keyType: value.keyType as string,
    keySize: value.keySize as number | undefined,
    extKeyUsage: Object.freeze([...(value.extKeyUsage as string[])]) as string[],
    chainLength: value.chainLength,
  });
}

/**
 * describeLeaf(parseCertificateChain(pem)), remembered by the PEM's digest. Throws as they do (a
 * field that does not parse is never cached). The details are frozen: callers share them.
 */
export function inspectChainPem(pem: string): CertificateDetails {
  if (typeof pem !== 'string') return describeLeaf(parseCertificateChain(pem));
  const key = digest(pem);
  touch(key);
  const known = leafCache.get(key);
  if (known) {
    inspectionCacheStats.leafHits++;
    return known;
  }
  inspectionCacheStats.leafMisses++;
  const { leaf, length } = parseLeafOfChain(pem);
  // The key match of the same field usually follows: it takes this leaf instead of parsing it again.
  lastParsed = { pem, leaf };
  const details = describeCertificate(leaf, length);
  Object.freeze(details.dnsNames);
  Object.freeze(details.ipAddresses);
  Object.freeze(details.extKeyUsage);
  return remember(leafCache, key, Object.freeze(details));
}

/**
 * Whether `keyPem` belongs to the leaf of `certificatePem` (its public half is the certificate's
 * public key), remembered by a digest of the pair, so a key is read again only when the certificate
 * or the key changed. Throws CertificateParseError when the key does not parse (not cached). This
 * is the check's question; a push asks OpenSSL to check the whole key (validateForPush).
 */
export function keyMatchesLeafPem(certificatePem: string, keyPem: string): boolean {
  const key = digest(certificatePem, keyPem);
  touch(key);
  const known = keyMatchCache.get(key);
  if (known !== undefined) {
    inspectionCacheStats.keyHits++;
    return known;
  }
  inspectionCacheStats.keyMisses++;
  const leaf = lastParsed?.pem === certificatePem ? lastParsed.leaf : parseLeafOfChain(certificatePem).leaf;
  lastParsed = undefined;
  // The public half the key carries (modulus, point) against the certificate's: no private-key
  // parse (./key-public-part.ts). A key it cannot read that way is parsed in full.
  const decoded = keyDer(keyPem);
  const part = decoded && publicPartOfKeyDer(decoded.der, decoded.type);
  const matches = part
    ? publicKeyMatches(leaf.publicKey, part)
    : keyMatchesLeaf(leaf, parsePrivateKey(keyPem));
  return remember(keyMatchCache, key, matches);
}

function subjectAltNames(cert: X509Certificate): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  // Node renders SANs as `DNS:a.example.com, IP Address:10.0.0.1`; values that contain a comma are
  // JSON-quoted, which DNS names and IPs never need.
  for (const entry of (cert.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) dnsNames.push(entry.slice(4));
    else if (entry.startsWith('IP Address:')) ipAddresses.push(entry.slice(11));
  }
  return { dnsNames, ipAddresses };
}

function extendedKeyUsage(cert: X509Certificate): string[] {
  // Node 20 exposes EKU as `keyUsage` (a misnomer it later fixed as `extKeyUsage`); read either.
  const withEku = cert as X509Certificate & { extKeyUsage?: string[] };
  return withEku.extKeyUsage ?? cert.keyUsage ?? [];
}

function curveBits(curve: string | undefined): number | undefined {
  if (!curve) return undefined;
  const bits = /(\d{3})/.exec(curve)?.[1];
  return bits ? Number(bits) : undefined;
}

function oneLine(distinguishedName: string): string {
  return distinguishedName.split('\n').filter(Boolean).join(', ');
}

/** Whether `name` is covered by the certificate's DNS names (one wildcard label, RFC 6125). */
export function coversName(dnsNames: readonly string[], name: string): boolean {
  const wanted = name.toLowerCase();
  return dnsNames.some((san) => {
    const have = san.toLowerCase();
    if (have === wanted) return true;
    if (have.startsWith('*.') && !wanted.startsWith('*.')) {
      const dot = wanted.indexOf('.');
      return dot > 0 && wanted.slice(dot + 1) === have.slice(2);
    }
    return false;
  });
}
