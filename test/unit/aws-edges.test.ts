/**
 * The AWS adapters at their edges (aws-sdk-client-mock): one Route 53 change batch and one INSYNC
 * wait per order; a secret ARN read in its own region; only the conflict signal is a lost lock race;
 * the EAB HMAC key read like a cluster password, never from the bundled config on AWS.
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { eabHmacKey } from '../../lambdas/adapters/acme/issuer';
import { Route53DnsProvider } from '../../lambdas/adapters/route53/dns-provider';
import { SecretsManagerCredentialsProvider } from '../../lambdas/adapters/secrets-manager/credentials';
import {
  RegionalSecretsClients,
  readSecretString,
  secretRegion,
} from '../../lambdas/adapters/secrets-manager/regional';
import { acmeSchema } from '../../lambdas/domain/config/schema';
import type { ClusterConfig } from '../../lambdas/domain/config/types';

const route53 = mockClient(Route53Client);
const secrets = mockClient(SecretsManagerClient);
afterEach(() => {
  route53.reset();
  secrets.reset();
});

describe('Route 53: one change batch, one INSYNC wait per order', () => {
  it('publishes every record of an order in one batch, merged per name, and waits once', async () => {
    route53.on(ListResourceRecordSetsCommand).callsFake((input: { StartRecordName?: string }) => ({
      ResourceRecordSets:
        input.StartRecordName === '_acme-challenge.a.example.com.'
          ? [
              {
                Name: '_acme-challenge.a.example.com.',
                Type: 'TXT',
                ResourceRecords: [{ Value: '"another-run"' }],
              },
            ]
          : [],
    }));
    route53.on(ChangeResourceRecordSetsCommand).resolves({
      ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() },
    });
    route53
      .on(GetChangeCommand)
      .resolvesOnce({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } })
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });
    const provider = new Route53DnsProvider({
      hostedZoneId: 'Z1',
      client: new Route53Client({}),
      pollIntervalMs: 1,
    });
    await provider.presentAll([
      { fqdn: '_acme-challenge.a.example.com.', value: 'wild' },
      { fqdn: '_acme-challenge.a.example.com.', value: 'apex' },
      { fqdn: '_acme-challenge.b.example.com.', value: 'b' },
    ]);
    expect(route53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
    const batch = route53.commandCalls(ChangeResourceRecordSetsCommand)[0]!.args[0].input.ChangeBatch!;
    expect(batch.Changes).toEqual([
      {
        Action: 'DELETE',
        ResourceRecordSet: {
          Name: '_acme-challenge.a.example.com.',
          Type: 'TXT',
          TTL: 60,
          ResourceRecords: [{ Value: '"another-run"' }],
        },
      },
      {
        Action: 'CREATE',
        ResourceRecordSet: {
          Name: '_acme-challenge.a.example.com.',
          Type: 'TXT',
          TTL: 60,
          ResourceRecords: [{ Value: '"another-run"' }, { Value: '"wild"' }, { Value: '"apex"' }],
        },
      },
      {
        Action: 'CREATE',
        ResourceRecordSet: {
          Name: '_acme-challenge.b.example.com.',
          Type: 'TXT',
          TTL: 60,
          ResourceRecords: [{ Value: '"b"' }],
        },
      },
    ]);
    // One change, so one INSYNC poll loop (two polls: PENDING then INSYNC), not one per record.
    expect(route53).toHaveReceivedCommandTimes(GetChangeCommand, 2);
  });

  it('names every record of a batch that did not propagate in time', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [] });
    route53.on(ChangeResourceRecordSetsCommand).resolves({
      ChangeInfo: { Id: '/change/C2', Status: 'PENDING', SubmittedAt: new Date() },
    });
    route53.on(GetChangeCommand).resolves({
      ChangeInfo: { Id: '/change/C2', Status: 'PENDING', SubmittedAt: new Date() },
    });
    const provider = new Route53DnsProvider({
      hostedZoneId: 'Z1',
      client: new Route53Client({}),
      pollIntervalMs: 1,
      propagationTimeoutMs: 5,
    });
    await expect(
      provider.presentAll([
        { fqdn: '_acme-challenge.a.example.com.', value: 'x' },
        { fqdn: '_acme-challenge.b.example.com.', value: 'y' },
      ]),
    ).rejects.toMatchObject({
      name: 'DnsProviderError',
      message: expect.stringMatching(
        /_acme-challenge\.a\.example\.com\., _acme-challenge\.b\.example\.com\..*not INSYNC/,
      ),
    });
  });
});

describe('secrets in another region', () => {
  const arn = (region: string, name: string) =>
    `arn:aws:secretsmanager:${region}:123456789012:secret:${name}-AbCdEf`;
  const clusterWith = (name: string, credentialsSecret: string) =>
    ({
      name,
      credentialsSecret,
      certificates: {},
      probe: {},
      timeoutSeconds: 20,
    }) as unknown as ClusterConfig;

  it('reads an ARN with a client for the ARN’s region, one client per region', async () => {
    const home = new SecretsManagerClient({ region: 'us-east-1' });
    const made: string[] = [];
    const clients = new RegionalSecretsClients(
      home,
      (region) => {
        made.push(region);
        return new SecretsManagerClient({ region });
      },
      'us-east-1',
    );
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"u","password":"p"}' });
    const provider = new SecretsManagerCredentialsProvider(clients);
    await provider.resolve(clusterWith('a', arn('eu-west-1', 'rs/a')));
    await provider.resolve(clusterWith('b', arn('eu-west-1', 'rs/b')));
    await provider.resolve(clusterWith('c', arn('ap-southeast-2', 'rs/c')));
    await provider.resolve(clusterWith('d', arn('us-east-1', 'rs/d')));
    await provider.resolve(clusterWith('e', 'rs/e'));
    expect(made).toEqual(['eu-west-1', 'ap-southeast-2']);

    const calls = secrets.commandCalls(GetSecretValueCommand);
    const regionOf = async (i: number) => (calls[i]!.thisValue as SecretsManagerClient).config.region();
    expect(await Promise.all([0, 1, 2, 3, 4].map(regionOf))).toEqual([
      'eu-west-1',
      'eu-west-1',
      'ap-southeast-2',
      'us-east-1',
      'us-east-1',
    ]);
    expect(calls[0]!.thisValue).toBe(calls[1]!.thisValue);
    expect(calls[3]!.thisValue).toBe(home);
    expect(calls[4]!.thisValue).toBe(home);
  });

  it('reads the region of ARNs in every partition, and none from a name', () => {
    expect(secretRegion(arn('eu-central-1', 'x'))).toBe('eu-central-1');
    expect(secretRegion('arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x')).toBe('cn-north-1');
    expect(secretRegion('arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x')).toBe(
      'us-gov-west-1',
    );
    expect(secretRegion('rs/prod-east')).toBeUndefined();
    expect(secretRegion('arn:aws:ssm:eu-west-1:123456789012:parameter/x')).toBeUndefined();
  });
});

describe('External Account Binding HMAC key', () => {
  it('is read from the environment, a secret, or (local only) the config', async () => {
    expect(await eabHmacKey({ kid: 'k', hmacKeyEnv: 'EAB_KEY' }, { env: { EAB_KEY: 'from-env' } })).toBe(
      'from-env',
    );
    expect(
      await eabHmacKey({ kid: 'k', hmacKeySecret: 'acme/eab' }, { readSecret: async () => ' from-secret\n' }),
    ).toBe('from-secret');
    expect(await eabHmacKey({ kid: 'k', hmacKey: 'inline' }, {})).toBe('inline');
  });

  it('is a ConfigError, never a value in a message, when it cannot be read', async () => {
    await expect(eabHmacKey({ kid: 'k', hmacKeyEnv: 'EAB_KEY' }, { env: {} })).rejects.toMatchObject({
      name: 'ConfigError',
      message: 'acme.eab.hmacKeyEnv: environment variable EAB_KEY is not set',
    });
    await expect(eabHmacKey({ kid: 'k', hmacKeySecret: 'acme/eab' }, {})).rejects.toMatchObject({
      name: 'ConfigError',
    });
  });

  it('reads hmacKeySecret through Secrets Manager, in the region of its ARN', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'c2VjcmV0LWhtYWM' });
    const made: string[] = [];
    const clients = new RegionalSecretsClients(
      new SecretsManagerClient({ region: 'us-east-1' }),
      (region) => {
        made.push(region);
        return new SecretsManagerClient({ region });
      },
      'us-east-1',
    );
    const id = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme/eab-AbCdEf';
    expect(await readSecretString(id, clients)).toBe('c2VjcmV0LWhtYWM');
    expect(made).toEqual(['eu-west-1']);
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: id });

    secrets.reset();
    secrets.on(GetSecretValueCommand).rejects(new Error('denied'));
    const error = await readSecretString(id, clients).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ConfigError' });
  });

  it('takes exactly one source in the schema', () => {
    const base = { email: 'ops@example.com' };
    expect(acmeSchema.safeParse({ ...base, eab: { kid: 'k', hmacKeySecret: 'acme/eab' } }).success).toBe(
      true,
    );
    expect(acmeSchema.safeParse({ ...base, eab: { kid: 'k', hmacKeyEnv: 'EAB' } }).success).toBe(true);
    expect(acmeSchema.safeParse({ ...base, eab: { kid: 'k', hmacKey: 'x' } }).success).toBe(true);
    expect(acmeSchema.safeParse({ ...base, eab: { kid: 'k' } }).success).toBe(false);
    expect(
      acmeSchema.safeParse({ ...base, eab: { kid: 'k', hmacKey: 'x', hmacKeySecret: 'acme/eab' } }).success,
    ).toBe(false);
  });
});
