/**
 * The loopback AWS stand-ins the executed state machine tests run the bundles against: they keep
 * the semantics the product relies on and refuse what the caller's policies do not allow, through
 * the real SDK clients.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Statement } from '../cdk/support/policy-evaluator';
import { type AwsPrincipal, ForwardingJsonService, startWatchdogAws, type WatchdogAws } from '../support/aws';

let account: WatchdogAws;
beforeEach(async () => {
  account = await startWatchdogAws();
});
afterEach(() => account.close());

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret';
const credentials = (p: AwsPrincipal) => ({
  accessKeyId: p.accessKeyId,
  secretAccessKey: 'x',
  sessionToken: p.sessionToken,
});
const secrets = (p: AwsPrincipal) =>
  new SecretsManagerClient({ region: 'us-east-1', endpoint: account.aws.url, credentials: credentials(p) });
const allow = (Action: string | string[], Resource: string | string[], Condition?: Statement['Condition']) =>
  ({ Effect: 'Allow', Action, Resource, ...(Condition ? { Condition } : {}) }) as Statement;

describe('Secrets Manager', () => {
  it('versions with ClientRequestToken: the same value again is idempotent, another value conflicts', async () => {
    const client = secrets(account.aws.testPrincipal);
    await client.send(
      new CreateSecretCommand({
        Name: 'state/locks/a',
        SecretString: 'v1',
        ClientRequestToken: 't'.repeat(32),
      }),
    );
    const again = await client.send(
      new PutSecretValueCommand({
        SecretId: 'state/locks/a',
        SecretString: 'v1',
        ClientRequestToken: 't'.repeat(32),
      }),
    );
    expect(again.VersionId).toBe('t'.repeat(32));
    await expect(
      client.send(
        new PutSecretValueCommand({
          SecretId: 'state/locks/a',
          SecretString: 'v2',
          ClientRequestToken: 't'.repeat(32),
        }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceExistsException' });
    await client.send(
      new PutSecretValueCommand({
        SecretId: 'state/locks/a',
        SecretString: 'v3',
        ClientRequestToken: 'u'.repeat(32),
      }),
    );
    const read = await client.send(new GetSecretValueCommand({ SecretId: 'state/locks/a' }));
    expect(read).toMatchObject({ SecretString: 'v3', VersionStages: ['AWSCURRENT'] });
    expect(read.ARN).toMatch(new RegExp(`^${ARN}:state/locks/a-\\w{6}$`));
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'state/none' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(
      client.send(new CreateSecretCommand({ Name: 'state/locks/a', SecretString: 'v9' })),
    ).rejects.toMatchObject({ name: 'ResourceExistsException' });
  });

  it("applies the caller's policy to the secret, and to the key it is encrypted with", async () => {
    account.secretsManager.seed('state/certificates/x', 'key material', { kmsKeyArn: account.keyArn });
    account.secretsManager.seed('rs/east', '{"username":"u","password":"p"}');
    const noKey = account.aws.addPrincipal('t', 'reader', [
      allow('secretsmanager:GetSecretValue', `${ARN}:state/*`),
    ]);
    await expect(
      secrets(noKey).send(new GetSecretValueCommand({ SecretId: 'state/certificates/x' })),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    await expect(
      secrets(noKey).send(new GetSecretValueCommand({ SecretId: 'rs/east' })),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringMatching(
        /not authorized to perform: secretsmanager:GetSecretValue on resource: .*rs\/east-\w{6}/,
      ),
    });
    const withKey = account.aws.addPrincipal('t', 'decrypter', [
      allow('secretsmanager:GetSecretValue', `${ARN}:state/*`),
      allow('kms:Decrypt', account.keyArn, {
        StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' },
        StringLike: { 'kms:EncryptionContext:SecretARN': [`${ARN}:state/certificates/*`] },
      }),
    ]);
    await expect(
      secrets(withKey).send(new GetSecretValueCommand({ SecretId: 'state/certificates/x' })),
    ).resolves.toMatchObject({
      SecretString: 'key material',
    });
    expect(account.aws.denied().map((c) => `${c.role} ${c.action}`)).toEqual([
      'reader kms:Decrypt',
      'reader secretsmanager:GetSecretValue',
    ]);
  });

  it('refuses writes when asked to (a key it cannot encrypt with), with the error Secrets Manager gives', async () => {
    account.secretsManager.refuseWrites = { code: 'EncryptionFailure', message: 'cannot encrypt' };
    await expect(
      secrets(account.aws.testPrincipal).send(
        new CreateSecretCommand({ Name: 'state/a', SecretString: 'v' }),
      ),
    ).rejects.toMatchObject({ name: 'EncryptionFailure' });
  });
});

describe('the Parameters and Secrets extension', () => {
  it("answers with the function's rights only, and relays Secrets Manager's errors", async () => {
    account.secretsManager.seed('rs/east', 'creds');
    const fn = account.aws.addPrincipal('t', 'check', [
      allow('secretsmanager:GetSecretValue', `${ARN}:rs/*`),
    ]);
    const get = (id: string, token?: string) =>
      fetch(
        `http://localhost:${account.extension.port}/secretsmanager/get?secretId=${encodeURIComponent(id)}`,
        {
          headers: token ? { 'X-Aws-Parameters-Secrets-Token': token } : {},
        },
      );
    expect((await get('rs/east')).status).toBe(401);
    const ok = await get('rs/east', fn.sessionToken);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ SecretString: 'creds', Name: 'rs/east' });
    const missing = await get('rs/west', fn.sessionToken);
    expect(missing.status).toBe(400);
    expect(await missing.text()).toMatch(/StatusCode: 400, .*ResourceNotFoundException: /);
    const denied = await get('other/secret', fn.sessionToken);
    expect(denied.status).toBe(400);
    expect(await denied.text()).toMatch(/api error AccessDeniedException: /);
    expect(account.aws.calls.filter((c) => c.role === 'check').every((c) => c.via === 'extension')).toBe(
      true,
    );
  });
});

describe('Route 53', () => {
  const zone = 'Z0TEST';
  const zoneArn = `arn:aws:route53:::hostedzone/${zone}`;
  const challengeOnly = () =>
    account.aws.addPrincipal('t', 'issue', [
      allow('route53:ChangeResourceRecordSets', zoneArn, {
        'ForAllValues:StringLike': {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_acme-challenge.*'],
        },
        'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
      }),
      allow('route53:ListResourceRecordSets', zoneArn),
      allow('route53:GetChange', 'arn:aws:route53:::change/*'),
    ]);
  const client = (p: AwsPrincipal) =>
    new Route53Client({ region: 'us-east-1', endpoint: account.aws.url, credentials: credentials(p) });
  const change = (Action: 'UPSERT' | 'DELETE', Name: string, Type: 'TXT' | 'A', values: string[]) =>
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zone,
      ChangeBatch: {
        Changes: [
          {
            Action,
            ResourceRecordSet: { Name, Type, TTL: 60, ResourceRecords: values.map((Value) => ({ Value })) },
          },
        ],
      },
    });

  it('applies challenge records as the policy allows, reports each change, and refuses others', async () => {
    const seen: string[] = [];
    account.route53.createHostedZone(zone, async ({ name, before, after }) => {
      seen.push(`${name} ${before.join(',')} -> ${after.join(',')}`);
    });
    const issue = client(challengeOnly());
    const out = await issue.send(
      change('UPSERT', '_acme-challenge.redis.example.com.', 'TXT', ['"a"', '"b"']),
    );
    expect(out.ChangeInfo?.Status).toBe('PENDING');
    await expect(issue.send(new GetChangeCommand({ Id: out.ChangeInfo!.Id! }))).resolves.toMatchObject({
      ChangeInfo: { Status: 'INSYNC' },
    });
    const list = await issue.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zone,
        StartRecordName: '_acme-challenge.redis.example.com',
        StartRecordType: 'TXT',
        MaxItems: 1,
      }),
    );
    expect(list.ResourceRecordSets?.[0]?.ResourceRecords?.map((r) => r.Value)).toEqual(['"a"', '"b"']);
    await expect(
      issue.send(change('DELETE', '_acme-challenge.redis.example.com.', 'TXT', ['"a"'])),
    ).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
    });
    await issue.send(change('DELETE', '_acme-challenge.redis.example.com.', 'TXT', ['"a"', '"b"']));
    await expect(
      issue.send(change('UPSERT', 'www.redis.example.com.', 'A', ['192.0.2.1'])),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    await expect(
      issue.send(change('UPSERT', 'www.redis.example.com.', 'TXT', ['"x"'])),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    expect(seen).toEqual([
      '_acme-challenge.redis.example.com.  -> "a","b"',
      '_acme-challenge.redis.example.com. "a","b" -> ',
    ]);
  });
});

describe('SNS', () => {
  it('publishes what SNS accepts to the subscribers, and refuses a subject SNS refuses', async () => {
    const topic = 'arn:aws:sns:us-east-1:123456789012:alerts';
    account.sns.createTopic(topic);
    const got: string[] = [];
    account.sns.subscribe((m) => {
      got.push(`${m.subject}: ${m.attributes.kind}`);
    });
    const notify = account.aws.addPrincipal('t', 'notify', [allow('sns:Publish', topic)]);
    const sns = new SNSClient({
      region: 'us-east-1',
      endpoint: account.aws.url,
      credentials: credentials(notify),
    });
    await sns.send(
      new PublishCommand({
        TopicArn: topic,
        Subject: 'Renewed proxy',
        Message: JSON.stringify({ default: 'text' }),
        MessageStructure: 'json',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'renewed' } },
      }),
    );
    await expect(
      sns.send(new PublishCommand({ TopicArn: topic, Subject: 'two\nlines', Message: 'm' })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
    await expect(
      sns.send(new PublishCommand({ TopicArn: `${topic}-other`, Message: 'm' })),
    ).rejects.toMatchObject({ name: 'AuthorizationErrorException' });
    expect(got).toEqual(['Renewed proxy: renewed']);
  });
});

describe('a forwarding stand-in (an emulator behind IAM)', () => {
  it('forwards what the policy allows and keeps the rest from the emulator', async () => {
    const received: string[] = [];
    const upstream = createServer((req, res) => {
      received.push(String(req.headers['x-amz-target']));
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end('{"Item":{}}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    try {
      account.aws.add(
        new ForwardingJsonService(account.aws, {
          signingName: 'dynamodb',
          endpointEnvName: 'DYNAMODB',
          upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
          authorize: ({ operation, input }) => [
            {
              action: `dynamodb:${operation}`,
              resource: `arn:aws:dynamodb:us-east-1:123456789012:table/${input.TableName}`,
            },
          ],
        }),
      );
      const fn = account.aws.addPrincipal('t', 'push', [
        allow('dynamodb:GetItem', 'arn:aws:dynamodb:us-east-1:123456789012:table/state'),
      ]);
      expect(account.aws.endpointEnvironment(fn).AWS_ENDPOINT_URL_DYNAMODB).toBe(account.aws.url);
      const call = (operation: string) =>
        fetch(account.aws.url, {
          method: 'POST',
          headers: {
            'x-amz-target': `DynamoDB_20120810.${operation}`,
            authorization: `AWS4-HMAC-SHA256 Credential=${fn.accessKeyId}/20261207/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0`,
          },
          body: JSON.stringify({ TableName: 'state', Key: {} }),
        });
      expect((await call('GetItem')).status).toBe(200);
      const denied = await call('DeleteItem');
      expect(denied.status).toBe(400);
      expect(await denied.json()).toMatchObject({ __type: 'AccessDeniedException' });
      expect(received).toEqual(['DynamoDB_20120810.GetItem']);
    } finally {
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});
