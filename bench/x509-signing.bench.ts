/**
 * Signing a leaf certificate without a CSR (a public key, a CA certificate and its key in; a PEM leaf out):
 * node-forge (pure JavaScript) against @peculiar/x509 (WebCrypto, i.e. OpenSSL underneath). The leaf has
 * what an RS certificate needs: serverAuth + clientAuth, SAN dNSNames, 30 days. node:crypto has no
 * certificate-signing API, so it is not a contender. Runs alternate between the libraries.
 *
 *   tsx bench/x509-signing.bench.ts
 */
import {
  createPrivateKey,
  generateKeyPair,
  type KeyObject,
  randomBytes,
  webcrypto,
  X509Certificate,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
// @peculiar/x509 as the product loads it (the Reflect polyfill tsyringe needs, installed first).
import { loadX509 } from '../lambdas/adapters/local-ca/x509';
import { createCa, type KeyKind, type TestCa } from '../test/support/pki';
import {
  consoleTable,
  fmt,
  fmtMs,
  log,
  machineInfo,
  markdownTable,
  REPO_DIR,
  type Result,
  runIfMain,
  type Summary,
  summarize,
  type Target,
  targetsTable,
  writeResult,
} from './support/common';

const {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509Certificate: PeculiarCertificate,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
} = await loadX509();

const generate = promisify(generateKeyPair);

const ITER = { runs: 120, warmup: 10 } as const;
const DAY_MS = 86_400_000;
const NAMES = ['redis.example.com', '*.redis.example.com', 'api.redis.example.com'];

/** The inputs of one signing, as a Lambda would hold them: PEM strings. */
interface SigningInput {
  kind: KeyKind;
  leafPublicKeyPem: string;
  caCertPem: string;
  /** PKCS#8 for both libraries (forge reads PKCS#8 RSA keys too). */
  caKeyPem: string;
  caPublicKey: KeyObject;
}

type Signer = (input: SigningInput) => Promise<string>;

function serialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

function validity(): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + 30 * DAY_MS) };
}

/** node-forge: parse the PEMs, build, sign with SHA-256. RSA only. */
const forgeSign: Signer = async (input) => {
  const caCert = forge.pki.certificateFromPem(input.caCertPem);
  const caKey = forge.pki.privateKeyFromPem(input.caKeyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(input.leafPublicKeyPem);
  cert.serialNumber = serialHex();
  const { notBefore, notAfter } = validity();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject([{ name: 'commonName', value: NAMES[0] }]);
  cert.setIssuer(caCert.subject.attributes);
  const caSki = (caCert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | null)
    ?.subjectKeyIdentifier;
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames: NAMES.map((value) => ({ type: 2, value })) },
    { name: 'subjectKeyIdentifier' },
    ...(caSki ? [{ name: 'authorityKeyIdentifier', keyIdentifier: forge.util.hexToBytes(caSki) }] : []),
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
};

/** @peculiar/x509 on node's WebCrypto: import the keys, build, sign with SHA-256. */
const peculiarSign: Signer = async (input) => {
  const subtle = webcrypto.subtle;
  const rsa = input.kind === 'rsa';
  const importAlg = rsa
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    : { name: 'ECDSA', namedCurve: 'P-256' };
  const caCert = new PeculiarCertificate(input.caCertPem);
  const der = (pem: string): Buffer => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const [caKey, leafKey] = await Promise.all([
    subtle.importKey('pkcs8', der(input.caKeyPem), importAlg, false, ['sign']),
    subtle.importKey('spki', der(input.leafPublicKeyPem), importAlg, true, ['verify']),
  ]);
  const { notBefore, notAfter } = validity();
  const caSki = caCert.getExtension(SubjectKeyIdentifierExtension)?.keyId;
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: serialHex(),
      subject: [{ CN: [NAMES[0] ?? ''] }],
      issuer: caCert.subjectName,
      notBefore,
      notAfter,
      publicKey: leafKey,
      signingKey: caKey,
      signingAlgorithm: rsa ? { name: 'RSASSA-PKCS1-v1_5' } : { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new BasicConstraintsExtension(false, undefined, true),
        new KeyUsagesExtension(
          rsa
            ? KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment
            : KeyUsageFlags.digitalSignature,
          true,
        ),
        new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth]),
        new SubjectAlternativeNameExtension(NAMES.map((value) => ({ type: 'dns' as const, value }))),
        await SubjectKeyIdentifierExtension.create(leafKey, false, webcrypto),
        ...(caSki ? [new AuthorityKeyIdentifierExtension(caSki)] : []),
      ],
    },
    webcrypto,
  );
  return cert.toString('pem');
};

