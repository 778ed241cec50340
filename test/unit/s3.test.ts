/**
 * The run's bucket: the S3ObjectStore adapter (no SDK) against the loopback S3 stand-in, which
 * verifies SigV4 as S3 does and enforces IAM and SSE-KMS; its retries against the stand-in's
 * injected faults and a tiny server that drops connections; and the in-memory store the CLI uses.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../lambdas/adapters/in-memory';
import { exchange } from '../../lambdas/adapters/plain-http';
import { encodeKeyPath, S3Error, S3ObjectStore, s3ObjectUrl } from '../../lambdas/adapters/s3';
import type { Statement } from '../cdk/support/policy-evaluator';
import { type AwsPrincipal, LoopbackAws, S3StandIn, startWatchdogAws } from '../support/aws';
import { LOOPBACK_SECRET_ACCESS_KEY } from '../support/aws/loopback-aws';

const BUCKET = 'watchdog-runs-123456789012';
const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
const OTHER_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/99999999-8888-7777-6666-555555555555';
const VIA_S3 = { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } };

const allow = (Action: string | string[], Resource: string | string[], Condition?: Statement['Condition']) =>
  ({ Effect: 'Allow', Action, Resource, ...(Condition ? { Condition } : {}) }) as Statement;

/** Every grant a function writing and reading the run's objects has. */
const FULL: Statement[] = [
  allow(['s3:PutObject', 's3:GetObject'], `arn:aws:s3:::${BUCKET}/*`),
  allow('s3:ListBucket', `arn:aws:s3:::${BUCKET}`),
  allow(['kms:GenerateDataKey', 'kms:Decrypt'], KEY_ARN, VIA_S3),
];

let aws: LoopbackAws;
let s3: S3StandIn;
const waits: number[] = [];
beforeEach(async () => {
  aws = await new LoopbackAws().start();
  s3 = aws.add(new S3StandIn(aws));
  s3.createBucket(BUCKET, { kmsKeyArn: KEY_ARN });
  waits.length = 0;
});
afterEach(() => aws.close());

let roles = 0;
function storeFor(
  statements: readonly Statement[] | undefined,
  options: Partial<ConstructorParameters<typeof S3ObjectStore>[0]> = {},
): S3ObjectStore {
  const principal = aws.addPrincipal('d', `role${roles++}`, statements);
  return new S3ObjectStore({
    bucket: BUCKET,
    region: aws.region,
    endpoint: aws.url,
    credentials: () => credentialsOf(principal),
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...options,
  });
}

function credentialsOf(principal: AwsPrincipal) {
  return {
    accessKeyId: principal.accessKeyId,
    secretAccessKey: LOOPBACK_SECRET_ACCESS_KEY,
    sessionToken: principal.sessionToken,
  };
}

/** Keys a report or a plan may have, and the ones URL handling gets wrong. */
const HARD_KEYS = [
  'runs/2025-01-01T00:00:00.000Z/report.json',
  'runs/with space/and+plus/report (1).json',
  'runs/ünïcödé/東京/🔐.json',
  "runs/!'()*~_-./semi;colon,comma=eq&amp?q#frag@at$dollar",
  'runs/percent%2Fnot-a-slash/%25/%',
  'runs//empty-segment/',
  'runs/back\\slash/"quote"/<angle>/{brace}/|pipe|/^caret`tick',
];

