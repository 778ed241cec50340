/**
 * The run's bucket (ObjectStore) on S3, without the AWS SDK: PutObject and GetObject in S3's REST
 * protocol over one node:http(s) exchange (adapters/plain-http), signed with SigV4 by
 * @smithy/signature-v4, the SDK's own signer, as adapters/dynamodb/client.ts does for DynamoDB.
 * Measured with the stack's esbuild options: @aws-sdk/client-s3 (3.1178.0, PutObject and GetObject)
 * is 431 KB minified and adds 433 KB to the 165 KB check bundle; this adapter with the signer is
 * 22 KB, and adds 5 KB to the check bundle, which already carries the signer (README, "Layout").
 *
 * What the SDK would do and this does too: credentials from the Lambda environment, read at each
 * call; the endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (path-style there: a local or
 * test endpoint has no per-bucket host names), else the region's virtual-hosted endpoint
 * (`<bucket>.s3.<region>.amazonaws.com`; path-style for a bucket name with dots, which the
 * endpoint's wildcard certificate does not cover); the payload's SHA-256 signed in
 * x-amz-content-sha256; keys URI-encoded once, per segment (S3 signs the path as sent: no double
 * encoding, no normalisation); keep-alive connections; retries of throttling (SlowDown), 5xx and
 * network errors with capped exponential backoff and full jitter (domain/retry).
 */

import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { ObjectStore } from '../../domain/ports';
import { objectKeyProblem } from '../../domain/ports/object-store';
import { backoffDelayMs, sleep } from '../../domain/retry';
import {
  type AwsCredentials,
  type AwsHttpClientOptions,
  AwsHttpError,
  environmentCredentials as environmentCredentialsOf,
} from '../aws-http';
import { exchange, PlainHttpError } from '../plain-http';

/** `endpoint` defaults to AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL (both path-style). */
export interface S3ObjectStoreOptions extends AwsHttpClientOptions {
  bucket: string;
  /**
   * The KMS key objects are encrypted with (ARN, id or alias): sent with every PutObject as
   * x-amz-server-side-encryption-aws-kms-key-id. Without it, PutObject still asks for aws:kms and
   * S3 uses the bucket's default key.
   */
  kmsKeyId?: string;
  /** Largest object GetObject reads (default 128 MiB); a larger one is a TooLarge error, not retried. */
  maxObjectBytes?: number;
}

/** An error S3 answered (`name` is its XML `<Code>`: NoSuchBucket, AccessDenied, SlowDown, …) or a transport failure. */
export class S3Error extends AwsHttpError {}

/** S3's throttling and transient answers, retried as the SDK's standard retry strategy does. */
const RETRYABLE = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'RequestTimeout',
  'InternalError',
  'ServiceUnavailable',
  'NetworkError',
  'TimeoutError',
]);

const BACKOFF = { baseMs: 50, rate: 2, maxMs: 2_000 };
const MAX_ERROR_BYTES = 64 * 1024;

const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/** The function's credentials, as Lambda gives them (literal reads: test/lambda/bundle-environment.test.ts). */
/** The function's credentials, as Lambda gives them (adapters/aws-http). */
const environmentCredentials = (): AwsCredentials => environmentCredentialsOf(S3Error);

/**
 * A key's path, each segment URI-encoded once as SigV4 wants it: everything but the unreserved
 * characters (A-Z a-z 0-9 - _ . ~) as %XX of its UTF-8 bytes; `/` separates segments.
 */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join('/');
}

interface Target {
  base: URL;
  /** The object's path on that host: `/<key>` (virtual-hosted) or `/<bucket>/<key>` (path-style). */
  prefix: string;
}

