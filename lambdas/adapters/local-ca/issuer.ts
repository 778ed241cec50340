/**
 * Issues certificates from a CA the operator keeps (labs, small estates): `issuer` =
 * {"type":"local-ca","certFile","keyFile"|"keySecret","validityDays"}. Each certificate carries
 * serverAuth and clientAuth, so it suits every RS certificate, including syncer and ldap_client,
 * which a public ACME CA can no longer renew. Signed with @peculiar/x509 on node's WebCrypto.
 */
import { type KeyObject, randomBytes, webcrypto } from 'node:crypto';
import type { KeyType, LocalCaIssuerConfig } from '../../domain/config/types';

type CryptoKey = webcrypto.CryptoKey;
type SigningAlgorithm = webcrypto.Algorithm | webcrypto.EcdsaParams;

// Types only (erased): the library itself loads through loadX509, after its polyfill.
import type { X509Certificate } from '@peculiar/x509';
import { LocalCaFileError, PrivateCaError } from '../../domain/errors';
import type { CertificateIssuer, IssuedPair, IssueOptions } from '../../domain/ports';
import { keyFor } from '../keys';
import { parseCaCertificateFile, parseCaKey } from './ca-files';
import { loadX509 } from './x509';

const DAY_MS = 86_400_000;
/** Backdated so a cluster node whose clock runs a little behind accepts the certificate at once. */
const BACKDATE_MS = 5 * 60_000;

export interface LocalCaOptions {
  config: LocalCaIssuerConfig;
  /** Reads certFile and keyFile (config-file adapter: the local disk). */
  readFile: (path: string) => Promise<string>;
  /** Reads keySecret (Secrets Manager); required when the config uses keySecret. */
  readSecret?: (nameOrArn: string) => Promise<string>;
  now?: () => Date;
}

interface LoadedCa {
  certificate: X509Certificate;
  /** certFile as given: the CA and any certificates above it, appended to every leaf. */
  chainPem: string;
  signingKey: CryptoKey;
  signingAlgorithm: SigningAlgorithm;
  notAfter: Date;
}

export class LocalCaIssuer implements CertificateIssuer {
  private ca: Promise<LoadedCa> | undefined;

  constructor(private readonly options: LocalCaOptions) {}

