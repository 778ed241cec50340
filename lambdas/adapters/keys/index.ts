/** Certificate keys made with node:crypto, exported the way RS shows them (shared by every issuer). */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyType } from '../../domain/config/types';
import type { CertificateKey } from '../../domain/ports';

const generate = promisify(generateKeyPair);

export type { CertificateKey };

export async function newCertificateKey(keyType: KeyType): Promise<CertificateKey> {
  const pair =
    keyType === 'ecdsa-p256'
      ? await generate('ec', { namedCurve: 'P-256' })
      : await generate('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  const keyPem = pair.privateKey
    .export({ type: keyType === 'rsa-2048' ? 'pkcs1' : 'pkcs8', format: 'pem' })
    .toString();
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, keyPem };
}

/** The key the caller is already making (IssueOptions.key), or a new one. */
export function keyFor(
  keyType: KeyType,
  options?: { key?: Promise<CertificateKey> | undefined },
): Promise<CertificateKey> {
  return options?.key ?? newCertificateKey(keyType);
}
