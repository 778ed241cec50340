import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { AcmeIssuer } from '../../lambdas/adapters/acme/issuer';
import { LocalDirectoryStore } from '../../lambdas/adapters/local-directory/state-directory';
import { Route53DnsProvider } from '../../lambdas/adapters/route53/dns-provider';
import {
  getSecretString,
  SecretsExtensionCredentialsProvider,
} from '../../lambdas/adapters/secrets-extension/credentials';
import { SecretsManagerCredentialsProvider } from '../../lambdas/adapters/secrets-manager/credentials';
import { SecretsManagerLegacyState } from '../../lambdas/adapters/secrets-manager/legacy-state';
import { SnsNotifier } from '../../lambdas/adapters/sns/notifier';
import { localCredentials } from '../../lambdas/cli/local-context';
import type { ClusterConfig } from '../../lambdas/domain/config/types';
import { StateStore } from '../../lambdas/domain/state';
import { startPebble } from '../support/pebble';

const route53 = mockClient(Route53Client);
const secrets = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
afterEach(() => {
  route53.reset();
  secrets.reset();
  sns.reset();
});

const cluster = {
  name: 'prod-east',
  credentialsSecret: 'rs/prod-east',
  certificates: {},
  probe: {},
  timeoutSeconds: 20,
} as unknown as ClusterConfig;

