/**
 * KMS envelope encryption of private keys: each key is encrypted with its own AES-256-GCM data key
 * (node:crypto), and only the data key goes to KMS (GenerateDataKey to seal, Decrypt to open). The
 * encryption context names the item the key is stored as; KMS binds it to the encrypted data key,
 * and the same context is the GCM additional data, so a sealed key moved to another item does not
 * open. IAM grants each function kms:Decrypt or kms:GenerateDataKey only for the contexts it needs
 * (lib/state-table.ts).
 *
 * Two KMS requests per key written or read, never per run: a daily check reads no key.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { KeySealer, SealedKey } from '../dynamodb/state-table';

export interface KmsKeySealerOptions {
  /** The state key (ARN or id). */
  keyId: string;
  client?: KMSClient;
}

export class KmsKeySealer implements KeySealer {
  private readonly client: KMSClient;

  constructor(private readonly options: KmsKeySealerOptions) {
    this.client = options.client ?? new KMSClient({});
  }

  async seal(plaintext: string, context: Record<string, string>): Promise<SealedKey> {
    const dataKey = await this.client.send(
      new GenerateDataKeyCommand({
        KeyId: this.options.keyId,
        KeySpec: 'AES_256',
        EncryptionContext: context,
      }),
    );
    if (!dataKey.Plaintext || !dataKey.CiphertextBlob)
      throw Object.assign(new Error('KMS answered GenerateDataKey without a data key'), {
        name: 'KMSBadAnswer',
      });
    const key = Buffer.from(dataKey.Plaintext);
    try {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(additionalData(context));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return {
        encryptedKey: Buffer.from(dataKey.CiphertextBlob).toString('base64'),
        iv: iv.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
        ciphertext: ciphertext.toString('base64'),
      };
    } finally {
      key.fill(0);
    }
  }

  async open(sealed: SealedKey, context: Record<string, string>): Promise<string> {
    const out = await this.client.send(
      new DecryptCommand({
        KeyId: this.options.keyId,
        CiphertextBlob: Buffer.from(sealed.encryptedKey, 'base64'),
        EncryptionContext: context,
      }),
    );
    if (!out.Plaintext)
      throw Object.assign(new Error('KMS answered Decrypt without plaintext'), { name: 'KMSBadAnswer' });
    const key = Buffer.from(out.Plaintext);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
      decipher.setAAD(additionalData(context));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      return Buffer.concat([
        decipher.update(Buffer.from(sealed.ciphertext, 'base64')),
        decipher.final(),
      ]).toString('utf8');
    } finally {
      key.fill(0);
    }
  }
}

/** The context as GCM additional data, in a stable order. */
function additionalData(context: Record<string, string>): Buffer {
  return Buffer.from(JSON.stringify(Object.entries(context).sort(([a], [b]) => a.localeCompare(b))));
}
