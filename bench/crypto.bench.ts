/**
 * Crypto choices: node:crypto (what the product uses) against node-forge pure JavaScript for RSA key
 * generation, CSR creation (acme-client's WebCrypto `createCsr`, as the issuer does) and
 * certificate parsing, plus node-forge on an ECDSA certificate.
 */
import { generateKeyPair, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import acme from 'acme-client';
import forge from 'node-forge';
import { createCa, issueCert } from '../test/support/pki';
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

const generate = promisify(generateKeyPair);

const ITER = {
  nodeRsa: 15,
  forgeRsa: 7,
  nodeEc: 200,
  csrAcme: 60,
  csrForge: 30,
  parse: 600,
  warmup: 5,
} as const;

async function timeAsync(
  n: number,
  fn: () => Promise<unknown>,
  warmup: number = ITER.warmup,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

function timeSync(n: number, fn: () => unknown, warmup = 50): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return out;
}

/** Times several synchronous functions in alternating blocks, so JIT and GC drift hit them alike. */
function interleaved<K extends string>(
  fns: Record<K, () => unknown>,
  total: number,
  blocks = 6,
): Record<K, Summary> {
  const names = Object.keys(fns) as K[];
  const samples = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (const k of names) timeSync(0, fns[k], 200);
  for (let b = 0; b < blocks; b++) {
    for (const k of names) samples[k].push(...timeSync(Math.ceil(total / blocks), fns[k], 10));
  }
  return Object.fromEntries(names.map((k) => [k, summarize(samples[k])])) as Record<K, Summary>;
}

interface Row {
  operation: string;
  implementation: string;
  stats: Summary;
  /** Ratio of this row's median to the node:crypto row of the same operation. */
  ratio?: number;
  note?: string;
}

export async function run(): Promise<Result> {
  const started = performance.now();
  const machine = machineInfo();
  log('\n## crypto: node:crypto vs node-forge (pure JavaScript)');
  const rows: Row[] = [];

  // (a) RSA-2048 key generation.
  log('  RSA-2048 key generation ...');
  const nodeRsa = summarize(
    await timeAsync(ITER.nodeRsa, () => generate('rsa', { modulusLength: 2048, publicExponent: 0x10001 }), 2),
  );
  const nodeEc = summarize(await timeAsync(ITER.nodeEc, () => generate('ec', { namedCurve: 'P-256' })));
  // `options` is missing from @types/node-forge.
  const forgeOptions = (forge as unknown as { options: { usePureJavaScript: boolean } }).options;
  const previousPure = forgeOptions.usePureJavaScript;
  forgeOptions.usePureJavaScript = true;
  let forgeRsa: Summary;
  try {
    // Synchronous and pure JS: blocks the event loop for the whole generation. No warm-up: each run is seconds.
    forgeRsa = summarize(
      timeSync(ITER.forgeRsa, () => forge.pki.rsa.generateKeyPair({ bits: 2048, workers: -1 }), 0),
    );
  } finally {
    forgeOptions.usePureJavaScript = previousPure;
  }
  rows.push(
    {
      operation: 'RSA-2048 key generation',
      implementation: 'node:crypto generateKeyPair (async)',
      stats: nodeRsa,
    },
    {
      operation: 'RSA-2048 key generation',
      implementation: 'node-forge rsa.generateKeyPair, pure JS',
      stats: forgeRsa,
      ratio: forgeRsa.median / nodeRsa.median,
      note: 'synchronous: blocks the event loop',
    },
    {
      operation: 'ECDSA P-256 key generation',
      implementation: 'node:crypto generateKeyPair (async)',
      stats: nodeEc,
      note: 'for reference',
    },
  );

  // (b) CSR creation from the same RSA key (PKCS#8 PEM, as the issuer passes it), key parse included.
  log('  CSR creation ...');
  const { privateKey } = await generate('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const domain = 'bench.example.com';
  const acmeCsr = summarize(
    await timeAsync(ITER.csrAcme, () =>
      acme.crypto.createCsr({ commonName: domain, altNames: [domain] }, keyPem),
    ),
  );
  const forgeCsrOnce = (): string => {
    const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
    csr.setSubject([{ name: 'commonName', value: domain }]);
    csr.setAttributes([
      {
        name: 'extensionRequest',
        extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: domain }] }],
      },
    ]);
    csr.sign(key, forge.md.sha256.create());
    return forge.pki.certificationRequestToPem(csr);
  };
  // Both CSRs must be valid before they are compared.
  const [, acmeCsrPem] = await acme.crypto.createCsr({ commonName: domain, altNames: [domain] }, keyPem);
  const forgeCsrPem = forgeCsrOnce();
  const forgeParsed = forge.pki.certificationRequestFromPem(forgeCsrPem);
  if (!forgeParsed.verify()) throw new Error('node-forge CSR does not verify');
  if (!acmeCsrPem.toString().includes('BEGIN CERTIFICATE REQUEST'))
    throw new Error('acme-client CSR is not PEM');
  const forgeCsr = summarize(await timeAsync(ITER.csrForge, async () => forgeCsrOnce()));
  rows.push(
    {
      operation: 'CSR (RSA-2048, SHA-256, 1 SAN)',
      implementation: 'acme-client crypto.createCsr (WebCrypto)',
      stats: acmeCsr,
      note: 'what the issuer uses',
    },
    {
      operation: 'CSR (RSA-2048, SHA-256, 1 SAN)',
      implementation: 'node-forge createCertificationRequest + sign',
      stats: forgeCsr,
      ratio: forgeCsr.median / acmeCsr.median,
    },
  );

  // (c) Certificate parsing: an RSA leaf with SANs, and an ECDSA one.
  log('  certificate parsing ...');
  const ca = await createCa({ commonName: 'rs-cert-watchdog bench CA' });
  const names = ['redis.example.com', '*.redis.example.com', 'api.redis.example.com'];
  const rsaLeaf = await issueCert({ ca, dnsNames: names, keyKind: 'rsa', freshKey: true });
  const ecLeaf = await issueCert({ ca, dnsNames: names, keyKind: 'ecdsa' });
  const readNode = (pem: string) => {
    const cert = new X509Certificate(pem);
    return [cert.subjectAltName, cert.validTo, cert.fingerprint256];
  };
  const readForge = (pem: string) => {
    const cert = forge.pki.certificateFromPem(pem);
    const san = cert.getExtension('subjectAltName') as { altNames?: Array<{ value: string }> } | undefined;
    const der = forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes();
    const fingerprint = forge.md.sha256.create().update(der).digest().toHex();
    return [san?.altNames?.map((a) => a.value), cert.validity.notAfter, fingerprint];
  };
  // Same answers from both, or the comparison means nothing.
  const [nodeSan, , nodeFp] = readNode(rsaLeaf.certPem);
  const [forgeSan, , forgeFp] = readForge(rsaLeaf.certPem);
  if (String(nodeFp).replace(/:/g, '').toLowerCase() !== forgeFp)
    throw new Error('fingerprints differ between node:crypto and node-forge');
  if (!names.every((n) => String(nodeSan).includes(n) && (forgeSan as string[]).includes(n)))
    throw new Error('subjectAltName differs between node:crypto and node-forge');

  const parsed = interleaved(
    {
      nodeParseOnly: () => new X509Certificate(rsaLeaf.certPem),
      forgeParseOnly: () => forge.pki.certificateFromPem(rsaLeaf.certPem),
      nodeRead: () => readNode(rsaLeaf.certPem),
      forgeRead: () => readForge(rsaLeaf.certPem),
      nodeReadEc: () => readNode(ecLeaf.certPem),
    },
    ITER.parse,
  );
  const { nodeParseOnly, forgeParseOnly, nodeRead, forgeRead, nodeReadEc } = parsed;
  let forgeEcError = '';
  try {
    readForge(ecLeaf.certPem);
    forgeEcError = '(no error: node-forge read the ECDSA certificate)';
  } catch (error) {
    forgeEcError = (error as Error).message;
  }
  rows.push(
    {
      operation: 'Parse RSA certificate (constructor only)',
      implementation: 'node:crypto new X509Certificate',
      stats: nodeParseOnly,
    },
    {
      operation: 'Parse RSA certificate (constructor only)',
      implementation: 'node-forge pki.certificateFromPem',
      stats: forgeParseOnly,
      ratio: forgeParseOnly.median / nodeParseOnly.median,
    },
    {
      operation: 'Parse RSA certificate + read SAN, notAfter, SHA-256 fingerprint',
      implementation: 'node:crypto X509Certificate',
      stats: nodeRead,
    },
    {
      operation: 'Parse RSA certificate + read SAN, notAfter, SHA-256 fingerprint',
      implementation: 'node-forge (fingerprint over certificateToAsn1 DER)',
      stats: forgeRead,
      ratio: forgeRead.median / nodeRead.median,
    },
    {
      operation: 'Parse ECDSA P-256 certificate + read the same',
      implementation: 'node:crypto X509Certificate',
      stats: nodeReadEc,
    },
  );

  const headers = ['Operation', 'Implementation', 'Median', 'p90', 'Min–max', 'Runs', 'vs node:crypto'];
  const tableRows = rows.map((r) => [
    r.operation,
    r.implementation + (r.note ? `; ${r.note}` : ''),
    fmtMs(r.stats.median),
    fmtMs(r.stats.p90),
    `${fmtMs(r.stats.min)}–${fmtMs(r.stats.max)}`,
    String(r.stats.n),
    r.ratio === undefined ? '1×' : `${fmt(r.ratio, r.ratio >= 10 ? 0 : 2)}×`,
  ]);
  tableRows.push([
    'Parse ECDSA P-256 certificate + read the same',
    'node-forge pki.certificateFromPem',
    'fails',
    '',
    '',
    '',
    `error: "${forgeEcError}"`,
  ]);
  log(consoleTable(headers, tableRows));

  const targets: Target[] = [
    {
      name: 'node:crypto RSA-2048 keygen faster than forge pure JS',
      threshold: 'ratio > 1',
      measured: `${fmt(forgeRsa.median / nodeRsa.median, 1)}×`,
      pass: forgeRsa.median > nodeRsa.median,
    },
    {
      name: 'node:crypto parses ECDSA certificates (forge cannot)',
      threshold: 'forge throws',
      measured: forgeEcError ? 'forge throws' : 'forge parsed it',
      pass: forgeEcError !== '' && !forgeEcError.startsWith('(no error'),
    },
  ];

  const markdown = [
    `node:crypto on OpenSSL ${process.versions.openssl}; node-forge ${forgeVersion()} with \`forge.options.usePureJavaScript = true\` for key generation ` +
      '(otherwise forge delegates to node:crypto). CSR timings start from the same PKCS#8 PEM key (key import included). ' +
      'Parse rows read subjectAltName, validTo/notAfter and the SHA-256 fingerprint; both libraries are checked to return the same values first.',
    '',
    markdownTable(headers, tableRows, ['l', 'l', 'r', 'r', 'r', 'r', 'r']),
    '',
    targetsTable(targets),
  ].join('\n');

  const result: Result = {
    name: 'crypto',
    title: 'Crypto: node:crypto vs node-forge',
    markdown,
    targets,
    durationMs: performance.now() - started,
    data: { iterations: ITER, rows, forgeEcdsaError: forgeEcError },
  };
  writeResult(result, machine);
  return result;
}

function forgeVersion(): string {
  const file = join(REPO_DIR, 'node_modules', 'node-forge', 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

runIfMain(import.meta.url, run);