  async issue(domains: string[], keyType: KeyType, options?: IssueOptions): Promise<IssuedPair> {
    const [ca, key, x509] = await Promise.all([this.loadCa(), keyFor(keyType, options), loadX509()]);
    const {
      AuthorityKeyIdentifierExtension,
      BasicConstraintsExtension,
      ExtendedKeyUsage,
      ExtendedKeyUsageExtension,
      KeyUsageFlags,
      KeyUsagesExtension,
      SubjectAlternativeNameExtension,
      SubjectKeyIdentifierExtension,
      X509Certificate,
      X509CertificateGenerator,
    } = x509;
    const now = (this.options.now ?? (() => new Date()))();
    const notBefore = new Date(now.getTime() - BACKDATE_MS);
    const notAfter = new Date(now.getTime() + this.options.config.validityDays * DAY_MS);
    if (notAfter > ca.notAfter) {
      throw new PrivateCaError(
        `the local CA (${this.options.config.certFile}) expires ${ca.notAfter.toISOString()}, before a ${this.options.config.validityDays}-day certificate would`,
        { hint: "renew the CA certificate, or lower the issuer's validityDays" },
      );
    }
    const subtle = webcrypto.subtle;
    const rsa = keyType === 'rsa-2048';
    const publicKey = await subtle.importKey(
      'spki',
      key.publicKey.export({ type: 'spki', format: 'der' }),
      rsa ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'ECDSA', namedCurve: 'P-256' },
      true,
      ['verify'],
    );
    const caKeyId = ca.certificate.getExtension(SubjectKeyIdentifierExtension)?.keyId;
    const serial = randomBytes(16);
    serial[0] = (serial[0] ?? 0) & 0x7f; // positive, 128 bits minus one (CA/B Forum asks for 64+ random bits)
    try {
      const leaf = await X509CertificateGenerator.create(
        {
          serialNumber: serial.toString('hex'),
          // The client certificate keeps its subject attribute for attribute (RS matches users by it).
          subject: options?.sameSubjectAs
            ? new X509Certificate(options.sameSubjectAs).subjectName
            : [{ CN: [domains[0] ?? ''] }],
          issuer: ca.certificate.subjectName,
          notBefore,
          notAfter,
          publicKey,
          signingKey: ca.signingKey,
          signingAlgorithm: ca.signingAlgorithm,
          extensions: [
            new BasicConstraintsExtension(false, undefined, true),
            new KeyUsagesExtension(
              rsa
                ? KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment
                : KeyUsageFlags.digitalSignature,
              true,
            ),
            // Both: RS acts as a TLS server and, for syncer, ldap_client and internode, as a client.
            new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth]),
            // GeneralNames is SIZE (1..MAX): a certificate without names has no SAN extension.
            ...(domains.length > 0
              ? [
                  new SubjectAlternativeNameExtension(
                    domains.map((value) => ({ type: 'dns' as const, value })),
                  ),
                ]
              : []),
            await SubjectKeyIdentifierExtension.create(publicKey, false, webcrypto),
            ...(caKeyId ? [new AuthorityKeyIdentifierExtension(caKeyId)] : []),
          ],
        },
        webcrypto,
      );
      return { certificatePem: `${leaf.toString('pem')}\n${ca.chainPem}`, keyPem: key.keyPem };
    } catch (error) {
      throw new PrivateCaError(
        `the local CA could not sign for ${domains.join(', ') || 'the client certificate'}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  private loadCa(): Promise<LoadedCa> {
    this.ca ??= this.readCa();
    this.ca.catch(() => {
      this.ca = undefined; // a fixed file is read again on the next certificate
    });
    return this.ca;
  }

  private async readCa(): Promise<LoadedCa> {
    const { config, readFile, readSecret } = this.options;
    let certText: string;
    let keyText: string;
    try {
      certText = await readFile(config.certFile);
    } catch (error) {
      throw new LocalCaFileError(
        `cannot read the local CA certificate file ${config.certFile}: ${(error as Error).message}`,
        { hint: 'certFile must be a readable file holding the CA certificate in PEM' },
      );
    }
    try {
      if (config.keyFile) keyText = await readFile(config.keyFile);
      else if (config.keySecret && readSecret) keyText = await readSecret(config.keySecret);
      else throw new Error('no keyFile, and no secret reader for keySecret');
    } catch (error) {
      // Never the key's content: only where it was looked for.
      throw new LocalCaFileError(
        `cannot read the local CA key (${config.keyFile ?? `secret ${config.keySecret}`}): ${(error as Error).message}`,
        { hint: "keyFile (or keySecret) must hold the CA's unencrypted private key in PEM" },
      );
    }
    const { ca: nodeCert, blocks } = parseCaCertificateFile(certText, config.certFile);
    const nodeKey = parseCaKey(keyText, config.keyFile ?? `secret ${config.keySecret}`, {
      ca: nodeCert,
      file: config.certFile,
    });
    const pkcs8 = nodeKey.export({ type: 'pkcs8', format: 'der' });
    const { signingKey, signingAlgorithm } = await importSigningKey(pkcs8, nodeKey);
    const { X509Certificate } = await loadX509();
    return {
      certificate: new X509Certificate(blocks[0] as string),
      chainPem: `${blocks.join('\n')}\n`,
      signingKey,
      signingAlgorithm,
      notAfter: new Date(nodeCert.validTo),
    };
  }
}

async function importSigningKey(
  pkcs8: Buffer,
  key: KeyObject,
): Promise<{ signingKey: CryptoKey; signingAlgorithm: SigningAlgorithm }> {
  const subtle = webcrypto.subtle;
  if (key.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return {
      signingKey: await subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']),
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' },
    };
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : undefined;
    if (!namedCurve)
      throw new PrivateCaError(`the local CA's EC curve ${curve ?? '?'} is not supported (P-256 or P-384)`);
    return {
      signingKey: await subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve }, false, ['sign']),
      signingAlgorithm: { name: 'ECDSA', hash: namedCurve === 'P-384' ? 'SHA-384' : 'SHA-256' },
    };
  }
  throw new PrivateCaError(
    `the local CA's key type ${key.asymmetricKeyType ?? '?'} is not supported (RSA or EC)`,
  );
}