describe('S3ObjectStore against the loopback S3', () => {
  it('round-trips keys with "/", spaces, unicode and URL metacharacters exactly, and the bytes as sent', async () => {
    const store = storeFor(FULL);
    for (const [i, key] of HARD_KEYS.entries())
      await store.put(key, `{"n":${i},"é":"🔐"}`, 'application/json');
    expect(s3.keys(BUCKET)).toEqual(
      [...HARD_KEYS].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
    for (const [i, key] of HARD_KEYS.entries()) {
      expect(await store.getText(key)).toBe(`{"n":${i},"é":"🔐"}`);
      expect(s3.objectOf(BUCKET, key)).toMatchObject({ contentType: 'application/json', kmsKeyArn: KEY_ARN });
    }
    const binary = Uint8Array.from({ length: 256 }, (_, i) => i).subarray(3, 200);
    await store.put('runs/binary.bin', binary, 'application/octet-stream');
    expect(s3.getObject(BUCKET, 'runs/binary.bin')).toEqual(Buffer.from(binary));
    await store.put('runs/empty.json', '', 'application/json');
    expect(await store.getText('runs/empty.json')).toBe('');
    expect(s3.calls.every((c) => c.status === 200)).toBe(true);
  });

  it('asks for SSE-KMS with the configured key, which then needs the grants on that key', async () => {
    await storeFor(FULL).put('a.json', '{}', 'application/json');
    expect(s3.objectOf(BUCKET, 'a.json')?.kmsKeyArn).toBe(KEY_ARN);
    const other = storeFor(FULL, { kmsKeyId: OTHER_KEY_ARN });
    await expect(other.put('b.json', '{}', 'application/json')).rejects.toMatchObject({
      name: 'AccessDenied',
      status: 403,
      message: expect.stringContaining(`kms:GenerateDataKey on resource: ${OTHER_KEY_ARN}`),
    });
    const granted = storeFor(
      [...FULL, allow(['kms:GenerateDataKey', 'kms:Decrypt'], OTHER_KEY_ARN, VIA_S3)],
      {
        kmsKeyId: OTHER_KEY_ARN,
      },
    );
    await granted.put('b.json', '{"b":1}', 'application/json');
    expect(s3.objectOf(BUCKET, 'b.json')?.kmsKeyArn).toBe(OTHER_KEY_ARN);
    // Read back by a role that may decrypt only the bucket's key: the object's key decides.
    await expect(storeFor(FULL).getText('b.json')).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(await granted.getText('b.json')).toBe('{"b":1}');
  });

  it('a missing object is null to a role that may list the bucket, and a 403 that says why to one that may not', async () => {
    expect(await storeFor(FULL).getText('runs/none.json')).toBeNull();
    const noList = storeFor(FULL.filter((s) => s.Action !== 's3:ListBucket'));
    const error = await noList.getText('runs/none.json').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3Error);
    expect(error).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect((error as Error).message).toMatch(
      /s3:GetObject on s3:\/\/watchdog-runs-123456789012\/runs\/none\.json/,
    );
    expect((error as Error).message).toMatch(
      /without s3:ListBucket on the bucket, S3 answers 403 for a missing key/,
    );
  });

  it('a missing bucket is an error, never "no object"', async () => {
    const store = storeFor(FULL, { bucket: 'no-such-bucket' });
    await expect(store.getText('a.json')).rejects.toMatchObject({
      name: 'NoSuchBucket',
      status: 404,
      message: expect.stringContaining('The specified bucket does not exist'),
    });
    await expect(store.put('a.json', '{}', 'application/json')).rejects.toMatchObject({
      name: 'NoSuchBucket',
    });
  });

  it('retries SlowDown, 5xx and throttling with backoff, and not what retrying cannot fix', async () => {
    const store = storeFor(FULL);
    s3.failNext('PutObject', 503, 'SlowDown', 2);
    await store.put('retried.json', '{"ok":true}', 'application/json');
    expect(s3.calls.map((c) => [c.operation, c.status, c.code])).toEqual([
      ['PutObject', 503, 'SlowDown'],
      ['PutObject', 503, 'SlowDown'],
      ['PutObject', 200, undefined],
    ]);
    expect(waits).toHaveLength(2);
    expect(waits.every((ms) => ms >= 0 && ms <= 2_000)).toBe(true);

    s3.calls.length = 0;
    s3.failNext('GetObject', 400, 'RequestTimeout', 1);
    s3.failNext('GetObject', 500, 'InternalError', 1);
    expect(await store.getText('retried.json')).toBe('{"ok":true}');
    expect(s3.calls).toHaveLength(3);

    s3.calls.length = 0;
    s3.failNext('GetObject', 500, 'InternalError', 10);
    await expect(store.getText('retried.json')).rejects.toMatchObject({
      name: 'InternalError',
      status: 500,
      message: expect.stringContaining(
        'S3 GetObject s3://watchdog-runs-123456789012/retried.json: 500 InternalError',
      ),
    });
    expect(s3.calls).toHaveLength(4);

    s3.calls.length = 0;
    s3.failNext('PutObject', 400, 'InvalidRequest', 1);
    await expect(store.put('x.json', '{}', 'application/json')).rejects.toMatchObject({
      name: 'InvalidRequest',
    });
    expect(s3.calls).toHaveLength(1);
  });

  it('reads the credentials at each call (a rotated session is used at once)', async () => {
    const first = aws.addPrincipal('d', 'first', FULL);
    const second = aws.addPrincipal('d', 'second', FULL);
    let current = first;
    const store = new S3ObjectStore({
      bucket: BUCKET,
      region: aws.region,
      endpoint: aws.url,
      credentials: () => credentialsOf(current),
    });
    await store.put('a.json', '1', 'text/plain');
    current = second;
    await store.getText('a.json');
    expect(s3.calls.map((c) => c.role)).toEqual(['first', 'second']);
  });

  it('takes its endpoint, region and credentials from the environment as the SDK does', async () => {
    const principal = aws.addPrincipal('d', 'env', FULL);
    const saved = { ...process.env };
    try {
      Object.assign(process.env, {
        AWS_REGION: aws.region,
        AWS_ACCESS_KEY_ID: principal.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOOPBACK_SECRET_ACCESS_KEY,
        AWS_SESSION_TOKEN: principal.sessionToken,
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9/not-this-one',
        AWS_ENDPOINT_URL_S3: aws.url,
      });
      await new S3ObjectStore({ bucket: BUCKET }).put('env.json', '{}', 'application/json');
      delete process.env.AWS_ENDPOINT_URL_S3;
      process.env.AWS_ENDPOINT_URL = aws.url;
      expect(await new S3ObjectStore({ bucket: BUCKET }).getText('env.json')).toBe('{}');
      delete process.env.AWS_ACCESS_KEY_ID;
      await expect(new S3ObjectStore({ bucket: BUCKET }).getText('env.json')).rejects.toMatchObject({
        name: 'CredentialsError',
      });
    } finally {
      process.env = saved;
    }
    expect(s3.calls.map((c) => c.role)).toEqual(['env', 'env']);
  });

  it('refuses a key S3 or URL parsing would change, before sending anything', async () => {
    const store = storeFor(FULL);
    for (const key of ['', '/abs', 'a/../b', 'a/./b', '..', 'a\u0000b', 'x'.repeat(1025), 'a\uD800b']) {
      await expect(store.put(key, '{}', 'application/json')).rejects.toMatchObject({
        name: 'InvalidObjectKey',
      });
      await expect(store.getText(key)).rejects.toMatchObject({ name: 'InvalidObjectKey' });
    }
    expect(s3.calls).toEqual([]);
  });

  it('addresses objects path-style on a given endpoint and virtual-hosted on the region’s', () => {
    expect(s3ObjectUrl('runs-bucket', 'a b/é.json', { region: 'eu-west-3' })).toBe(
      'https://runs-bucket.s3.eu-west-3.amazonaws.com/a%20b/%C3%A9.json',
    );
    expect(s3ObjectUrl('runs.with.dots', 'k', { region: 'eu-west-3' })).toBe(
      'https://s3.eu-west-3.amazonaws.com/runs.with.dots/k',
    );
    expect(
      s3ObjectUrl('runs-bucket', 'a/b', { region: 'us-east-1', endpoint: 'http://127.0.0.1:4566/' }),
    ).toBe('http://127.0.0.1:4566/runs-bucket/a/b');
    expect(encodeKeyPath("a b/(x)!*'/~_-.")).toBe('a%20b/%28x%29%21%2A%27/~_-.');
  });
});