describe('Route 53 DNS provider', () => {
  const fqdn = '_acme-challenge.example.com.';
  /** Each ChangeResourceRecordSets batch sent, as [action, values] per change. */
  const changeBatches = () =>
    route53
      .commandCalls(ChangeResourceRecordSetsCommand)
      .map((c) =>
        (c.args[0].input.ChangeBatch?.Changes ?? []).map((a) => [
          a.Action,
          a.ResourceRecordSet?.ResourceRecords?.map((r) => r.Value),
        ]),
      );

  it('swaps the TXT record for one with our value added (DELETE exactly what it read, CREATE the merged set), and waits until INSYNC', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [{ Name: fqdn, Type: 'TXT', ResourceRecords: [{ Value: '"wildcard-token"' }] }],
    });
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } });
    route53
      .on(GetChangeCommand)
      .resolvesOnce({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } })
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });
    const provider = new Route53DnsProvider({
      hostedZoneId: 'Z123',
      client: new Route53Client({}),
      pollIntervalMs: 1,
    });
    await provider.present(fqdn, 'apex-token');
    expect(route53).toHaveReceivedCommandWith(ChangeResourceRecordSetsCommand, {
      HostedZoneId: 'Z123',
      ChangeBatch: expect.objectContaining({
        Changes: [
          {
            Action: 'DELETE',
            ResourceRecordSet: {
              Name: fqdn,
              Type: 'TXT',
              TTL: 60,
              ResourceRecords: [{ Value: '"wildcard-token"' }],
            },
          },
          {
            Action: 'CREATE',
            ResourceRecordSet: {
              Name: fqdn,
              Type: 'TXT',
              TTL: 60,
              ResourceRecords: [{ Value: '"wildcard-token"' }, { Value: '"apex-token"' }],
            },
          },
        ],
      }),
    });
    expect(route53).toHaveReceivedCommandTimes(GetChangeCommand, 2);
  });

  it('fails with DnsProviderError when the change never gets INSYNC', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [] });
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C2', Status: 'PENDING', SubmittedAt: new Date() } });
    route53
      .on(GetChangeCommand)
      .resolves({ ChangeInfo: { Id: '/change/C2', Status: 'PENDING', SubmittedAt: new Date() } });
    const provider = new Route53DnsProvider({
      hostedZoneId: 'Z123',
      client: new Route53Client({}),
      pollIntervalMs: 1,
      propagationTimeoutMs: 20,
    });
    await expect(provider.present(fqdn, 'v')).rejects.toMatchObject({
      name: 'DnsProviderError',
      message: expect.stringMatching(/not INSYNC in time/),
    });
  });

  it('cleanup removes only our value: swaps the set for the rest, DELETEs the last', async () => {
    route53
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce({
        ResourceRecordSets: [
          { Name: fqdn, Type: 'TXT', ResourceRecords: [{ Value: '"a"' }, { Value: '"b"' }] },
        ],
      })
      .resolves({ ResourceRecordSets: [{ Name: fqdn, Type: 'TXT', ResourceRecords: [{ Value: '"b"' }] }] });
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C3', Status: 'PENDING', SubmittedAt: new Date() } });
    const provider = new Route53DnsProvider({ hostedZoneId: 'Z123', client: new Route53Client({}) });
    await provider.cleanup(fqdn, 'a');
    await provider.cleanup(fqdn, 'b');
    expect(changeBatches()).toEqual([
      [
        ['DELETE', ['"a"', '"b"']],
        ['CREATE', ['"b"']],
      ],
      [['DELETE', ['"b"']]],
    ]);
  });

  it('reads again and retries when another run changed the set between its read and its write', async () => {
    // Another run adds its value after our read: Route 53 refuses our DELETE of the set as we read it.
    route53
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce({ ResourceRecordSets: [] })
      .resolves({
        ResourceRecordSets: [{ Name: fqdn, Type: 'TXT', ResourceRecords: [{ Value: '"theirs"' }] }],
      });
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(
        Object.assign(new Error('Tried to create resource record set but it already exists'), {
          name: 'InvalidChangeBatch',
        }),
      )
      .resolves({ ChangeInfo: { Id: '/change/C9', Status: 'INSYNC', SubmittedAt: new Date() } });
    route53
      .on(GetChangeCommand)
      .resolves({ ChangeInfo: { Id: '/change/C9', Status: 'INSYNC', SubmittedAt: new Date() } });
    const provider = new Route53DnsProvider({
      hostedZoneId: 'Z123',
      client: new Route53Client({}),
      pollIntervalMs: 1,
    });
    await provider.present(fqdn, 'ours');
    expect(changeBatches()).toEqual([
      [['CREATE', ['"ours"']]],
      [
        ['DELETE', ['"theirs"']],
        ['CREATE', ['"theirs"', '"ours"']],
      ],
    ]);
  });

  it('is cleaned up when validation fails at a real ACME CA (the record never reaches its DNS)', async () => {
    route53.on(ListResourceRecordSetsCommand).callsFake((input: { StartRecordName?: string }) => {
      const upserts = route53
        .commandCalls(ChangeResourceRecordSetsCommand)
        .filter((c) => c.args[0].input.ChangeBatch?.Changes?.some((a) => a.Action === 'CREATE'));
      const last = upserts
        .at(-1)
        ?.args[0].input.ChangeBatch?.Changes?.find((a) => a.Action === 'CREATE')?.ResourceRecordSet;
      return { ResourceRecordSets: last && last.Name === input.StartRecordName ? [last] : [] };
    });
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C4', Status: 'INSYNC', SubmittedAt: new Date() } });
    route53
      .on(GetChangeCommand)
      .resolves({ ChangeInfo: { Id: '/change/C4', Status: 'INSYNC', SubmittedAt: new Date() } });
    const pebble = await startPebble();
    const dir = await mkdtemp(join(tmpdir(), 'r53-'));
    try {
      const issuer = new AcmeIssuer({
        acme: {
          directoryUrl: pebble.directoryUrl,
          email: 'ops@example.com',
          caFile: pebble.caFile,
          keyType: 'ecdsa-p256',
        },
        trustPem: await readFile(pebble.caFile, 'utf8'),
        dns: new Route53DnsProvider({ hostedZoneId: 'Z123', client: new Route53Client({}) }),
        state: new StateStore(new LocalDirectoryStore(dir)),
      });
      const error = await issuer.issue(['r53.example.com'], 'ecdsa-p256').catch((e: Error) => e);
      expect(error).toMatchObject({
        name: 'AcmeValidationError',
        record: '_acme-challenge.r53.example.com.',
      });
      const actions = route53
        .commandCalls(ChangeResourceRecordSetsCommand)
        .map((c) => c.args[0].input.ChangeBatch?.Changes?.[0]?.Action);
      expect(actions).toEqual(['CREATE', 'DELETE']);
    } finally {
      await pebble.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the state secrets of earlier versions (read once, by the migration)', () => {
  const legacy = () =>
    new SecretsManagerLegacyState({ prefix: 'rs-cert-watchdog/test', client: new SecretsManagerClient({}) });

  it('reads null for a missing secret (ResourceNotFoundException) and the value otherwise', async () => {
    secrets
      .on(GetSecretValueCommand, { SecretId: 'rs-cert-watchdog/test/missing' })
      .rejects(new ResourceNotFoundException({ message: 'nope', $metadata: {} }));
    secrets
      .on(GetSecretValueCommand, { SecretId: 'rs-cert-watchdog/test/there' })
      .resolves({ SecretString: 'v' });
    expect(await legacy().read('missing')).toBeNull();
    expect(await legacy().read('there')).toBe('v');
  });

  it.each([
    ['AccessDeniedException', /grant/],
    ['DecryptionFailure', /KMS key/],
    ['ThrottlingException', /resumes/],
    ['InvalidRequestException', /restore-secret/],
  ])('%s is a StateStoreError, never "absent"', async (type, hint) => {
    secrets.on(GetSecretValueCommand).rejects(Object.assign(new Error('no'), { name: type }));
    await expect(legacy().read('certificates/east/proxy/current')).rejects.toMatchObject({
      name: 'StateStoreError',
      message: expect.stringContaining(type),
      hint: expect.stringMatching(hint),
    });
  });
});

describe('cluster credentials from Secrets Manager', () => {
  it('reads {username, password, caPem} once per cluster', async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ username: 'admin', password: 'pw', caPem: 'PEM' }) });
    const provider = new SecretsManagerCredentialsProvider(new SecretsManagerClient({}));
    expect(await provider.resolve(cluster)).toEqual({ username: 'admin', password: 'pw', caPem: 'PEM' });
    await provider.resolve(cluster);
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });

  it('lets the local CLI read a credentialsSecret cluster from Secrets Manager', async () => {
    secrets
      .on(GetSecretValueCommand, { SecretId: 'rs/prod-east' })
      .resolves({ SecretString: JSON.stringify({ username: 'u', password: 'p' }) });
    expect(await localCredentials({}).resolve(cluster)).toMatchObject({ username: 'u', password: 'p' });
  });

  it('rejects a malformed secret without quoting it', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'password=hunter2' });
    const error = await new SecretsManagerCredentialsProvider(new SecretsManagerClient({}))
      .resolve(cluster)
      .catch((e: Error) => e);
    expect((error as Error).name).toBe('ConfigError');
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('reads through the Parameters and Secrets Lambda Extension with the session token', async () => {
    const seen: Array<{ url?: string; token?: string | string[] }> = [];
    const server = createServer((req, res) => {
      seen.push({ url: req.url, token: req.headers['x-aws-parameters-secrets-token'] });
      res.end(JSON.stringify({ SecretString: JSON.stringify({ username: 'admin', password: 'pw' }) }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const provider = new SecretsExtensionCredentialsProvider({ port, sessionToken: 'tok' });
      expect(await provider.resolve(cluster)).toMatchObject({ username: 'admin', password: 'pw' });
      expect(seen).toEqual([{ url: '/secretsmanager/get?secretId=rs%2Fprod-east', token: 'tok' }]);
    } finally {
      server.close();
    }
  });

  it('through the extension, only ResourceNotFoundException means the secret does not exist', async () => {
    const answers: Record<string, string> = {
      missing:
        "operation error Secrets Manager: GetSecretValue, https response error StatusCode: 400, RequestID: r, ResourceNotFoundException: Secrets Manager can't find the specified secret.",
      denied:
        'operation error Secrets Manager: GetSecretValue, https response error StatusCode: 400, RequestID: r, api error AccessDeniedException: not authorized',
      kms: 'operation error Secrets Manager: GetSecretValue, https response error StatusCode: 400, RequestID: r, DecryptionFailure: KMS key disabled',
    };
    const server = createServer((req, res) => {
      const id = new URL(req.url ?? '', 'http://x').searchParams.get('secretId') ?? '';
      res.statusCode = id === 'throttled' ? 429 : 400;
      res.end(answers[id] ?? '');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const read = async (id: string) => getSecretString(id, port, 'tok');
      expect(await read('missing')).toMatchObject({
        ok: false,
        notFound: true,
        errorType: 'ResourceNotFoundException',
      });
      expect(await read('denied')).toMatchObject({
        ok: false,
        notFound: false,
        errorType: 'AccessDeniedException',
        hint: expect.stringMatching(/grant/),
      });
      expect(await read('kms')).toMatchObject({
        ok: false,
        notFound: false,
        hint: expect.stringMatching(/KMS/),
      });
      expect(await read('throttled')).toMatchObject({
        ok: false,
        notFound: false,
        hint: expect.stringMatching(/throttled/),
      });
      const provider = new SecretsExtensionCredentialsProvider({ port, sessionToken: 'tok' });
      await expect(provider.resolve({ ...cluster, credentialsSecret: 'denied' })).rejects.toMatchObject({
        name: 'AuthenticationError',
        message: expect.stringContaining('AccessDeniedException'),
      });
    } finally {
      server.close();
    }
  });
});

describe('secrets extension: a credentials secret in another region', () => {
  it('reads it with an SDK client of that region, never through the extension', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.end(JSON.stringify({ SecretString: JSON.stringify({ username: 'wrong', password: 'wrong' }) }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const region = process.env.AWS_REGION;
    process.env.AWS_REGION = 'eu-west-1';
    try {
      secrets
        .on(GetSecretValueCommand)
        .resolves({ SecretString: JSON.stringify({ username: 'admin', password: 'pw' }) });
      const arn = 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:rs/prod-west-Ab12Cd';
      const port = (server.address() as AddressInfo).port;
      const sdkFree = new SecretsExtensionCredentialsProvider({ port, sessionToken: 'tok' });
      const refused = await sdkFree.resolve({ ...cluster, credentialsSecret: arn }).catch((e: Error) => e);
      expect(refused).toMatchObject({ name: 'ConfigError', message: expect.stringMatching(/in eu-west-3/) });
      const provider = new SecretsExtensionCredentialsProvider({
        port,
        sessionToken: 'tok',
        otherRegions: () => new SecretsManagerCredentialsProvider(),
      });
      expect(await provider.resolve({ ...cluster, credentialsSecret: arn })).toMatchObject({
        username: 'admin',
        password: 'pw',
      });
      expect(seen).toEqual([]);
      const call = secrets.commandCalls(GetSecretValueCommand)[0]!;
      expect(call.args[0].input.SecretId).toBe(arn);
      expect(await call.thisValue.config.region()).toBe('eu-west-3');
    } finally {
      if (region === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = region;
      server.close();
    }
  });
});

describe('SNS notifier', () => {
  it('publishes text for email and the structured alert for the Slack forwarder', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    await new SnsNotifier('arn:aws:sns:eu-west-1:1:alerts', new SNSClient({})).send({
      kind: 'renewal-failed',
      cluster: 'prod-east',
      certificate: 'proxy',
      error: { name: 'ExpiredCertificateError', message: 'the cluster considers the certificate expired' },
      action: 'check the clocks',
    });
    const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.Subject).toBe('[rs-cert-watchdog] FAILED to renew proxy on prod-east');
    expect(input.MessageStructure).toBe('json');
    const message = JSON.parse(input.Message ?? '{}') as Record<string, string>;
    expect(message.email).toMatch(/Error: ExpiredCertificateError/);
    expect(JSON.parse(message.lambda ?? '{}')).toMatchObject({
      kind: 'renewal-failed',
      cluster: 'prod-east',
    });
    expect(input.MessageAttributes?.severity?.StringValue).toBe('critical');
  });
});
