/** Certificate keys made with node:crypto, exported the way RS shows them (shared by the private-CA issuers). */
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyType } from '../../domain/config/types';

const generate = promisify(generateKeyPair);

export interface CertificateKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PKCS#1 for RSA (the format RS documents), PKCS#8 for ECDSA. */
  keyPem: string;
}

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
