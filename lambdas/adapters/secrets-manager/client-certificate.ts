/**
 * Writes a renewed client certificate to its key secret (`clientCertificate.keySecret`, AWS mode):
 * a new version (AWSCURRENT) with a ClientRequestToken derived from its content, so a retried push
 * never makes two versions. The parsing is in ./client-secret.ts (no SDK).
 */
import { createHash } from 'node:crypto';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { ClusterConfig } from '../../domain/config/types';
import { ClientCertificateStoreError } from '../../domain/errors';
import type { ClientCertificatePair } from '../../domain/ports';
import { clientSecretValue } from './client-secret';
import type { RegionalSecretsClients } from './regional';

/**
 * Writes the pair as a new version of the key secret (as the cluster's roleArn when it names one);
 * returns where, in words (never the value).
 */
export async function writeClientCertificateSecret(
  clients: RegionalSecretsClients,
  secretId: string,
  pair: ClientCertificatePair,
  cluster: Pick<ClusterConfig, 'roleArn' | 'roleExternalId'> = {},
): Promise<string> {
  const value = clientSecretValue(pair);
  // Idempotent: the same pair is the same version (Secrets Manager tokens are 32 to 64 characters).
  const token = createHash('sha256').update(value).digest('hex').slice(0, 64);
  try {
    await clients
      .forCluster(cluster, secretId)
      .send(
        new PutSecretValueCommand({ SecretId: secretId, SecretString: value, ClientRequestToken: token }),
      );
  } catch (error) {
    throw new ClientCertificateStoreError(
      `cannot write the renewed client certificate to secret ${secretId}: ${(error as Error).name}`,
      {
        hint: 'the renewed pair is saved in the state store; check that the push function may PutSecretValue on it (and use its KMS key), then run renew again',
      },
    );
  }
  return `a new version of secret ${secretId}`;
}
