// A small test PKI: CAs (root or intermediate) and leaf certificates with the
// extensions a TLS server/client certificate really carries, so code under test
// sees the same shapes it sees from ACME or from Redis Enterprise itself.

import {
  generateKeyPair,
  type KeyObject,
  X509Certificate as NodeX509,
  randomBytes,
  webcrypto,
} from 'node:crypto';
import { promisify } from 'node:util';
// Types only (erased). The library itself comes from the product's own loader, which installs the
// Reflect polyfill tsyringe needs before loading it: no test imports a polyfill, so a product path that
// loaded @peculiar/x509 any other way fails in the tests as it would for users (see
// lambdas/adapters/local-ca/x509.ts; test/bundling/x509-loading.test.ts checks the built bundles).
import type { Extension, JsonGeneralNames, JsonName, X509Certificate } from '@peculiar/x509';
import { loadX509, type X509 } from '../../lambdas/adapters/local-ca/x509';

export type KeyKind = 'rsa' | 'ecdsa';
export type ExtKeyUsageName = 'serverAuth' | 'clientAuth';

type SubtleKey = webcrypto.CryptoKey;

export interface KeyMaterial {
  kind: KeyKind;
  /** PKCS#1 for RSA (what RS shows), PKCS#8 for ECDSA. */
  keyPem: string;
  spkiDer: Buffer;
  /** Imported lazily and cached: only keys that sign certificates need it. */
  signingKey: () => Promise<SubtleKey>;
}

export interface TestCa {
  certPem: string;
  keyPem: string;
  keyKind: KeyKind;
  /** The issuing CA, undefined for a root. */
  issuer: TestCa | undefined;
  /** Internal: parsed certificate and signing key handle. */
  readonly cert: X509Certificate;
  readonly key: KeyMaterial;
}

export interface IssuedCert {
  certPem: string;
  keyPem: string;
  /** Leaf followed by the intermediates given in `chain`, never the root. */
  chainPem: string;
  /** Colon-separated upper-case SHA-256, same format as node's X509Certificate.fingerprint256. */
  fingerprint256: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

export interface CreateCaOptions {
  commonName?: string;
  keyKind?: KeyKind;
  notBefore?: Date;
  notAfter?: Date;
  /** Makes an intermediate signed by this CA. */
  issuer?: TestCa;
  freshKey?: boolean;
  /** basicConstraints pathLenConstraint (none by default). */
  pathLength?: number;
  /** basicConstraints cA; false makes a "CA" that signs but may not (default true). */
  isCa?: boolean;
  /** Key usage flags (@peculiar/x509 KeyUsageFlags); default keyCertSign | cRLSign | digitalSignature. */
  keyUsage?: number;
  /** A critical nameConstraints extension with these dNSName subtrees. */
  nameConstraints?: { permitted?: string[]; excluded?: string[] };
}

export interface IssueCertOptions {
  ca: TestCa;
  dnsNames: string[];
  ipAddresses?: string[];
  commonName?: string;
  notBefore?: Date;
  notAfter?: Date;
  keyKind?: KeyKind;
  /** Default: both serverAuth and clientAuth. An empty array omits the extension. */
  extKeyUsage?: ExtKeyUsageName[];
  /** Intermediates appended to chainPem, in order. */
  chain?: TestCa[];
  /** Generate a new key instead of taking one from the per-process pool. */
  freshKey?: boolean;
  /** The whole subject (a client certificate's CN, OU, O...); default CN=commonName. */
  subject?: JsonName;
}

const DAY_MS = 86_400_000;
const generateKeyPairAsync = promisify(generateKeyPair);

// RSA-2048 generation costs ~150 ms of CPU; a suite creating hundreds of
// certificates would spend most of its time there. Round-robin over a small
// lazily filled pool keeps consecutive certificates on distinct keys (a
// simulator's six certificates never share one) while bounding the cost.
// CAs draw from their own pool so that a leaf never carries its issuer's key.
// Two CAs may share a key: default CA names are unique so that name-based chain
// building still tells them apart; pass freshKey when a test needs more.
const RSA_POOL_SIZE = { leaf: 8, ca: 8 } as const;
export type KeyPool = keyof typeof RSA_POOL_SIZE;
const rsaPools: Record<KeyPool, { slots: Array<Promise<KeyMaterial> | undefined>; next: number }> = {
  leaf: { slots: [], next: 0 },
  ca: { slots: [], next: 0 },
};

function subtleAlgorithm(kind: KeyKind): webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams {
  return kind === 'rsa'
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    : { name: 'ECDSA', namedCurve: 'P-256' };
}

function signingAlgorithm(kind: KeyKind): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return kind === 'rsa' ? { name: 'RSASSA-PKCS1-v1_5' } : { name: 'ECDSA', hash: 'SHA-256' };
}

