/**
 * Secrets Manager answers only for secrets of its own region: a client of another region says
 * ResourceNotFound for a perfectly good ARN. A secret given as an ARN is read with a client for the
 * ARN's region, made once per region and kept for the container's life.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../../domain/errors';
import { secretRegion } from './arn';

export class RegionalSecretsClients {
  private readonly home: SecretsManagerClient;
  private readonly others = new Map<string, SecretsManagerClient>();

  /**
   * @param home for names without a region, and ARNs of this function's region (AWS_REGION)
   * @param clientFor makes the client of another region (tests inject theirs)
   */
  constructor(
    home?: SecretsManagerClient,
    private readonly clientFor: (region: string) => SecretsManagerClient = (region) =>
      new SecretsManagerClient({ region }),
    private readonly homeRegion: string | undefined = process.env.AWS_REGION,
  ) {
    this.home = home ?? new SecretsManagerClient({});
  }

  /** The client that can read `secretId`. */
  for(secretId: string): SecretsManagerClient {
    const region = secretRegion(secretId);
    if (region === undefined || region === this.homeRegion) return this.home;
    let client = this.others.get(region);
    if (!client) {
      client = this.clientFor(region);
      this.others.set(region, client);
    }
    return client;
  }
}

export { secretRegion };

let shared: RegionalSecretsClients | undefined;

/**
 * Reads a secret whose SecretString is the value itself (the ACME EAB HMAC key). The value is never
 * put in a message; a failure names the secret and the AWS error name only.
 */
export async function readSecretString(secretId: string, clients?: RegionalSecretsClients): Promise<string> {
  shared ??= new RegionalSecretsClients();
  const from = clients ?? shared;
  let text: string | undefined;
  try {
    text = (await from.for(secretId).send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (error) {
    throw new ConfigError(`cannot read secret ${secretId}: ${(error as Error).name}`, {
      hint: 'check the secret exists (in the region of its ARN) and that this function may read it and decrypt its KMS key',
    });
  }
  if (text === undefined) throw new ConfigError(`secret ${secretId} holds no SecretString`);
  return text;
}
