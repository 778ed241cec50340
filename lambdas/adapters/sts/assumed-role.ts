/**
 * Credentials of a role in another account (a cluster's `roleArn`), through STS AssumeRole: made on
 * first use, kept until five minutes before they expire, then made again. One STS call per role per
 * hour per warm container, whatever the number of clusters behind the role; concurrent first uses
 * share one call. The session is named after the function (or the CLI), so the other account's
 * CloudTrail says who read its secret.
 */
import type { AssumeRoleCommandOutput, STSClient } from '@aws-sdk/client-sts';
import { AuthenticationError } from '../../domain/errors';

/** Made again this long before they expire (the SDK refreshes its own 5 minutes ahead as well). */
export const REFRESH_BEFORE_MS = 5 * 60_000;
/** Asked for: an hour, the default maximum of a role session (roles may allow more). */
export const SESSION_SECONDS = 3600;

/** What an AWS SDK client takes as `credentials` (the SDK's RoleCredentials). */
export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface AssumedRole {
  roleArn: string;
  /** sts:ExternalId, when the role's trust policy requires one. */
  externalId?: string | undefined;
}

/**
 * The session name: the function's name in Lambda, `rs-cert-watchdog-cli` elsewhere. STS allows
 * 2 to 64 characters of [\w+=,.@-].
 */
export function sessionNameFor(
  functionName: string | undefined = process.env.AWS_LAMBDA_FUNCTION_NAME,
): string {
  const name = (functionName ?? 'rs-cert-watchdog-cli').replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  return name.length >= 2 ? name : 'rs-cert-watchdog';
}

export class AssumedRoleCredentials {
  private cached: { credentials: RoleCredentials; refreshAt: number } | undefined;
  private pending: Promise<RoleCredentials> | undefined;

  constructor(
    private readonly role: AssumedRole,
    private readonly options: { client?: STSClient; sessionName?: string; now?: () => number } = {},
  ) {}

  /** An AWS SDK credentials provider: pass it as a client's `credentials`. */
  readonly provider = (): Promise<RoleCredentials> => {
    const now = (this.options.now ?? Date.now)();
    if (this.cached && now < this.cached.refreshAt) return Promise.resolve(this.cached.credentials);
    this.pending ??= this.assume().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  };

  private async assume(): Promise<RoleCredentials> {
    // Loaded on first use: a deployment without roleArn never evaluates the STS client (cold starts).
    const sts = await import('@aws-sdk/client-sts');
    const client = this.options.client ?? new sts.STSClient({});
    let out: AssumeRoleCommandOutput;
    try {
      out = await client.send(
        new sts.AssumeRoleCommand({
          RoleArn: this.role.roleArn,
          RoleSessionName: this.options.sessionName ?? sessionNameFor(),
          DurationSeconds: SESSION_SECONDS,
          ...(this.role.externalId ? { ExternalId: this.role.externalId } : {}),
        }),
      );
    } catch (error) {
      throw new AuthenticationError(`cannot assume role ${this.role.roleArn}: ${(error as Error).name}`, {
        hint: "the role's trust policy must allow this function's role (and sts:ExternalId if set), and this function must be allowed sts:AssumeRole on it; see the README, clusters in other accounts",
      });
    }
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new AuthenticationError(`assuming role ${this.role.roleArn} returned no credentials`);
    }
    const credentials: RoleCredentials = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
    this.cached = { credentials, refreshAt: c.Expiration.getTime() - REFRESH_BEFORE_MS };
    return credentials;
  }
}
