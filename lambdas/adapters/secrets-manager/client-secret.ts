/**
 * The client certificate's key secret (`clientCertificate.keySecret`), parsed: no SDK here, so the
 * check function (which reads it through the Parameters and Secrets extension) stays SDK-free. It
 * holds the private key PEM, and after the first renewal the key and the certificate chain
 * together (the bundled `certFile` cannot change after a deployment); JSON `{"key",
 * "certificate"?}` is read too.
 */
import type { ClusterConfig } from '../../domain/config/types';
import { ClientCertificateStoreError } from '../../domain/errors';
import type { ClientCertificatePair } from '../../domain/ports';
import { certificateBlocks, pairMatches, privateKeyBlock } from '../config-file/client-certificate';
import { readPemFile } from '../config-file/pem';

/** The pair from the secret's text (and certFile when the secret holds the key alone). */
export function clientPairFromSecret(
  cluster: ClusterConfig,
  text: string | undefined,
): ClientCertificatePair {
  const client = cluster.clientCertificate;
  const where = `cluster "${cluster.name}": clientCertificate.keySecret ${client?.keySecret ?? ''}`;
  let keyPem = '';
  let certificatePem = '';
  const value = (text ?? '').trim();
  if (value.startsWith('{')) {
    try {
      const parsed = JSON.parse(value) as { key?: unknown; certificate?: unknown };
      keyPem = typeof parsed.key === 'string' ? privateKeyBlock(parsed.key) : '';
      certificatePem = typeof parsed.certificate === 'string' ? certificateBlocks(parsed.certificate) : '';
    } catch {
      keyPem = '';
    }
  } else {
    keyPem = privateKeyBlock(value);
    certificatePem = certificateBlocks(value);
  }
  if (!keyPem)
    throw new ClientCertificateStoreError(`${where} holds no unencrypted PEM private key`, {
      hint: 'store the key PEM (or {"key": PEM}) as the SecretString',
    });
  // A renewal writes the certificate beside the key: it, not the bundled certFile, is current.
  if (!certificatePem && client)
    certificatePem = readPemFile(client.certFile, `clusters["${cluster.name}"].clientCertificate.certFile`);
  if (!pairMatches(certificatePem, keyPem))
    throw new ClientCertificateStoreError(`${where}: its key does not belong to the client certificate`, {
      hint: 'the key in the secret and the certificate (in the secret, else certFile) must be issued together',
    });
  return { certificatePem: certificateBlocks(certificatePem), keyPem };
}

/** The SecretString a renewal writes: the key, then the certificate chain. */
export function clientSecretValue(pair: ClientCertificatePair): string {
  return `${pair.keyPem}${pair.certificatePem}`;
}
