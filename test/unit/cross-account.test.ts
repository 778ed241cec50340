/**
 * Issue 19 item 7: clusters in other accounts. A cluster's `roleArn` is assumed (STS AssumeRole,
 * aws-sdk-client-mock) to read its credentialsSecret (and its client certificate's keySecret); the credentials are kept until shortly before
 * they expire; the check function, whose Parameters and Secrets extension cannot assume roles, reads
 * such a secret with the SDK; the configuration says what is missing.
 */
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretsExtensionCredentialsProvider } from '../../lambdas/adapters/secrets-extension';
import {
  RegionalSecretsClients,
  SecretsManagerCredentialsProvider,
} from '../../lambdas/adapters/secrets-manager';
import { AssumedRoleCredentials, REFRESH_BEFORE_MS, sessionNameFor } from '../../lambdas/adapters/sts';
import { checkConfig } from '../../lambdas/domain/config/schema';
import type { ClusterConfig } from '../../lambdas/domain/config/types';
import { AuthenticationError, ConfigError } from '../../lambdas/domain/errors';
import { createCa, issueCert } from '../support/pki';

const sts = mockClient(STSClient);
const secrets = mockClient(SecretsManagerClient);
const ROLE = 'arn:aws:iam::210987654321:role/rs-cert-watchdog-reader';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:210987654321:secret:rs/prod-far-AbCdEf';

const credentialsAt = (expiration: Date, n = 1) => ({
  Credentials: {
    AccessKeyId: `ASIAROLE${n}`,
    SecretAccessKey: `secret-${n}`,
    SessionToken: `token-${n}`,
    Expiration: expiration,
  },
});

const cluster = (extra: Partial<ClusterConfig>): ClusterConfig =>
  ({
    name: 'prod-far',
    endpoint: 'https://far.example.com:9443',
    credentialsSecret: SECRET,
    certificates: {},
    probe: {},
    timeoutSeconds: 20,
    ...extra,
  }) as unknown as ClusterConfig;

beforeEach(() => {
  sts.reset();
  secrets.reset();
});

