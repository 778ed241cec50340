/**
 * Cluster credentials through the AWS Parameters and Secrets Lambda Extension (a layer serving
 * GetSecretValue on localhost:2773, with a cache). The check function uses it instead of the
 * Secrets Manager SDK client: that client and its credential chain are ~400 KB of bundle and
 * most of the cold start, for one read per cluster.
 */
import type { ClusterConfig } from '../../domain/config/types';
import { AuthenticationError, ClientCertificateStoreError, ConfigError } from '../../domain/errors';
import type { ClusterAccess, CredentialsProvider } from '../../domain/ports';
import { readClientCertificateFiles } from '../config-file/client-certificate';
import { exchange, type PlainResponse } from '../plain-http';
import { secretRegion } from '../secrets-manager/arn';
import { clientPairFromSecret } from '../secrets-manager/client-secret';
import { accessFromSecret, configuredCa } from '../secrets-manager/cluster-secret';

export interface SecretsExtensionOptions {
  /**
   * Reads a secret of another region (the extension asks its own region only), or of a cluster with
   * a `roleArn` (the extension cannot assume roles). Given by the check-any-region entry, which
   * carries the SDK; the plain check entry stays SDK-free.
   */
  otherRegions?: () => CredentialsProvider;
  /** Defaults to PARAMETERS_SECRETS_EXTENSION_HTTP_PORT or 2773. */
  port?: number;
  /** The Lambda's session token, which the extension requires as its auth header. */
  sessionToken?: string | undefined;
  timeoutMs?: number;
}

export class SecretsExtensionCredentialsProvider implements CredentialsProvider {
  private readonly port: number;
  private readonly token: string | undefined;
  private otherRegions: CredentialsProvider | undefined;

  constructor(private readonly options: SecretsExtensionOptions = {}) {
    this.port = options.port ?? Number(process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? 2773);
    this.token = options.sessionToken ?? process.env.AWS_SESSION_TOKEN;
  }

  async resolve(cluster: ClusterConfig): Promise<ClusterAccess> {
    const secretId = cluster.credentialsSecret;
    if (!secretId && !cluster.clientCertificate)
      throw new ConfigError(`cluster "${cluster.name}": credentialsSecret is required in AWS mode`);
    // The extension asks Secrets Manager in this function's region, with this function's role: a
    // secret of another region is read with an SDK client for that region, and a cluster read as
    // another account's role (roleArn: the extension cannot assume roles) with the SDK too.
    const foreign = [secretId, cluster.clientCertificate?.keySecret]
      .map((id) => (id === undefined ? undefined : secretRegion(id)))
      .find((region) => region !== undefined && region !== (process.env.AWS_REGION ?? region));
    if (foreign !== undefined || cluster.roleArn) {
      if (!this.options.otherRegions) {
        throw new ConfigError(
          foreign !== undefined
            ? `cluster "${cluster.name}": a secret of it is in ${foreign}, and this check function reads its own region only`
            : `cluster "${cluster.name}": its secrets are read as ${cluster.roleArn}, and this check function cannot assume roles`,
          {
            hint: 'a deployment error: the construct deploys check-any-region when a secret is in another region or account; redeploy',
          },
        );
      }
      this.otherRegions ??= this.options.otherRegions();
      return this.otherRegions.resolve(cluster);
    }
    let access: ClusterAccess;
    if (secretId) {
      const read = await getSecretString(secretId, this.port, this.token, this.options.timeoutMs);
      if (!read.ok) {
        throw new AuthenticationError(`cluster "${cluster.name}": ${read.reason}`, { hint: read.hint });
      }
      access = accessFromSecret(cluster, secretId, read.value);
    } else {
      access = { username: '', password: '', caPem: configuredCa(cluster) };
    }
    const client = cluster.clientCertificate;
    if (!client) return access;
    if (client.keySecret === undefined)
      return {
        ...access,
        clientCertificate: readClientCertificateFiles(
          client,
          `clusters["${cluster.name}"].clientCertificate`,
        ),
      };
    const key = await getSecretString(client.keySecret, this.port, this.token, this.options.timeoutMs);
    if (!key.ok)
      throw new ClientCertificateStoreError(
        `cluster "${cluster.name}": clientCertificate.keySecret: ${key.reason}`,
        {
          hint: key.hint,
        },
      );
    return { ...access, clientCertificate: clientPairFromSecret(cluster, key.value) };
  }
}

export type SecretRead =
  | { ok: true; value: string | undefined }
  | {
      ok: false;
      status: number | null;
      /** The AWS error the extension relayed (ResourceNotFoundException, AccessDeniedException, …), when named. */
      errorType: string | null;
      /**
       * True only when Secrets Manager said the secret does not exist. AccessDenied, a KMS failure,
       * a throttle or an unreachable extension are failures to read, never "absent".
       */
      notFound: boolean;
      reason: string;
      hint: string;
    };

/** One GetSecretValue through the extension. Its error text names the secret, never its value. */
export async function getSecretString(
  secretId: string,
  port: number,
  token: string | undefined,
  timeoutMs = 5_000,
): Promise<SecretRead> {
  const url = `http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`;
  let response: PlainResponse;
  try {
    response = await exchange(url, {
      headers: { 'X-Aws-Parameters-Secrets-Token': token ?? '' },
      timeoutMs,
    });
  } catch (error) {
    return {
      ok: false,
      status: null,
      errorType: null,
      notFound: false,
      reason: `the secrets extension is unreachable: ${(error as Error).name}`,
      hint: 'the function needs the AWS Parameters and Secrets Lambda Extension layer (a deployment error)',
    };
  }
  const body = response.body;
  if (response.status < 200 || response.status > 299) {
    // The extension answers 400 with Secrets Manager's error in its text (never the secret's value).
    const errorType = /\b([A-Z][A-Za-z]*(?:Exception|Failure|Error))\b/.exec(body)?.[1] ?? null;
    return {
      ok: false,
      status: response.status,
      errorType,
      notFound: errorType === 'ResourceNotFoundException',
      reason: `cannot read secret ${secretId} (${response.status}${errorType ? ` ${errorType}` : ''})`,
      hint: hintFor(errorType, response.status),
    };
  }
  try {
    return { ok: true, value: (JSON.parse(body) as { SecretString?: string }).SecretString };
  } catch {
    return {
      ok: false,
      status: response.status,
      errorType: null,
      notFound: false,
      reason: 'the secrets extension answered malformed JSON',
      hint: 'a deployment error',
    };
  }
}

function hintFor(errorType: string | null, status: number): string {
  if (errorType === 'ResourceNotFoundException')
    return 'the secret does not exist in this region: check credentialsSecret';
  if (errorType?.includes('AccessDenied'))
    return 'grant this function secretsmanager:GetSecretValue on the secret (and kms:Decrypt on its key): a deployment error';
  if (errorType === 'DecryptionFailure' || errorType?.startsWith('KMS'))
    return 'Secrets Manager could not decrypt the secret: check its KMS key is enabled and this function may use it';
  if (status === 429 || errorType?.includes('Throttl'))
    return 'Secrets Manager throttled the read; the next run reads it again';
  return 'check the secret exists and that this function may read it (and decrypt its KMS key)';
}
