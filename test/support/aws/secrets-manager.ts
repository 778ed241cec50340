/**
 * Secrets Manager on loopback (AWS JSON 1.1): GetSecretValue, PutSecretValue and CreateSecret with
 * the semantics the state store relies on (versions, AWSCURRENT, ClientRequestToken idempotency and
 * its ResourceExistsException, the random ARN suffix), IAM on the secret's ARN, and KMS: a secret
 * created with a customer key is read only by a caller allowed kms:Decrypt on that key, through
 * Secrets Manager (kms:ViaService) and for that secret (kms:EncryptionContext:SecretARN), and
 * written only with kms:GenerateDataKey likewise. Secrets under the default key need no KMS grant.
 */
import { randomBytes } from 'node:crypto';
import type { AwsPrincipal, AwsRequest, LoopbackAws, LoopbackService } from './loopback-aws';
import { type AwsResponse, AwsServiceError, jsonError, jsonResponse } from './protocols';

interface SecretVersion {
  id: string;
  value: string;
  stages: Set<string>;
  created: number;
}

interface Secret {
  arn: string;
  name: string;
  kmsKeyArn: string | undefined;
  versions: SecretVersion[];
  tags: Array<{ Key: string; Value: string }>;
}

const NOT_FOUND = "Secrets Manager can't find the specified secret.";

export class SecretsManagerStandIn implements LoopbackService {
  readonly signingName = 'secretsmanager';
  readonly endpointEnvName = 'SECRETS_MANAGER';
  private readonly secrets = new Map<string, Secret>();
  /** When set, every write answers this error (e.g. EncryptionFailure: the key cannot encrypt). */
  refuseWrites: { code: string; message: string } | undefined;

  constructor(private readonly aws: LoopbackAws) {}

  /** Sets a secret's value as its owner would (no IAM): cluster credentials, a CA key. */
  seed(name: string, value: string, options: { kmsKeyArn?: string } = {}): void {
    const secret = this.find(name) ?? this.create(name, options.kmsKeyArn, []);
    this.addVersion(secret, value, `seed-${randomBytes(8).toString('hex')}`);
  }

  /** The current value, as the owner sees it (no IAM). */
  current(nameOrArn: string): string | undefined {
    const secret = this.find(nameOrArn);
    return secret ? this.version(secret, 'AWSCURRENT')?.value : undefined;
  }

  /** Every secret's name. */
  names(): string[] {
    return [...this.secrets.values()].map((s) => s.name).sort();
  }

  renderError(error: AwsServiceError): AwsResponse {
    return jsonError(error);
  }

  async handle(request: AwsRequest): Promise<AwsResponse> {
    const target = String(request.headers['x-amz-target'] ?? '');
    const input = JSON.parse(request.body || '{}') as Record<string, unknown>;
    switch (target) {
      case 'secretsmanager.GetSecretValue':
        return jsonResponse(this.getSecretValue(request.principal, input, request.region));
      case 'secretsmanager.PutSecretValue':
        return jsonResponse(this.putSecretValue(request.principal, input, request.region));
      case 'secretsmanager.CreateSecret':
        return jsonResponse(this.createSecret(request.principal, input, request.region));
      default:
        throw new AwsServiceError(
          'UnknownOperationException',
          `the loopback stand-in does not serve ${target}`,
        );
    }
  }