async function makeInput(kind: KeyKind): Promise<{ input: SigningInput; ca: TestCa }> {
  const ca = await createCa({
    commonName: `rs-cert-watchdog bench ${kind} CA`,
    keyKind: kind,
    freshKey: true,
  });
  const leaf =
    kind === 'rsa'
      ? await generate('rsa', { modulusLength: 2048, publicExponent: 0x10001 })
      : await generate('ec', { namedCurve: 'P-256' });
  const caKey = createPrivateKey(ca.keyPem);
  return {
    ca,
    input: {
      kind,
      leafPublicKeyPem: String(leaf.publicKey.export({ type: 'spki', format: 'pem' })),
      caCertPem: ca.certPem,
      caKeyPem: String(caKey.export({ type: 'pkcs8', format: 'pem' })),
      caPublicKey: new X509Certificate(ca.certPem).publicKey,
    },
  };
}

/** Both libraries must produce the same certificate shape before they are compared. */
function check(label: string, pem: string, input: SigningInput): void {
  const cert = new X509Certificate(pem);
  const fail = (what: string): never => {
    throw new Error(`${label}: ${what}`);
  };
  if (!cert.verify(input.caPublicKey)) fail('signature does not verify with the CA key');
  if (!cert.checkIssued(new X509Certificate(input.caCertPem))) fail('not issued by the CA');
  if (cert.ca) fail('is a CA');
  if (cert.subjectAltName !== NAMES.map((n) => `DNS:${n}`).join(', ')) fail(`SAN is ${cert.subjectAltName}`);
  const eku = [...(cert.keyUsage ?? [])].sort();
  if (eku.join(',') !== ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'].join(',')) fail(`EKU is ${eku.join(',')}`);
  const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / DAY_MS;
  if (days !== 30) fail(`validity is ${days} days`);
  const spki = (pemKey: string) => pemKey.replace(/-----[^-]+-----|\s/g, '');
  const leafSpki = String(cert.publicKey.export({ type: 'spki', format: 'pem' }));
  if (spki(leafSpki) !== spki(input.leafPublicKeyPem)) fail('public key differs from the one given');
  const peculiar = new PeculiarCertificate(pem);
  const caSki = new PeculiarCertificate(input.caCertPem).getExtension(SubjectKeyIdentifierExtension)?.keyId;
  if (peculiar.getExtension(AuthorityKeyIdentifierExtension)?.keyId !== caSki)
    fail('authority key identifier is not the CA subject key identifier');
  if (!peculiar.getExtension(SubjectKeyIdentifierExtension)) fail('no subject key identifier');
}

/** Runs the signers round-robin (A, B, A, B, ...) so drift in JIT, GC and load hits them alike. */
async function interleaved<K extends string>(
  fns: Record<K, () => Promise<unknown>>,
  runs: number,
  warmup: number,
): Promise<Record<K, number[]>> {
  const names = Object.keys(fns) as K[];
  const samples = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let i = 0; i < warmup; i++) for (const k of names) await fns[k]();
  for (let i = 0; i < runs; i++) {
    // Alternate which one goes first, too.
    const order = i % 2 === 0 ? names : [...names].reverse();
    for (const k of order) {
      const t = performance.now();
      await fns[k]();
      samples[k].push(performance.now() - t);
    }
  }
  return samples;
}

interface Row {
  keys: string;
  implementation: string;
  stats?: Summary;
  /** This row's median over the @peculiar/x509 row of the same keys. */
  ratio?: number;
  error?: string;
}