describe('S3ObjectStore retries what the network drops', () => {
  let server: Server | undefined;
  afterEach(async () => {
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  /** A server whose first `drops` requests lose their connection; the rest go to the loopback S3. */
  async function dropping(drops: number): Promise<{ url: string; seen: () => number }> {
    let seen = 0;
    server = createServer((req, res) => {
      seen++;
      if (seen <= drops) {
        req.socket.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        exchange(new URL(req.url ?? '/', aws.url), {
          method: req.method as 'GET' | 'PUT',
          headers: Object.fromEntries(
            Object.entries(req.headers).filter(
              (e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'content-length',
            ),
          ),
          ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
          timeoutMs: 5_000,
        }).then(
          (answer) => {
            res.writeHead(answer.status);
            res.end(answer.body);
          },
          () => res.destroy(),
        );
      });
    });
    const listening = server;
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(listening.address() as AddressInfo).port}`, seen: () => seen };
  }

  it('retries a dropped connection and succeeds; gives up after maxAttempts with a NetworkError', async () => {
    // The proxy relays the request as signed (its own host header included) to the loopback S3.
    const ok = await dropping(2);
    s3.putObject(BUCKET, 'a.json', '{"a":1}');
    const principal = aws.addPrincipal('d', 'net', FULL);
    const store = new S3ObjectStore({
      bucket: BUCKET,
      region: aws.region,
      endpoint: ok.url,
      credentials: () => credentialsOf(principal),
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    expect(await store.getText('a.json')).toBe('{"a":1}');
    expect(ok.seen()).toBe(3);
    expect(waits).toHaveLength(2);

    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    const dead = await dropping(Number.POSITIVE_INFINITY);
    const failing = new S3ObjectStore({
      bucket: BUCKET,
      region: aws.region,
      endpoint: dead.url,
      credentials: () => credentialsOf(principal),
      maxAttempts: 3,
      sleep: async () => {},
    });
    await expect(failing.put('b.json', '{}', 'application/json')).rejects.toMatchObject({
      name: 'NetworkError',
      status: null,
      message: expect.stringContaining('S3 PutObject s3://watchdog-runs-123456789012/b.json: NetworkError'),
    });
    expect(dead.seen()).toBe(3);
  });
});

describe('the loopback S3', () => {
  it('lets a role allowed only s3:GetObject on one prefix read there, and nothing else', async () => {
    s3.putObject(BUCKET, 'reports/run-1.json', '{"r":1}');
    s3.putObject(BUCKET, 'plans/run-1.json', '{"p":1}');
    const reader = storeFor([
      allow('s3:GetObject', `arn:aws:s3:::${BUCKET}/reports/*`),
      allow('kms:Decrypt', KEY_ARN, VIA_S3),
    ]);
    expect(await reader.getText('reports/run-1.json')).toBe('{"r":1}');
    await expect(reader.getText('plans/run-1.json')).rejects.toMatchObject({
      name: 'AccessDenied',
      status: 403,
      message: expect.stringContaining(
        `not authorized to perform: s3:GetObject on resource: arn:aws:s3:::${BUCKET}/plans/run-1.json`,
      ),
    });
    await expect(reader.put('reports/run-2.json', '{}', 'application/json')).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining('s3:PutObject'),
    });
    expect(s3.keys(BUCKET)).toEqual(['plans/run-1.json', 'reports/run-1.json']);
    expect(aws.denied('d').map((c) => [c.action, c.resource])).toEqual([
      ['s3:GetObject', `arn:aws:s3:::${BUCKET}/plans/run-1.json`],
      ['s3:PutObject', `arn:aws:s3:::${BUCKET}/reports/run-2.json`],
    ]);
  });

  it('SSE-KMS: a put needs kms:GenerateDataKey and a get kms:Decrypt on the bucket key, through S3, for that object', async () => {
    const s3Only = [allow(['s3:PutObject', 's3:GetObject'], `arn:aws:s3:::${BUCKET}/*`)];
    await expect(storeFor(s3Only).put('a.json', '{}', 'application/json')).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining(`kms:GenerateDataKey on resource: ${KEY_ARN}`),
    });
    expect(s3.keys(BUCKET)).toEqual([]);
    // A grant that is not through S3 does not count.
    const notViaS3 = { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } };
    await expect(
      storeFor([...s3Only, allow('kms:GenerateDataKey', KEY_ARN, notViaS3)]).put(
        'a.json',
        '{}',
        'application/json',
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    // Nor one for other objects (the encryption context is the object's ARN).
    const otherPrefix = {
      StringLike: { 'kms:EncryptionContext:aws:s3:arn': `arn:aws:s3:::${BUCKET}/plans/*` },
    };
    await expect(
      storeFor([...s3Only, allow('kms:GenerateDataKey', KEY_ARN, otherPrefix)]).put(
        'a.json',
        '{}',
        'application/json',
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    const writer = storeFor([...s3Only, allow('kms:GenerateDataKey', KEY_ARN, VIA_S3)]);
    await writer.put('a.json', '{"a":1}', 'application/json');
    await expect(writer.getText('a.json')).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining(`kms:Decrypt on resource: ${KEY_ARN}`),
    });
    expect(await storeFor([...s3Only, allow('kms:Decrypt', KEY_ARN, VIA_S3)]).getText('a.json')).toBe(
      '{"a":1}',
    );
    const kms = aws.calls.filter((c) => c.service === 'kms');
    expect(kms.every((c) => c.via === 's3')).toBe(true);
    expect(kms.at(-1)?.context).toMatchObject({
      'kms:ViaService': 's3.us-east-1.amazonaws.com',
      'kms:EncryptionContext:aws:s3:arn': `arn:aws:s3:::${BUCKET}/a.json`,
    });
  });

  it('with an S3 Bucket Key, KMS sees the bucket as encryption context; an SSE-S3 bucket needs no KMS grant', async () => {
    s3.createBucket('with-bucket-key', { kmsKeyArn: KEY_ARN, bucketKeyEnabled: true });
    await storeFor(
      FULL.map((s) => ({ ...s, Resource: '*' })),
      { bucket: 'with-bucket-key' },
    ).put('a.json', '{}', 'application/json');
    expect(aws.calls.filter((c) => c.service === 'kms').at(-1)?.context).toMatchObject({
      'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::with-bucket-key',
    });
    s3.createBucket('sse-s3');
    const plain = new S3ObjectStore({
      bucket: 'sse-s3',
      endpoint: aws.url,
      region: aws.region,
      credentials: () =>
        credentialsOf(aws.addPrincipal('d', 'plain', [allow(['s3:*'], 'arn:aws:s3:::sse-s3*')])),
    });
    // aws:kms without a key id and no default key: the AWS managed key, no grant of ours involved.
    await plain.put('a.json', '{}', 'application/json');
    expect(await plain.getText('a.json')).toBe('{}');
  });

  it('verifies SigV4 as S3 does: a doubly encoded path or a body that is not the one signed is refused', async () => {
    const principal = aws.addPrincipal('d', 'raw', FULL);
    const send = async (
      key: string,
      options: { uriEscapePath: boolean; body?: string; sentBody?: string; method?: 'PUT' | 'GET' | 'HEAD' },
    ) => {
      const url = new URL(aws.url);
      const path = `/${BUCKET}/${encodeKeyPath(key)}`;
      const signer = new SignatureV4({
        service: 's3',
        region: aws.region,
        credentials: credentialsOf(principal),
        sha256: Hash.bind(null, 'sha256'),
        uriEscapePath: options.uriEscapePath,
      });
      const method = options.method ?? 'PUT';
      const signed = await signer.sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: Number(url.port),
        path,
        query: {},
        headers: { host: url.host, 'content-type': 'application/json' },
        ...(options.body !== undefined ? { body: options.body } : {}),
      });
      const target = `${aws.url}${path}`;
      if (method === 'HEAD') {
        return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
          (resolve, reject) => {
            const r = httpRequest(target, { method: 'HEAD', headers: signed.headers }, (res) => {
              res.resume();
              res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' }));
            });
            r.on('error', reject);
            r.end();
          },
        );
      }
      const body = options.sentBody ?? options.body;
      const answer = await exchange(target, {
        method: method as 'PUT' | 'GET',
        headers: signed.headers,
        ...(body !== undefined ? { body } : {}),
        timeoutMs: 5_000,
      });
      return { ...answer, headers: {} };
    };
    expect((await send('plain/key.json', { uriEscapePath: true, body: '{}' })).status).toBe(200);
    expect((await send('with space/é.json', { uriEscapePath: false, body: '{}' })).status).toBe(200);
    const doubled = await send('with space/é.json', { uriEscapePath: true, body: '{}' });
    expect(doubled.status).toBe(403);
    expect(doubled.body).toContain('<Code>SignatureDoesNotMatch</Code>');
    const swapped = await send('plain/key.json', { uriEscapePath: false, body: '{}', sentBody: '{"x":1}' });
    expect(swapped.status).toBe(400);
    expect(swapped.body).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
    expect(s3.getObject(BUCKET, 'plain/key.json')?.toString()).toBe('{}');
    // HEAD: metadata without a body and without decrypting; errors without a document.
    const head = await send('plain/key.json', { uriEscapePath: false, method: 'HEAD' });
    expect(head).toMatchObject({
      status: 200,
      headers: { 'content-length': '2', 'x-amz-server-side-encryption': 'aws:kms' },
    });
    expect((await send('plain/none.json', { uriEscapePath: false, method: 'HEAD' })).status).toBe(404);
    expect(aws.calls.filter((c) => c.service === 'kms').map((c) => c.action)).toEqual([
      'kms:GenerateDataKey',
      'kms:GenerateDataKey',
    ]);
  });

  it('answers an unknown access key with InvalidAccessKeyId, in S3’s XML', async () => {
    const store = new S3ObjectStore({
      bucket: BUCKET,
      region: aws.region,
      endpoint: aws.url,
      credentials: () => ({ accessKeyId: 'AKIDUNKNOWN', secretAccessKey: LOOPBACK_SECRET_ACCESS_KEY }),
    });
    await expect(store.getText('a.json')).rejects.toMatchObject({ name: 'InvalidAccessKeyId', status: 403 });
  });

  it('is part of the watchdog account: the bundles’ environment points AWS_ENDPOINT_URL_S3 at it', async () => {
    const account = await startWatchdogAws();
    try {
      account.s3.createBucket(BUCKET, { kmsKeyArn: account.keyArn });
      const principal = account.aws.addPrincipal('d', 'check', [
        allow('s3:PutObject', `arn:aws:s3:::${BUCKET}/reports/*`),
        allow('kms:GenerateDataKey', account.keyArn, VIA_S3),
      ]);
      const env = account.aws.endpointEnvironment(principal);
      expect(env.AWS_ENDPOINT_URL_S3).toBe(account.aws.url);
      const store = new S3ObjectStore({
        bucket: BUCKET,
        region: env.AWS_REGION,
        endpoint: env.AWS_ENDPOINT_URL_S3,
        credentials: () => ({
          accessKeyId: env.AWS_ACCESS_KEY_ID as string,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
          sessionToken: env.AWS_SESSION_TOKEN as string,
        }),
      });
      await store.put('reports/run.json', '{"clusters":3}', 'application/json');
      expect(account.s3.getObject(BUCKET, 'reports/run.json')?.toString()).toBe('{"clusters":3}');
      expect(account.s3.calls).toHaveLength(1);
      expect(account.aws.denied()).toEqual([]);
    } finally {
      await account.close();
    }
  });
});

describe('MemoryObjectStore', () => {
  it('keeps a copy of each body, reads null for a missing key, and refuses the keys S3 would', async () => {
    const store = new MemoryObjectStore('local-runs');
    expect(store.bucket).toBe('local-runs');
    const bytes = new TextEncoder().encode('{"a":"é"}');
    await store.put('runs/a.json', bytes, 'application/json');
    bytes.fill(0);
    expect(await store.getText('runs/a.json')).toBe('{"a":"é"}');
    expect(store.object('runs/a.json')?.contentType).toBe('application/json');
    expect(await store.getText('runs/b.json')).toBeNull();
    await store.put('runs/é.json', 'x', 'text/plain');
    await store.put('runs/z.json', 'x', 'text/plain');
    expect(store.keys('runs/')).toEqual(['runs/a.json', 'runs/z.json', 'runs/é.json']);
    await expect(store.put('a/../b', '{}', 'application/json')).rejects.toThrow(/"\." or "\.\." segment/);
    expect(store.keys()).toHaveLength(3);
  });
});