  /** GetSecretValue for `principal`; the secrets extension calls this on the function's behalf. */
  getSecretValue(
    principal: AwsPrincipal,
    input: Record<string, unknown>,
    region = this.aws.region,
    via?: string,
  ): Record<string, unknown> {
    const id = String(input.SecretId ?? '');
    const secret = this.find(id);
    const resource = secret?.arn ?? this.arnFor(id, region);
    this.aws.authorize(
      principal,
      { service: 'secretsmanager', action: 'secretsmanager:GetSecretValue', resource },
      via ? { via } : {},
    );
    if (!secret) throw new AwsServiceError('ResourceNotFoundException', NOT_FOUND);
    this.kms(principal, secret, 'kms:Decrypt', region, via);
    const version =
      typeof input.VersionId === 'string'
        ? secret.versions.find((v) => v.id === input.VersionId)
        : this.version(secret, typeof input.VersionStage === 'string' ? input.VersionStage : 'AWSCURRENT');
    if (!version)
      throw new AwsServiceError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
      );
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      SecretString: version.value,
      VersionStages: [...version.stages],
      CreatedDate: version.created / 1000,
    };
  }

  private putSecretValue(principal: AwsPrincipal, input: Record<string, unknown>, region: string) {
    const id = String(input.SecretId ?? '');
    const secret = this.find(id);
    this.aws.authorize(principal, {
      service: 'secretsmanager',
      action: 'secretsmanager:PutSecretValue',
      resource: secret?.arn ?? this.arnFor(id, region),
    });
    if (!secret) throw new AwsServiceError('ResourceNotFoundException', NOT_FOUND);
    this.kms(principal, secret, 'kms:GenerateDataKey', region);
    this.refuseIfAsked();
    const token = String(input.ClientRequestToken ?? randomBytes(16).toString('hex'));
    const value = String(input.SecretString ?? '');
    const existing = secret.versions.find((v) => v.id === token);
    if (existing) {
      // Idempotent with the same value; another value under a used token is a conflict.
      if (existing.value !== value)
        throw new AwsServiceError(
          'ResourceExistsException',
          'You can’t modify an existing version, you can only create a new version.',
        );
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: existing.id,
        VersionStages: [...existing.stages],
      };
    }
    const version = this.addVersion(secret, value, token);
    return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: [...version.stages] };
  }

  private createSecret(principal: AwsPrincipal, input: Record<string, unknown>, region: string) {
    const name = String(input.Name ?? '');
    const existing = this.find(name);
    const arn = existing?.arn ?? this.newArn(name, region);
    this.aws.authorize(principal, {
      service: 'secretsmanager',
      action: 'secretsmanager:CreateSecret',
      resource: arn,
    });
    const tags = (input.Tags as Array<{ Key: string; Value: string }> | undefined) ?? [];
    // Tagging at creation is also TagResource.
    if (tags.length > 0)
      this.aws.authorize(principal, {
        service: 'secretsmanager',
        action: 'secretsmanager:TagResource',
        resource: arn,
      });
    const kmsKeyArn = typeof input.KmsKeyId === 'string' ? this.keyArn(input.KmsKeyId, region) : undefined;
    if (kmsKeyArn) this.authorizeKms(principal, kmsKeyArn, 'kms:GenerateDataKey', arn, region);
    this.refuseIfAsked();
    const token = String(input.ClientRequestToken ?? randomBytes(16).toString('hex'));
    const value = String(input.SecretString ?? '');
    if (existing) {
      const same = existing.versions.find((v) => v.id === token && v.value === value);
      if (same) return { ARN: existing.arn, Name: existing.name, VersionId: same.id };
      throw new AwsServiceError(
        'ResourceExistsException',
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const secret = this.create(name, kmsKeyArn, tags, arn);
    const version = this.addVersion(secret, value, token);
    return { ARN: secret.arn, Name: secret.name, VersionId: version.id };
  }

  private refuseIfAsked(): void {
    if (this.refuseWrites) throw new AwsServiceError(this.refuseWrites.code, this.refuseWrites.message);
  }

  private kms(principal: AwsPrincipal, secret: Secret, action: string, region: string, via?: string): void {
    if (!secret.kmsKeyArn) return;
    this.authorizeKms(principal, secret.kmsKeyArn, action, secret.arn, region, via);
  }

  private authorizeKms(
    principal: AwsPrincipal,
    keyArn: string,
    action: string,
    secretArn: string,
    region: string,
    via?: string,
  ): void {
    this.aws.authorize(
      principal,
      {
        service: 'kms',
        action,
        resource: keyArn,
        context: {
          'kms:ViaService': `secretsmanager.${region}.amazonaws.com`,
          'kms:EncryptionContext:SecretARN': secretArn,
          'kms:CallerAccount': this.aws.account,
        },
      },
      {
        ...(via ? { via } : {}),
        deniedCode: 'AccessDeniedException',
        deniedMessage: `Access to KMS is not allowed (${principal.arn} may not ${action} with ${keyArn} for ${secretArn})`,
      },
    );
  }

  private find(nameOrArn: string): Secret | undefined {
    if (nameOrArn.startsWith('arn:')) {
      return (
        this.secrets.get(nameOrArn) ??
        // A partial ARN: without the random suffix.
        [...this.secrets.values()].find((s) => s.arn.slice(0, -7) === nameOrArn)
      );
    }
    return [...this.secrets.values()].find((s) => s.name === nameOrArn);
  }

  private create(
    name: string,
    kmsKeyArn: string | undefined,
    tags: Secret['tags'],
    arn = this.newArn(name, this.aws.region),
  ): Secret {
    const secret: Secret = { arn, name, kmsKeyArn, versions: [], tags };
    this.secrets.set(arn, secret);
    return secret;
  }

  private addVersion(secret: Secret, value: string, id: string): SecretVersion {
    for (const v of secret.versions) {
      v.stages.delete('AWSPREVIOUS');
      if (v.stages.delete('AWSCURRENT')) v.stages.add('AWSPREVIOUS');
    }
    const version: SecretVersion = { id, value, stages: new Set(['AWSCURRENT']), created: Date.now() };
    secret.versions.push(version);
    return version;
  }

  private version(secret: Secret, stage: string): SecretVersion | undefined {
    return secret.versions.find((v) => v.stages.has(stage));
  }

  /** A secret's ARN: its name and a random six-character suffix, as Secrets Manager makes it. */
  private newArn(name: string, region: string): string {
    const suffix = randomBytes(6).toString('base64url').replace(/[-_]/g, 'x').slice(0, 6);
    return `${this.arnFor(name, region)}-${suffix}`;
  }

  private arnFor(nameOrArn: string, region: string): string {
    if (nameOrArn.startsWith('arn:')) return nameOrArn;
    return `arn:aws:secretsmanager:${region}:${this.aws.account}:secret:${nameOrArn}`;
  }

  private keyArn(keyId: string, region: string): string {
    return keyId.startsWith('arn:') ? keyId : `arn:aws:kms:${region}:${this.aws.account}:key/${keyId}`;
  }
}