function keyMaterial(kind: KeyKind, privateKey: KeyObject, publicKey: KeyObject): KeyMaterial {
  let imported: Promise<SubtleKey> | undefined;
  const pkcs8Der = privateKey.export({ type: 'pkcs8', format: 'der' });
  return {
    kind,
    keyPem: String(privateKey.export({ type: kind === 'rsa' ? 'pkcs1' : 'pkcs8', format: 'pem' })),
    spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
    signingKey: () => {
      imported ??= webcrypto.subtle.importKey('pkcs8', pkcs8Der, subtleAlgorithm(kind), false, ['sign']);
      return imported;
    },
  };
}

async function generateFresh(kind: KeyKind): Promise<KeyMaterial> {
  if (kind === 'rsa') {
    const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
    return keyMaterial(kind, privateKey, publicKey);
  }
  const { privateKey, publicKey } = await generateKeyPairAsync('ec', { namedCurve: 'prime256v1' });
  return keyMaterial(kind, privateKey, publicKey);
}

/** A key for a test certificate; RSA keys come from a per-process pool unless `fresh`. */
export function generateKey(
  kind: KeyKind = 'rsa',
  fresh = false,
  pool: KeyPool = 'leaf',
): Promise<KeyMaterial> {
  // ECDSA keys cost well under a millisecond: pooling them would only add sharing.
  if (kind === 'ecdsa' || fresh) return generateFresh(kind);
  const p = rsaPools[pool];
  const slot = p.next;
  p.next = (p.next + 1) % RSA_POOL_SIZE[pool];
  let entry = p.slots[slot];
  if (!entry) {
    entry = generateFresh('rsa');
    // A failed generation must not poison the slot for the rest of the process.
    entry.catch(() => {
      p.slots[slot] = undefined;
    });
    p.slots[slot] = entry;
  }
  return entry;
}

function randomSerial(): string {
  const bytes = randomBytes(16);
  // DER INTEGER is signed: a clear top bit keeps it positive, a set 0x40 keeps it 16 bytes long.
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

function toPem(cert: X509Certificate): string {
  const pem = cert.toString('pem').replace(/\r\n/g, '\n');
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

function subjectKeyId(x509: X509, cert: X509Certificate): string | undefined {
  return cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
}

export function fingerprint256(certPem: string): string {
  return new NodeX509(certPem).fingerprint256;
}

export async function createCa(opts: CreateCaOptions = {}): Promise<TestCa> {
  const x509 = await loadX509();
  const {
    AuthorityKeyIdentifierExtension,
    BasicConstraintsExtension,
    KeyUsageFlags,
    KeyUsagesExtension,
    SubjectKeyIdentifierExtension,
    X509CertificateGenerator,
  } = x509;
  const keyKind = opts.keyKind ?? 'rsa';
  const key = await generateKey(keyKind, opts.freshKey ?? false, 'ca');
  const issuer = opts.issuer;
  const now = Date.now();
  const suffix = randomBytes(4).toString('hex');
  const commonName =
    opts.commonName ??
    (issuer ? `RS Watchdog Test Intermediate CA ${suffix}` : `RS Watchdog Test Root CA ${suffix}`);
  const extensions: Extension[] = [
    new BasicConstraintsExtension(opts.isCa ?? true, opts.pathLength, true),
    new KeyUsagesExtension(
      opts.keyUsage ?? KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature,
      true,
    ),
    await SubjectKeyIdentifierExtension.create(key.spkiDer, false, webcrypto),
  ];
  if (opts.nameConstraints)
    extensions.push(new x509.Extension('2.5.29.30', true, nameConstraintsDer(opts.nameConstraints)));
  const issuerKeyId = issuer ? subjectKeyId(x509, issuer.cert) : undefined;
  if (issuerKeyId) extensions.push(new AuthorityKeyIdentifierExtension(issuerKeyId));
  const signer = issuer ? issuer.key : key;
  const subject: JsonName = [{ CN: [commonName] }, { O: ['rs-cert-watchdog tests'] }];
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject,
      issuer: issuer ? issuer.cert.subjectName : subject,
      notBefore: opts.notBefore ?? new Date(now - DAY_MS),
      notAfter: opts.notAfter ?? new Date(now + 3650 * DAY_MS),
      publicKey: key.spkiDer,
      signingKey: await signer.signingKey(),
      signingAlgorithm: signingAlgorithm(signer.kind),
      extensions,
    },
    webcrypto,
  );
  return { certPem: toPem(cert), keyPem: key.keyPem, keyKind, issuer, cert, key };
}

