/**
 * Secrets Manager answers only for secrets of its own region: a client of another region says
 * ResourceNotFound for a perfectly good ARN. A secret given as an ARN is read with a client for the
 * ARN's region, made once per region and kept for the container's life.
 *
 * A cluster whose secrets live in another account names a `roleArn`: its secrets are read with that
 * role's credentials (STS AssumeRole, adapters/sts), by a client per region and role. This is the one
 * place every cluster secret is read through on AWS and by the CLI (`forCluster`), so a cluster's
 * other secrets (a client certificate) take the same role.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ClusterConfig } from '../../domain/config/types';
import { ConfigError } from '../../domain/errors';
import { type AssumedRole, AssumedRoleCredentials, type RoleCredentials } from '../sts';
import { secretRegion } from './arn';

export class RegionalSecretsClients {
  private readonly home: SecretsManagerClient;
  private readonly others = new Map<string, SecretsManagerClient>();
  private readonly roles = new Map<string, () => Promise<RoleCredentials>>();

  /**
   * @param home for names without a region, and ARNs of this function's region (AWS_REGION)
   * @param clientFor makes the client of another region, or of a role (tests inject theirs)
   * @param assume makes the credentials of a role (tests inject an STS client through it)
   */
  constructor(
    home?: SecretsManagerClient,
    private readonly clientFor: (
      region: string,
      credentials?: () => Promise<RoleCredentials>,
    ) => SecretsManagerClient = (region, credentials) =>
      new SecretsManagerClient({ region, ...(credentials ? { credentials } : {}) }),
    private readonly homeRegion: string | undefined = process.env.AWS_REGION,
    private readonly assume: (role: AssumedRole) => () => Promise<RoleCredentials> = (role) =>
      new AssumedRoleCredentials(role).provider,
  ) {
    this.home = home ?? new SecretsManagerClient({});
  }

  /** The client that can read `secretId`, as `role` when given. */
  for(secretId: string, role?: AssumedRole): SecretsManagerClient {
    const named = secretRegion(secretId);
    const region = named === this.homeRegion ? undefined : named;
    if (region === undefined && !role) return this.home;
    const key = `${region ?? ''}|${role?.roleArn ?? ''}|${role?.externalId ?? ''}`;
    let client = this.others.get(key);
    if (!client) {
      const credentials = role ? this.credentialsOf(role) : undefined;
      const target = region ?? this.homeRegion;
      // No region known (a CLI without AWS_REGION): the SDK's own resolution (profile, config).
      client = target ? this.clientFor(target, credentials) : new SecretsManagerClient({ credentials });
      this.others.set(key, client);
    }
    return client;
  }

  /** The client for one of a cluster's secrets: as its `roleArn` (with `roleExternalId`) when it names one. */
  forCluster(
    cluster: Pick<ClusterConfig, 'roleArn' | 'roleExternalId'>,
    secretId: string,
  ): SecretsManagerClient {
    return this.for(secretId, roleOf(cluster));
  }

  /** One set of credentials per role, shared by its clients of every region. */
  private credentialsOf(role: AssumedRole): () => Promise<RoleCredentials> {
    const key = `${role.roleArn}|${role.externalId ?? ''}`;
    let provider = this.roles.get(key);
    if (!provider) {
      provider = this.assume(role);
      this.roles.set(key, provider);
    }
    return provider;
  }
}

/** The role a cluster's secrets are read as, if it names one. */
export function roleOf(cluster: Pick<ClusterConfig, 'roleArn' | 'roleExternalId'>): AssumedRole | undefined {
  return cluster.roleArn
    ? { roleArn: cluster.roleArn, ...(cluster.roleExternalId ? { externalId: cluster.roleExternalId } : {}) }
    : undefined;
}

export { secretRegion };

let shared: RegionalSecretsClients | undefined;

/**
 * Reads a secret whose SecretString is the value itself (the ACME EAB HMAC key; a client
 * certificate's keySecret, as its cluster's `role` when it names one). The value is never put in a
 * message; a failure names the secret and the AWS error name only.
 */
export async function readSecretString(
  secretId: string,
  clients?: RegionalSecretsClients,
  role?: AssumedRole,
): Promise<string> {
  shared ??= new RegionalSecretsClients();
  const from = clients ?? shared;
  let text: string | undefined;
  try {
    text = (await from.for(secretId, role).send(new GetSecretValueCommand({ SecretId: secretId })))
      .SecretString;
  } catch (error) {
    throw new ConfigError(`cannot read secret ${secretId}: ${(error as Error).name}`, {
      hint: 'check the secret exists (in the region of its ARN) and that this function may read it and decrypt its KMS key',
    });
  }
  if (text === undefined) throw new ConfigError(`secret ${secretId} holds no SecretString`);
  return text;
}