export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  private readonly kmsKeyId: string | undefined;
  private readonly target: Target;
  private readonly signer: SignatureV4;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly maxObjectBytes: number;
  private readonly wait: (ms: number) => Promise<void>;

  constructor(options: S3ObjectStoreOptions) {
    if (!options.bucket) throw new S3Error('InvalidBucketName', 'S3ObjectStore needs a bucket name', null);
    this.bucket = options.bucket;
    this.kmsKeyId = options.kmsKeyId || undefined;
    const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    this.target = targetOf(this.bucket, region, endpoint);
    const credentials = options.credentials ?? (() => environmentCredentials());
    this.signer = new SignatureV4({
      service: 's3',
      region,
      credentials: async () => credentials(),
      sha256: Hash.bind(null, 'sha256'),
      // S3 signs the path exactly as sent (encoded once, by encodeKeyPath) and wants the payload's
      // hash in x-amz-content-sha256, signed.
      uriEscapePath: false,
      applyChecksum: true,
    });
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxAttempts = options.maxAttempts ?? 4;
    this.maxObjectBytes = options.maxObjectBytes ?? 128 * 1024 * 1024;
    this.wait = options.sleep ?? sleep;
  }

  async put(key: string, body: string | Uint8Array, contentType: string): Promise<void> {
    const bytes =
      typeof body === 'string'
        ? Buffer.from(body, 'utf8')
        : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const answer = await this.send('PutObject', key, 'PUT', {
      headers: {
        'content-type': contentType,
        'x-amz-server-side-encryption': 'aws:kms',
        ...(this.kmsKeyId ? { 'x-amz-server-side-encryption-aws-kms-key-id': this.kmsKeyId } : {}),
      },
      body: bytes,
    });
    if (answer.status < 200 || answer.status >= 300) throw this.failure('PutObject', key, answer);
  }

  async getText(key: string): Promise<string | null> {
    const answer = await this.send('GetObject', key, 'GET', {});
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    const error = this.failure('GetObject', key, answer);
    if (error.name === 'NoSuchKey') return null;
    if (error.status === 403) {
      throw new S3Error(
        error.name,
        `${error.message}. The role may lack s3:GetObject on ${this.location(key)} (or kms:Decrypt on the bucket's key), ` +
          'or the object may not exist: without s3:ListBucket on the bucket, S3 answers 403 for a missing key',
        403,
      );
    }
    throw error;
  }

  /** `s3://bucket/key`, for messages. */
  private location(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  /** One operation, retried while S3 throttles, fails on its side, or cannot be reached. */
  private async send(
    operation: string,
    key: string,
    method: 'GET' | 'PUT',
    request: { headers?: Record<string, string>; body?: Buffer },
  ): Promise<{ status: number; body: string }> {
    const problem = objectKeyProblem(key);
    if (problem)
      throw new S3Error('InvalidObjectKey', `S3 ${operation} ${this.location(key)}: ${problem}`, null);
    for (let attempt = 1; ; attempt++) {
      let answer: { status: number; body: string };
      try {
        answer = await this.once(operation, key, method, request);
      } catch (error) {
        const retryable = error instanceof S3Error && RETRYABLE.has(error.name);
        if (!retryable || attempt >= this.maxAttempts) throw error;
        await this.wait(backoffDelayMs(BACKOFF, attempt));
        continue;
      }
      const transient =
        answer.status >= 500 || (answer.status >= 400 && RETRYABLE.has(errorCode(answer.body) ?? ''));
      if (!transient || attempt >= this.maxAttempts) return answer;
      await this.wait(backoffDelayMs(BACKOFF, attempt));
    }
  }

  private async once(
    operation: string,
    key: string,
    method: 'GET' | 'PUT',
    request: { headers?: Record<string, string>; body?: Buffer },
  ): Promise<{ status: number; body: string }> {
    const { base, prefix } = this.target;
    const path = `${prefix}${encodeKeyPath(key)}`;
    const signed = await this.signer.sign({
      method,
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port ? { port: Number(base.port) } : {}),
      path,
      query: {},
      headers: { host: base.host, ...request.headers },
      ...(request.body ? { body: request.body } : {}),
    });
    // The path goes on the wire as signed: a URL would be re-parsed, so it is built from the
    // origin and the encoded path, which parsing leaves as it is (objectKeyProblem refuses dot
    // segments, the one thing it would change).
    const url = new URL(`${base.origin}${path}`);
    try {
      return await exchange(url, {
        method,
        headers: signed.headers,
        ...(request.body ? { body: request.body } : {}),
        timeoutMs: this.timeoutMs,
        maxBytes: method === 'GET' ? this.maxObjectBytes : MAX_ERROR_BYTES,
        agent: base.protocol === 'https:' ? agents.https : agents.http,
      });
    } catch (error) {
      if (error instanceof PlainHttpError && error.name === 'TooLargeError') {
        throw new S3Error(
          'TooLarge',
          `S3 ${operation} ${this.location(key)}: the object is larger than ${this.maxObjectBytes} bytes`,
          null,
          { cause: error },
        );
      }
      const name =
        error instanceof PlainHttpError && error.name === 'TimeoutError' ? 'TimeoutError' : 'NetworkError';
      const reason = error instanceof Error ? error.message : String(error);
      throw new S3Error(name, `S3 ${operation} ${this.location(key)}: ${name}: ${reason}`, null, {
        cause: error,
      });
    }
  }

  private failure(operation: string, key: string, answer: { status: number; body: string }): S3Error {
    const code = errorCode(answer.body) ?? STATUS_CODES[answer.status] ?? `HTTP${answer.status}`;
    const message = xmlText(answer.body, 'Message');
    return new S3Error(
      code,
      `S3 ${operation} ${this.location(key)}: ${answer.status} ${code}${message ? `: ${message}` : ''}`,
      answer.status,
    );
  }
}

/** What S3 calls an error without a body (HEAD, or an answer cut short by a proxy). */
const STATUS_CODES: Record<number, string> = {
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

/**
 * Where `key` of `bucket` is requested: path-style on an explicit endpoint, else virtual-hosted on
 * the region's endpoint (path-style there for a bucket name that cannot be a host label).
 */
export function s3ObjectUrl(
  bucket: string,
  key: string,
  where: { region: string; endpoint?: string },
): string {
  const { base, prefix } = targetOf(bucket, where.region, where.endpoint);
  return `${base.origin}${prefix}${encodeKeyPath(key)}`;
}

function targetOf(bucket: string, region: string, endpoint: string | undefined): Target {
  if (endpoint) {
    const base = new URL(endpoint);
    const root = base.pathname.replace(/\/+$/, '');
    return { base, prefix: `${root}/${encodeKeyPath(bucket)}/` };
  }
  // Virtual-hosted style, except where the bucket cannot be a host name under the wildcard
  // certificate (dots, or not a DNS label): then path-style on the regional endpoint.
  if (/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket)) {
    return { base: new URL(`https://${bucket}.s3.${region}.amazonaws.com`), prefix: '/' };
  }
  return { base: new URL(`https://s3.${region}.amazonaws.com`), prefix: `/${encodeKeyPath(bucket)}/` };
}

function errorCode(body: string): string | undefined {
  return xmlText(body, 'Code');
}

/** The text of the first `<tag>` of an S3 error document, unescaped. */
function xmlText(body: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(body);
  if (!match) return undefined;
  return (match[1] as string)
    .replace(/&#x([0-9a-f]+);/gi, (_m, n: string) => String.fromCodePoint(Number.parseInt(n, 16)))
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