export async function issueCert(opts: IssueCertOptions): Promise<IssuedCert> {
  const x509 = await loadX509();
  const {
    AuthorityKeyIdentifierExtension,
    BasicConstraintsExtension,
    ExtendedKeyUsage,
    ExtendedKeyUsageExtension,
    KeyUsageFlags,
    KeyUsagesExtension,
    SubjectAlternativeNameExtension,
    SubjectKeyIdentifierExtension,
    X509CertificateGenerator,
  } = x509;
  const { ca } = opts;
  const keyKind = opts.keyKind ?? 'rsa';
  const key = await generateKey(keyKind, opts.freshKey ?? false);
  const now = Date.now();
  const ipAddresses = opts.ipAddresses ?? [];
  const names: JsonGeneralNames = [
    ...opts.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  const extKeyUsage = opts.extKeyUsage ?? ['serverAuth', 'clientAuth'];
  const extensions: Extension[] = [
    new BasicConstraintsExtension(false, undefined, true),
    new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment, true),
    await SubjectKeyIdentifierExtension.create(key.spkiDer, false, webcrypto),
  ];
  if (extKeyUsage.length > 0) {
    extensions.push(new ExtendedKeyUsageExtension(extKeyUsage.map((u) => ExtendedKeyUsage[u])));
  }
  // A SAN extension with no names is invalid DER (GeneralNames is SIZE (1..MAX)).
  if (names.length > 0) extensions.push(new SubjectAlternativeNameExtension(names));
  const caKeyId = subjectKeyId(x509, ca.cert);
  if (caKeyId) extensions.push(new AuthorityKeyIdentifierExtension(caKeyId));
  const commonName = opts.commonName ?? opts.dnsNames[0] ?? ipAddresses[0] ?? 'test-leaf';
  const notBefore = opts.notBefore ?? new Date(now - 3_600_000);
  const notAfter = opts.notAfter ?? new Date(now + 90 * DAY_MS);
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: opts.subject ?? [{ CN: [commonName] }],
      issuer: ca.cert.subjectName,
      notBefore,
      notAfter,
      publicKey: key.spkiDer,
      signingKey: await ca.key.signingKey(),
      signingAlgorithm: signingAlgorithm(ca.key.kind),
      extensions,
    },
    webcrypto,
  );
  const certPem = toPem(cert);
  const chainPem = [certPem, ...(opts.chain ?? []).map((c) => c.certPem)].join('');
  return {
    certPem,
    keyPem: key.keyPem,
    chainPem,
    fingerprint256: fingerprint256(certPem),
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

/**
 * NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL, excludedSubtrees
 * [1] GeneralSubtrees OPTIONAL }, each GeneralSubtree a SEQUENCE { base GeneralName } with base a
 * dNSName ([2] IA5String): DER, by hand (RFC 5280 §4.2.1.10).
 */
function nameConstraintsDer(constraints: { permitted?: string[]; excluded?: string[] }): ArrayBuffer {
  const tlv = (tag: number, content: Buffer): Buffer => {
    const n = content.length;
    const length =
      n < 0x80 ? Buffer.of(n) : n < 0x100 ? Buffer.of(0x81, n) : Buffer.of(0x82, n >> 8, n & 0xff);
    return Buffer.concat([Buffer.of(tag), length, content]);
  };
  const subtrees = (tag: number, names: string[]) =>
    tlv(tag, Buffer.concat(names.map((name) => tlv(0x30, tlv(0x82, Buffer.from(name, 'ascii'))))));
  const der = tlv(
    0x30,
    Buffer.concat([
      ...(constraints.permitted?.length ? [subtrees(0xa0, constraints.permitted)] : []),
      ...(constraints.excluded?.length ? [subtrees(0xa1, constraints.excluded)] : []),
    ]),
  );
  return der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer;
}
