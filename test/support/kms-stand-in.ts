/**
 * A KMS stand-in on loopback: GenerateDataKey and Decrypt of symmetric data keys, bound to their
 * encryption context as KMS binds them (a ciphertext opens only with the context it was made with,
 * and only under the key that made it). Faults: any operation can be refused with any error
 * (AccessDeniedException, DisabledException, KMSInvalidStateException) a number of times.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AwsError, type JsonStandIn, startJsonStandIn } from './json-stand-in';

export interface KmsStandIn extends JsonStandIn {
  keyId: string;
  /** Refuse `operation` (or every one) with `error`, `times` times. */
  refuse(fault: { operation?: 'GenerateDataKey' | 'Decrypt'; error: string; times?: number }): void;
}

const context = (value: unknown) =>
  Buffer.from(
    JSON.stringify(
      Object.entries((value ?? {}) as Record<string, string>).sort(([a], [b]) => a.localeCompare(b)),
    ),
  );

export async function startKmsStandIn(
  keyId = 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000',
): Promise<KmsStandIn> {
  const master = randomBytes(32);
  const faults: Array<{ operation?: string; error: string; times: number }> = [];
  const standIn = await startJsonStandIn((operation, input) => {
    const fault = faults.find((f) => f.times > 0 && (!f.operation || f.operation === operation));
    if (fault) {
      fault.times--;
      throw new AwsError(fault.error, `the stand-in refuses ${operation}`);
    }
    if (input.KeyId !== undefined && input.KeyId !== keyId)
      throw new AwsError('NotFoundException', `key ${String(input.KeyId)} does not exist`);
    const aad = Buffer.concat([Buffer.from(keyId), context(input.EncryptionContext)]);
    if (operation === 'GenerateDataKey') {
      const plaintext = randomBytes(32);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', master, iv);
      cipher.setAAD(aad);
      const sealed = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return {
        KeyId: keyId,
        Plaintext: plaintext.toString('base64'),
        CiphertextBlob: Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64'),
      };
    }
    if (operation === 'Decrypt') {
      const blob = Buffer.from(String(input.CiphertextBlob), 'base64');
      try {
        const decipher = createDecipheriv('aes-256-gcm', master, blob.subarray(0, 12));
        decipher.setAAD(aad);
        decipher.setAuthTag(blob.subarray(12, 28));
        const plaintext = Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]);
        return { KeyId: keyId, Plaintext: plaintext.toString('base64') };
      } catch {
        throw new AwsError(
          'InvalidCiphertextException',
          'the ciphertext or its encryption context is invalid',
        );
      }
    }
    throw new AwsError('UnknownOperationException', `the stand-in does not serve ${operation}`);
  }, 'application/x-amz-json-1.1');
  return {
    ...standIn,
    keyId,
    refuse: ({ operation, error, times = Number.POSITIVE_INFINITY }) => {
      faults.push({ ...(operation ? { operation } : {}), error, times });
    },
  };
}