export async function run(): Promise<Result> {
  const started = performance.now();
  const machine = machineInfo();
  log('\n## x509-signing: node-forge vs @peculiar/x509, leaf certificate without a CSR');
  const rows: Row[] = [];
  const samples: Record<string, number[]> = {};

  log('  RSA-2048 CA and leaf ...');
  const { input: rsa } = await makeInput('rsa');
  check('node-forge RSA', await forgeSign(rsa), rsa);
  check('@peculiar/x509 RSA', await peculiarSign(rsa), rsa);
  const rsaSamples = await interleaved(
    { forge: () => forgeSign(rsa), peculiar: () => peculiarSign(rsa) },
    ITER.runs,
    ITER.warmup,
  );
  const rsaPeculiar = summarize(rsaSamples.peculiar);
  const rsaForge = summarize(rsaSamples.forge);
  samples['rsa/@peculiar/x509'] = rsaSamples.peculiar;
  samples['rsa/node-forge'] = rsaSamples.forge;
  rows.push(
    {
      keys: 'RSA-2048 CA, RSA-2048 leaf',
      implementation: '@peculiar/x509 2.2 (WebCrypto)',
      stats: rsaPeculiar,
    },
    {
      keys: 'RSA-2048 CA, RSA-2048 leaf',
      implementation: `node-forge ${forgeVersion()} (pure JS)`,
      stats: rsaForge,
      ratio: rsaForge.median / rsaPeculiar.median,
    },
  );

  log('  ECDSA P-256 CA and leaf ...');
  const { input: ec } = await makeInput('ecdsa');
  check('@peculiar/x509 ECDSA', await peculiarSign(ec), ec);
  let forgeEcError = '';
  try {
    check('node-forge ECDSA', await forgeSign(ec), ec);
    forgeEcError = '(no error: node-forge signed an ECDSA certificate)';
  } catch (error) {
    forgeEcError = (error as Error).message;
  }
  const ecSamples = await interleaved({ peculiar: () => peculiarSign(ec) }, ITER.runs, ITER.warmup);
  const ecPeculiar = summarize(ecSamples.peculiar);
  samples['ecdsa/@peculiar/x509'] = ecSamples.peculiar;
  rows.push(
    {
      keys: 'ECDSA P-256 CA, P-256 leaf',
      implementation: '@peculiar/x509 2.2 (WebCrypto)',
      stats: ecPeculiar,
    },
    {
      keys: 'ECDSA P-256 CA, P-256 leaf',
      implementation: `node-forge ${forgeVersion()}`,
      error: forgeEcError,
    },
  );

  const headers = ['Keys', 'Implementation', 'Median', 'p90', 'Min–max', 'Runs', 'vs @peculiar/x509'];
  const tableRows = rows.map((r) =>
    r.stats
      ? [
          r.keys,
          r.implementation,
          fmtMs(r.stats.median),
          fmtMs(r.stats.p90),
          `${fmtMs(r.stats.min)}–${fmtMs(r.stats.max)}`,
          String(r.stats.n),
          r.ratio === undefined ? '1×' : `${fmt(r.ratio, r.ratio >= 10 ? 0 : 2)}×`,
        ]
      : [r.keys, r.implementation, 'fails', '', '', '', `error: "${r.error ?? ''}"`],
  );
  log(consoleTable(headers, tableRows));

  const forgeCannotEc = forgeEcError !== '' && !forgeEcError.startsWith('(no error');
  const targets: Target[] = [
    {
      name: 'RSA-2048 leaf signing (PEM in, PEM out) under 50 ms median, faster library',
      threshold: '< 50 ms',
      measured: fmtMs(Math.min(rsaPeculiar.median, rsaForge.median)),
      pass: Math.min(rsaPeculiar.median, rsaForge.median) < 50,
    },
    {
      name: '@peculiar/x509 signs ECDSA P-256 leaves (node-forge cannot)',
      threshold: 'forge throws',
      measured: forgeCannotEc ? 'forge throws' : 'forge signed it',
      pass: forgeCannotEc,
    },
  ];

  const markdown = [
    'One leaf certificate from PEM inputs (the leaf public key, the CA certificate, the CA key as PKCS#8) to a PEM ' +
      'output, parsing and key import included: serverAuth + clientAuth, 3 SAN dNSNames, 30 days, key usage, ' +
      'SKI and AKI, SHA-256. Each output is first checked with node:crypto (signature, issuer, SAN, EKU, validity, ' +
      `key) and the AKI against the CA's SKI. ${ITER.runs} runs each after ${ITER.warmup} warm-up runs, alternating ` +
      'between the libraries. node:crypto cannot sign certificates.',
    '',
    markdownTable(headers, tableRows, ['l', 'l', 'r', 'r', 'r', 'r', 'r']),
    '',
    targetsTable(targets),
  ].join('\n');

  const result: Result = {
    name: 'x509-signing',
    title: 'Leaf certificate signing: node-forge vs @peculiar/x509',
    markdown,
    targets,
    durationMs: performance.now() - started,
    data: { iterations: ITER, names: NAMES, rows, forgeEcdsaError: forgeEcError, samples },
  };
  writeResult(result, machine);
  return result;
}

function forgeVersion(): string {
  const file = join(REPO_DIR, 'node_modules', 'node-forge', 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

runIfMain(import.meta.url, run);
