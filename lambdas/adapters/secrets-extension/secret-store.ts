/**
 * Read-only state through the Parameters and Secrets Lambda Extension: the check function reads the
 * keyless "pending verification" markers (and nothing else: its IAM allows only those names).
 * Writes belong to the renewal functions, which use the SDK (adapters/secrets-manager).
 */
import { StateStoreError } from '../../domain/errors';
import type { SecretStore } from '../../domain/ports';
import { getSecretString } from './credentials';

export class SecretsExtensionStore implements SecretStore {
  private readonly port = Number(process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? 2773);

  constructor(private readonly prefix: string) {}

  async read(key: string): Promise<string | null> {
    const read = await getSecretString(`${this.prefix}/${key}`, this.port, process.env.AWS_SESSION_TOKEN);
    if (read.ok) return read.value ?? null;
    // The extension relays Secrets Manager's 400 ResourceNotFoundException for a missing secret.
    if (read.status === 400 || read.status === 404) return null;
    throw new StateStoreError(`cannot read state ${key}: ${read.reason}`, { hint: read.hint });
  }

  async write(key: string): Promise<void> {
    throw new StateStoreError(`state ${key} is read-only in this function`);
  }

  async claim(key: string): Promise<boolean> {
    throw new StateStoreError(`state ${key} is read-only in this function`);
  }
}
