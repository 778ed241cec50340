/**
 * The watchdog's client certificate in files (`clientCertificate.certFile` and `keyFile`): read on
 * every run, and written back after a renewal. The write must never leave the watchdog locked out:
 *
 *   1. the new certificate is written beside certFile (`<certFile>.rs-cert-watchdog-next`), fsynced;
 *   2. the new key replaces keyFile atomically (temporary file 0600, fsync, rename);
 *   3. the new certificate replaces certFile (rename of step 1's file).
 *
 * A crash between 2 and 3 leaves the new key with the old certificate: the next read finds step 1's
 * file matching the key and finishes the write (and the state store holds the pair anyway). When
 * certFile and keyFile are one file (key and chain together), one atomic write does it all.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { constants, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parsePrivateKey } from '../../domain/certificate';
import type { ClientCertificateConfig } from '../../domain/config/types';
import { ClientCertificateStoreError, ConfigError } from '../../domain/errors';
import type { ClientCertificatePair } from '../../domain/ports';
import { unreadable } from './pem';

const CERTIFICATES = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\r?\n?/g;
const PRIVATE_KEY = /-----BEGIN ((?:RSA |EC )?PRIVATE KEY)-----[\s\S]*?-----END \1-----\r?\n?/;

/** Where the next certificate waits while a write is in progress. */
export const pendingCertificatePath = (certFile: string): string => `${certFile}.rs-cert-watchdog-next`;

/** The certificate blocks of a PEM text (leaf first), or ''. */
export function certificateBlocks(text: string): string {
  return (text.match(CERTIFICATES) ?? []).map((b) => (b.endsWith('\n') ? b : `${b}\n`)).join('');
}

/** The private key block of a PEM text, or ''. */
export function privateKeyBlock(text: string): string {
  const block = PRIVATE_KEY.exec(text)?.[0] ?? '';
  return block && !block.endsWith('\n') ? `${block}\n` : block;
}

/** Whether `keyPem` is the private key of `certificatePem`'s leaf. Never quotes either. */
export function pairMatches(certificatePem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certificatePem).checkPrivateKey(parsePrivateKey(keyPem));
  } catch {
    return false;
  }
}

function readText(path: string, field: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw unreadable(error, `${field}:`, path);
  }
}

/**
 * Reads the pair from its files: a ConfigError (CLI exit 2, before any network call) when either
 * is unreadable, holds no certificate or no unencrypted key, or when they do not belong together
 * (after finishing a write a crash interrupted).
 */
export function readClientCertificateFiles(
  config: Pick<ClientCertificateConfig, 'certFile' | 'keyFile'>,
  field: string,
): ClientCertificatePair {
  const keyFile = config.keyFile;
  if (keyFile === undefined)
    throw new ConfigError(`${field}.keyFile is not set (keySecret is read from Secrets Manager)`);
  const certificatePem = certificateBlocks(readText(config.certFile, `${field}.certFile`));
  if (!certificatePem)
    throw new ConfigError(`${field}.certFile: ${config.certFile} holds no PEM certificate`, {
      hint: 'give the client certificate, leaf first, then its chain',
    });
  const keyPem = privateKeyBlock(readText(keyFile, `${field}.keyFile`));
  if (!keyPem)
    throw new ConfigError(`${field}.keyFile: ${keyFile} holds no unencrypted PEM private key`, {
      hint: 'give the key as "-----BEGIN PRIVATE KEY-----" (or RSA / EC PRIVATE KEY), not encrypted',
    });
  if (pairMatches(certificatePem, keyPem)) return { certificatePem, keyPem };
  const finished = finishInterruptedWrite(config.certFile, keyPem);
  if (finished) return { certificatePem: finished, keyPem };
  throw new ConfigError(
    `${field}: the key in ${keyFile} does not belong to the certificate in ${config.certFile}`,
    {
      hint: 'give the certificate and the key that were issued together',
    },
  );
}

/** Step 3 of a write that stopped after step 2: the waiting certificate matches the new key. */
function finishInterruptedWrite(certFile: string, keyPem: string): string | undefined {
  const pending = pendingCertificatePath(certFile);
  let text: string;
  try {
    text = readFileSync(pending, 'utf8');
  } catch {
    return undefined;
  }
  const certificatePem = certificateBlocks(text);
  if (!certificatePem || !pairMatches(certificatePem, keyPem)) return undefined;
  renameSync(pending, certFile);
  return certificatePem;
}

/** Writes `value` to `path` atomically (temporary file with `mode`, fsync, rename, fsync the directory). */
async function writeAtomically(path: string, value: string, mode: number): Promise<void> {
  const temporary = `${path}.${randomUUID()}.tmp`;
  await writeDurably(temporary, value, mode);
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(path));
}

async function writeDurably(path: string, value: string, mode: number): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(value, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY).catch(() => undefined);
  await handle?.sync().catch(() => undefined);
  await handle?.close();
}

/** The mode certFile has now (public: kept as the operator set it), 0644 for a new file. */
function modeOf(path: string): number {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return 0o644;
  }
}

/**
 * Writes a renewed pair where it was read from (module comment); the key is 0600. Returns where, in
 * words. A failure is a ClientCertificateStoreError naming the file and the errno only.
 */
export async function writeClientCertificateFiles(
  config: Pick<ClientCertificateConfig, 'certFile' | 'keyFile'>,
  pair: ClientCertificatePair,
): Promise<string> {
  const { certFile, keyFile } = config;
  if (keyFile === undefined) throw new ConfigError('clientCertificate.keyFile is not set');
  const failed = (error: unknown, path: string) =>
    new ClientCertificateStoreError(
      `cannot write the client certificate to ${path}: ${(error as NodeJS.ErrnoException).code ?? 'write failed'}`,
      {
        hint: 'the renewed pair is saved in the state store; make the files writable by this user and run renew again',
      },
    );
  if (certFile === keyFile) {
    try {
      await writeAtomically(keyFile, `${pair.keyPem}${pair.certificatePem}`, 0o600);
    } catch (error) {
      throw failed(error, keyFile);
    }
    return `${keyFile} (key and certificate, 0600)`;
  }
  const pending = pendingCertificatePath(certFile);
  try {
    await writeDurably(pending, pair.certificatePem, modeOf(certFile));
  } catch (error) {
    rmSync(pending, { force: true });
    throw failed(error, pending);
  }
  try {
    await writeAtomically(keyFile, pair.keyPem, 0o600);
  } catch (error) {
    rmSync(pending, { force: true });
    throw failed(error, keyFile);
  }
  try {
    await rename(pending, certFile);
    await syncDirectory(dirname(certFile));
  } catch (error) {
    // The key is new and the certificate waits beside certFile: the next read finishes the write.
    throw failed(error, certFile);
  }
  return `${certFile} and ${keyFile} (key 0600)`;
}
