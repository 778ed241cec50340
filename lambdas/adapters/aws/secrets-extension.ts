/**
 * Cluster credentials through the AWS Parameters and Secrets Lambda Extension (a layer serving
 * GetSecretValue on localhost:2773, with a cache). The check function uses it instead of the
 * Secrets Manager SDK client: that client and its credential chain are ~400 KB of bundle and
 * most of the cold start, for one read per cluster.
 */
import type { ClusterConfig } from '../../domain/config';
import type { ClusterAccess, CredentialsProvider } from '../../domain/credentials';
import { AuthenticationError, ConfigError } from '../../domain/errors';
import { accessFromSecret } from './cluster-secret';

export interface SecretsExtensionOptions {
  /** Defaults to PARAMETERS_SECRETS_EXTENSION_HTTP_PORT or 2773. */
  port?: number;
  /** The Lambda's session token, which the extension requires as its auth header. */
  sessionToken?: string | undefined;
  timeoutMs?: number;
}

export class SecretsExtensionCredentialsProvider implements CredentialsProvider {
  private readonly port: number;
  private readonly token: string | undefined;

  constructor(private readonly options: SecretsExtensionOptions = {}) {
    this.port = options.port ?? Number(process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? 2773);
    this.token = options.sessionToken ?? process.env.AWS_SESSION_TOKEN;
  }

  async resolve(cluster: ClusterConfig): Promise<ClusterAccess> {
    const secretId = cluster.credentialsSecret;
    if (!secretId)
      throw new ConfigError(`cluster "${cluster.name}": credentialsSecret is required in AWS mode`);
    const url = `http://localhost:${this.port}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { 'X-Aws-Parameters-Secrets-Token': this.token ?? '' },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000),
      });
    } catch (error) {
      throw new AuthenticationError(
        `cluster "${cluster.name}": the secrets extension is unreachable: ${(error as Error).name}`,
        {
          hint: 'the function needs the AWS Parameters and Secrets Lambda Extension layer (a deployment error)',
        },
      );
    }
    const body = await response.text();
    if (!response.ok) {
      // The extension relays Secrets Manager's error text, which names the secret and never its value.
      throw new AuthenticationError(
        `cluster "${cluster.name}": cannot read secret ${secretId} (${response.status})`,
        {
          hint: 'check the secret exists and that this function may read it (and decrypt its KMS key)',
        },
      );
    }
    let secretString: string | undefined;
    try {
      secretString = (JSON.parse(body) as { SecretString?: string }).SecretString;
    } catch {
      throw new AuthenticationError(
        `cluster "${cluster.name}": the secrets extension answered malformed JSON`,
      );
    }
    return accessFromSecret(cluster, secretId, secretString);
  }
}