describe('assuming a cluster’s role', () => {
  it('names the session after the function, sends the external ID, and keeps the credentials until 5 minutes before they expire', async () => {
    let now = Date.parse('2026-11-23T06:00:00Z');
    sts
      .on(AssumeRoleCommand)
      .resolvesOnce(credentialsAt(new Date(now + 3_600_000), 1))
      .resolvesOnce(credentialsAt(new Date(now + 7_200_000), 2));
    const role = new AssumedRoleCredentials(
      { roleArn: ROLE, externalId: 'rs-cert-watchdog-prod' },
      { sessionName: sessionNameFor('RsCertWatchdog-WatchdogCheckFunction-AbC123'), now: () => now },
    );
    // Side by side at first: one STS call.
    const [a, b] = await Promise.all([role.provider(), role.provider()]);
    expect(a).toEqual(b);
    expect(a.accessKeyId).toBe('ASIAROLE1');
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toEqual({
      RoleArn: ROLE,
      RoleSessionName: 'RsCertWatchdog-WatchdogCheckFunction-AbC123',
      DurationSeconds: 3600,
      ExternalId: 'rs-cert-watchdog-prod',
    });
    now += 3_600_000 - REFRESH_BEFORE_MS - 1000;
    expect((await role.provider()).accessKeyId).toBe('ASIAROLE1');
    now += 2000;
    expect((await role.provider()).accessKeyId).toBe('ASIAROLE2');
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it('says what to check when the role cannot be assumed', async () => {
    sts.on(AssumeRoleCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    const role = new AssumedRoleCredentials({ roleArn: ROLE });
    const error = await role.provider().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).message).toBe(`cannot assume role ${ROLE}: AccessDenied`);
    expect((error as AuthenticationError).hint).toMatch(/trust policy/);
  });

  it('gives STS a valid session name whatever the function is called', () => {
    expect(sessionNameFor(undefined)).toBe('rs-cert-watchdog-cli');
    expect(sessionNameFor('a b/c:d')).toBe('a-b-c-d');
    expect(sessionNameFor('x'.repeat(100))).toHaveLength(64);
  });
});

describe('reading a cluster secret as its role', () => {
  it('reads it with a client of the secret’s region whose credentials are the role’s; other clusters as the function', async () => {
    sts.on(AssumeRoleCommand).resolves(credentialsAt(new Date(Date.now() + 3_600_000)));
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"u","password":"p"}' });
    const home = new SecretsManagerClient({ region: 'us-east-1' });
    const provider = new SecretsManagerCredentialsProvider(
      new RegionalSecretsClients(home, undefined, 'us-east-1'),
    );
    await provider.resolve(cluster({ roleArn: ROLE, roleExternalId: 'ext-1' }));
    await provider.resolve(cluster({ name: 'prod-east', credentialsSecret: 'rs/prod-east' }));
    const [far, east] = secrets.commandCalls(GetSecretValueCommand);
    const farClient = far?.thisValue as SecretsManagerClient;
    expect(await farClient.config.region()).toBe('eu-west-1');
    expect(await farClient.config.credentials()).toMatchObject({
      accessKeyId: 'ASIAROLE1',
      sessionToken: 'token-1',
    });
    expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toMatchObject({
      RoleArn: ROLE,
      ExternalId: 'ext-1',
    });
    expect(east?.thisValue).toBe(home);
  });

  it('reads and writes the client certificate’s keySecret as the role too (RS 8.x certificate login)', async () => {
    const ca = await createCa();
    const subject = [{ CN: ['rs-cert-watchdog'] }];
    const [current, renewed] = await Promise.all(
      [1, 2].map(() => issueCert({ ca, dnsNames: [], subject, extKeyUsage: ['clientAuth'], freshKey: true })),
    );
    const KEY_SECRET = 'arn:aws:secretsmanager:eu-west-1:210987654321:secret:rs/prod-far-client-AbCdEf';
    sts.on(AssumeRoleCommand).resolves(credentialsAt(new Date(Date.now() + 3_600_000)));
    secrets
      .on(GetSecretValueCommand, { SecretId: KEY_SECRET })
      .resolves({ SecretString: `${current!.keyPem}${current!.chainPem}` });
    secrets.on(PutSecretValueCommand).resolves({});
    const home = new SecretsManagerClient({ region: 'eu-west-1' });
    const provider = new SecretsManagerCredentialsProvider(
      new RegionalSecretsClients(home, undefined, 'eu-west-1'),
    );
    const far = cluster({
      roleArn: ROLE,
      credentialsSecret: undefined,
      clientCertificate: { certFile: '/nonexistent/client.pem', keySecret: KEY_SECRET },
    } as unknown as Partial<ClusterConfig>);
    const access = await provider.resolve(far);
    expect(access.clientCertificate?.keyPem).toBe(current!.keyPem);
    await provider.writeClientCertificate(far, {
      certificatePem: renewed!.chainPem,
      keyPem: renewed!.keyPem,
    });
    const read = secrets.commandCalls(GetSecretValueCommand)[0]!;
    const written = secrets.commandCalls(PutSecretValueCommand)[0]!;
    for (const call of [read, written]) {
      // Not the function's own client: one whose credentials are the role's.
      expect(call.thisValue).not.toBe(home);
      expect(await (call.thisValue as SecretsManagerClient).config.credentials()).toMatchObject({
        accessKeyId: 'ASIAROLE1',
      });
    }
    expect(written.args[0].input.SecretId).toBe(KEY_SECRET);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
  });

  it('says which role could not read the secret', async () => {
    sts.on(AssumeRoleCommand).resolves(credentialsAt(new Date(Date.now() + 3_600_000)));
    secrets
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const provider = new SecretsManagerCredentialsProvider(
      new RegionalSecretsClients(new SecretsManagerClient({ region: 'eu-west-1' }), undefined, 'eu-west-1'),
    );
    const error = (await provider
      .resolve(cluster({ roleArn: ROLE }))
      .catch((e: unknown) => e)) as AuthenticationError;
    expect(error.message).toBe(
      `cluster "prod-far": cannot read secret ${SECRET} as ${ROLE}: AccessDeniedException`,
    );
    expect(error.hint).toMatch(/the role may read it/);
  });

  it('is read with the SDK by the check function: the extension cannot assume roles', async () => {
    const seen: string[] = [];
    const sdk = {
      resolve: async (c: ClusterConfig) => {
        seen.push(c.name);
        return { username: 'u', password: 'p' };
      },
    };
    const sameRegion = cluster({ roleArn: ROLE, credentialsSecret: 'rs/prod-far' });
    const withSdk = new SecretsExtensionCredentialsProvider({ otherRegions: () => sdk, port: 1 });
    await expect(withSdk.resolve(sameRegion)).resolves.toEqual({ username: 'u', password: 'p' });
    expect(seen).toEqual(['prod-far']);
    const without = new SecretsExtensionCredentialsProvider({ port: 1 });
    await expect(without.resolve(sameRegion)).rejects.toThrow(ConfigError);
    await expect(without.resolve(sameRegion)).rejects.toThrow(/cannot assume roles/);
  });
});

describe('the configuration of a cluster in another account', () => {
  const base = {
    clusters: [{ name: 'far', endpoint: 'https://far.example.com:9443', credentialsSecret: 'rs/far' }],
  };
  const issues = (extra: Record<string, unknown>) => {
    const checked = checkConfig({ clusters: [{ ...base.clusters[0], ...extra }] });
    return checked.ok ? [] : checked.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('takes a role ARN and an external ID', () => {
    expect(issues({ roleArn: ROLE, roleExternalId: 'rs-cert-watchdog-prod' })).toEqual([]);
  });

  it('refuses what cannot work, saying why', () => {
    expect(issues({ roleArn: 'arn:aws:iam::123:user/x' })).toEqual([
      'clusters.0.roleArn: must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)',
    ]);
    expect(issues({ roleExternalId: 'abc' })).toEqual(['clusters.0.roleExternalId: needs roleArn']);
    const local = checkConfig({
      clusters: [
        {
          name: 'far',
          endpoint: 'https://far.example.com:9443',
          username: 'u',
          passwordEnv: 'P',
          roleArn: ROLE,
        },
      ],
    });
    expect(local.ok ? [] : local.issues.map((i) => i.message)).toEqual([
      'is used to read credentialsSecret or clientCertificate.keySecret: set one of them, or remove roleArn',
    ]);
  });
});
