/**
 * A small DynamoDB client: the JSON 1.0 protocol over one node:http(s) exchange (adapters/plain-http),
 * signed with SigV4 by @smithy/signature-v4, the AWS SDK's own signer. The check function reads its
 * state through it without carrying the SDK: @aws-sdk/client-dynamodb adds 327 KB minified to a
 * 110 KB bundle (README, "State"); this client and the signer add about 20 KB. Every function uses
 * it, so the state has one adapter.
 *
 * What the SDK would do and this does too: credentials from the Lambda environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), the endpoint from
 * AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL (else the region's), keep-alive connections, and
 * retries of throttling, 5xx and network errors with capped exponential backoff and full jitter.
 */

import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { backoffDelayMs, sleep } from '../../domain/retry';
import {
  type AwsCredentials,
  type AwsHttpClientOptions,
  AwsHttpError,
  environmentCredentials as environmentCredentialsOf,
} from '../aws-http';
import { exchange, PlainHttpError } from '../plain-http';

/** `endpoint` defaults to AWS_ENDPOINT_URL_DYNAMODB, then AWS_ENDPOINT_URL, else https://dynamodb.<region>.amazonaws.com. */
export type DynamoDbClientOptions = AwsHttpClientOptions;

/** An error DynamoDB answered (`name` is its type: ConditionalCheckFailedException, …) or a transport failure. */
export class DynamoDbError extends AwsHttpError {}

/** Throttling and server-side errors: retried (DynamoDB's documented retryable answers). */
const RETRYABLE = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionInProgressException',
]);

const BACKOFF = { baseMs: 50, rate: 2, maxMs: 2_000 };
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/** The function's credentials, as Lambda gives them (literal reads: test/lambda/bundle-environment.test.ts). */
/** The function's credentials, as Lambda gives them (adapters/aws-http). */
export const environmentCredentials = (): AwsCredentials => environmentCredentialsOf(DynamoDbError);

export class DynamoDbClient {
  private readonly url: URL;
  private readonly signer: SignatureV4;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly wait: (ms: number) => Promise<void>;

  constructor(options: DynamoDbClientOptions = {}) {
    const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    this.url = new URL(
      options.endpoint ??
        process.env.AWS_ENDPOINT_URL_DYNAMODB ??
        process.env.AWS_ENDPOINT_URL ??
        `https://dynamodb.${region}.amazonaws.com`,
    );
    const credentials = options.credentials ?? (() => environmentCredentials());
    this.signer = new SignatureV4({
      service: 'dynamodb',
      region,
      credentials: async () => credentials(),
      sha256: Hash.bind(null, 'sha256'),
    });
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxAttempts = options.maxAttempts ?? 4;
    this.wait = options.sleep ?? sleep;
  }

  /** One operation (`GetItem`, `PutItem`, `Query`, …): its answer, or a DynamoDbError after retries. */
  async send<T = Record<string, unknown>>(operation: string, input: object): Promise<T> {
    const body = JSON.stringify(input);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(operation, body);
      } catch (error) {
        const retryable =
          error instanceof DynamoDbError &&
          (RETRYABLE.has(error.name) || (error.status ?? 0) >= 500 || error.status === null);
        if (!retryable || attempt >= this.maxAttempts) throw error;
        await this.wait(backoffDelayMs(BACKOFF, attempt));
      }
    }
  }

  private async once<T>(operation: string, body: string): Promise<T> {
    const { url } = this;
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname || '/',
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `DynamoDB_20120810.${operation}`,
      },
      body,
    });
    let answer: { status: number; body: string };
    try {
      answer = await exchange(url, {
        method: 'POST',
        headers: signed.headers,
        body,
        timeoutMs: this.timeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
        agent: url.protocol === 'https:' ? agents.https : agents.http,
      });
    } catch (error) {
      const reason = error instanceof PlainHttpError ? `${error.name}: ${error.message}` : String(error);
      throw new DynamoDbError('NetworkError', `DynamoDB ${operation}: ${reason}`, null, { cause: error });
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = answer.body ? (JSON.parse(answer.body) as Record<string, unknown>) : {};
    } catch {
      throw new DynamoDbError(
        'BadResponse',
        `DynamoDB ${operation} answered ${answer.status} with malformed JSON`,
        answer.status,
      );
    }
    if (answer.status >= 200 && answer.status < 300) return parsed as T;
    // "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
    const type = String(parsed.__type ?? `HTTP${answer.status}`)
      .split('#')
      .pop() as string;
    const message = String(parsed.message ?? parsed.Message ?? '');
    throw new DynamoDbError(
      type,
      `DynamoDB ${operation}: ${type}${message ? `: ${message}` : ''}`,
      answer.status,
    );
  }
}
