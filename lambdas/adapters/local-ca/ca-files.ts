/**
 * Reading the local CA's files (`certFile`, and `keyFile` or `keySecret`) into what signing needs,
 * with node:crypto only: the issuer uses it before each first signature, the CLI before any network
 * call (config-file's checkLocalInputs) and synth before bundling certFile. Anything else in them is a
 * LocalCaFileError naming the file and what was expected, never quoting the content (a key file may
 * be a symlink to any secret).
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { LocalCaFileError } from '../../domain/errors';

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export interface CaCertificateFile {
  /** The CA that signs: the first certificate of the file. */
  ca: X509Certificate;
  /** Every certificate of the file, as PEM blocks (the CA, then any above it). */
  blocks: string[];
}

/** certFile's text: the CA certificate in PEM, then any certificates above it. */
export function parseCaCertificateFile(text: string, file: string): CaCertificateFile {
  const what = `the local CA certificate file ${file}`;
  const expected =
    'expected the CA certificate in PEM ("-----BEGIN CERTIFICATE-----"), then any certificates above it';
  const hint = `put the CA certificate in PEM in ${file} (a DER file converts with: openssl x509 -inform DER -in ca.der -out ca.pem)`;
  const blocks = text.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) {
    const key = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text);
    throw new LocalCaFileError(
      `${what} holds no PEM certificate${key ? ' (it holds a private key: certFile and keyFile swapped?)' : ''}; ${expected}`,
      { hint },
    );
  }
  const parsed = blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new LocalCaFileError(
        `${what}: certificate #${i + 1} does not parse as X.509 (${reason(error)}); ${expected}`,
        { hint },
      );
    }
  });
  const ca = parsed[0] as X509Certificate;
  if (!ca.ca) {
    throw new LocalCaFileError(
      `${what}: its first certificate (${ca.subject.replace(/\n/g, ', ')}) is not a CA (basicConstraints cA is not set, or its key usage does not include certificate signing); ${expected}`,
      {
        hint: 'the first certificate must be the CA that signs (cA set, keyCertSign allowed), not a leaf certificate',
      },
    );
  }
  return { ca, blocks };
}

/** keyFile's (or keySecret's) text: the CA's unencrypted private key in PEM, belonging to `ca`. */
export function parseCaKey(
  text: string,
  where: string,
  ca?: { ca: X509Certificate; file: string },
): KeyObject {
  const what = `the local CA key ${where}`;
  const expected =
    'expected the CA\'s unencrypted private key in PEM ("-----BEGIN PRIVATE KEY-----", "BEGIN RSA PRIVATE KEY" or "BEGIN EC PRIVATE KEY")';
  const hint = 'an encrypted key decrypts with: openssl pkey -in ca-encrypted.key -out ca.key';
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text))
    throw new LocalCaFileError(`${what} is encrypted; ${expected}`, { hint });
  if (!/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(text)) {
    const certificate = /-----BEGIN CERTIFICATE-----/.test(text);
    throw new LocalCaFileError(
      `${what} holds no PEM private key${certificate ? ' (it holds a certificate: certFile and keyFile swapped?)' : ''}; ${expected}`,
      { hint },
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (error) {
    throw new LocalCaFileError(`${what} does not parse (${reason(error)}); ${expected}`, { hint });
  }
  if (ca && !ca.ca.checkPrivateKey(key)) {
    throw new LocalCaFileError(`${what} does not belong to the CA certificate in ${ca.file}`, {
      hint: 'give the key that signed the CA certificate request (openssl x509 -noout -pubkey and openssl pkey -pubout show the same key)',
    });
  }
  return key;
}

/** OpenSSL's reason without its code ("wrong tag", "header too long"): never any of the content. */
function reason(error: unknown): string {
  const message = (error as Error).message ?? String(error);
  return message.replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/, '').trim() || 'unreadable';
}
