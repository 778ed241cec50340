/**
 * S3 on loopback (REST-XML, path-style): PutObject, GetObject and HeadObject on the buckets a test
 * creates, with what the product relies on from the real service:
 * - SigV4 verified as S3 does it: the path is canonicalised by decoding each segment and encoding
 *   it once (no normalisation, no double encoding), x-amz-content-sha256 must be signed and must be
 *   the body's SHA-256 (SignatureDoesNotMatch, XAmzContentSHA256Mismatch otherwise);
 * - IAM: s3:PutObject / s3:GetObject on `arn:aws:s3:::<bucket>/<key>`; a missing key answers 404
 *   NoSuchKey only to a caller allowed s3:ListBucket on the bucket, else 403 AccessDenied;
 * - SSE-KMS: a put encrypted with a customer key (the request's key id, else the bucket's default)
 *   needs kms:GenerateDataKey on it, a get kms:Decrypt, both through S3 (kms:ViaService
 *   s3.<region>.amazonaws.com) with the object's ARN as encryption context (the bucket's with an
 *   S3 Bucket Key). HeadObject decrypts nothing and needs no KMS grant.
 * Errors are S3's XML `<Error>` documents (none for HEAD). The test's own API (createBucket,
 * putObject, getObject, keys) is never IAM-checked; `calls` lists every request the service got
 * and `failNext` makes the next requests of an operation answer an error (SlowDown, 500, …).
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import {
  type AwsPrincipal,
  type AwsRequest,
  LOOPBACK_SECRET_ACCESS_KEY,
  type LoopbackAws,
  type LoopbackService,
} from './loopback-aws';
import { type AwsResponse, AwsServiceError, xmlEscape } from './protocols';

export type S3Operation = 'PutObject' | 'GetObject' | 'HeadObject';

/** One request the stand-in answered. */
export interface S3Call {
  operation: S3Operation | 'Unsupported';
  bucket: string;
  key: string;
  deployment: string;
  role: string;
  status: number;
  /** The error code answered, if any. */
  code?: string;
}

export interface S3Object {
  body: Buffer;
  contentType: string;
  /** The key the object is encrypted with; undefined: S3-managed (SSE-S3). */
  kmsKeyArn: string | undefined;
  etag: string;
  lastModified: Date;
}

interface Bucket {
  name: string;
  kmsKeyArn: string | undefined;
  bucketKeyEnabled: boolean;
  objects: Map<string, S3Object>;
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

export class S3StandIn implements LoopbackService {
  readonly signingName = 's3';
  readonly endpointEnvName = 'S3';
  /** Every request, in order (the IAM decisions are in `aws.calls`). */
  readonly calls: S3Call[] = [];
  private readonly buckets = new Map<string, Bucket>();
  private readonly faults: Array<{ operation: S3Operation; status: number; code: string; times: number }> =
    [];

  constructor(
    private readonly aws: LoopbackAws,
    /** The secret every signature is checked with (the one LoopbackAws gives each principal). */
    private readonly secretAccessKey = LOOPBACK_SECRET_ACCESS_KEY,
  ) {}

  /**
   * A bucket, as the stack creates it: its default encryption is SSE-KMS with `kmsKeyArn` (else
   * SSE-S3); `bucketKeyEnabled` makes KMS see the bucket's ARN as encryption context.
   */
  createBucket(name: string, options: { kmsKeyArn?: string; bucketKeyEnabled?: boolean } = {}): void {
    if (this.buckets.has(name)) throw new Error(`the bucket ${name} exists`);
    this.buckets.set(name, {
      name,
      kmsKeyArn: options.kmsKeyArn,
      bucketKeyEnabled: options.bucketKeyEnabled ?? false,
      objects: new Map(),
    });
  }

  hasBucket(name: string): boolean {
    return this.buckets.has(name);
  }

  /** Writes an object as its owner would (no IAM), encrypted with the bucket's default key. */
  putObject(bucket: string, key: string, body: string | Uint8Array, contentType = 'application/json'): void {
    const target = this.bucketOrThrow(bucket);
    this.store(target, key, Buffer.from(body), contentType, target.kmsKeyArn);
  }

  /** An object's bytes (no IAM), or undefined. */
  getObject(bucket: string, key: string): Buffer | undefined {
    const found = this.bucketOrThrow(bucket).objects.get(key);
    return found ? Buffer.from(found.body) : undefined;
  }

  /** An object with its metadata (content type, key), or undefined. */
  objectOf(bucket: string, key: string): S3Object | undefined {
    const found = this.bucketOrThrow(bucket).objects.get(key);
    return found ? { ...found, body: Buffer.from(found.body) } : undefined;
  }

  /** The keys of a bucket under a prefix, in S3's listing order (by their UTF-8 bytes). */
  keys(bucket: string, prefix = ''): string[] {
    return [...this.bucketOrThrow(bucket).objects.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  /** The next `times` requests of `operation` answer `status` with `code` (before IAM, as a throttle does). */
  failNext(operation: S3Operation, status: number, code: string, times = 1): void {
    this.faults.push({ operation, status, code, times });
  }

  renderError(error: AwsServiceError): AwsResponse {
    // The account answers an unknown access key in each service's words.
    const s3 =
      error.code === 'UnrecognizedClientException'
        ? new AwsServiceError(
            'InvalidAccessKeyId',
            'The AWS Access Key Id you provided does not exist in our records.',
            403,
          )
        : error;
    return xmlErrorDocument(s3);
  }

  async handle(request: AwsRequest): Promise<AwsResponse> {
    const { bucket, key } = splitPath(request.path);
    const operation = operationOf(request.method, key);
    const call: S3Call = {
      operation: operation ?? 'Unsupported',
      bucket,
      key,
      deployment: request.principal.deployment,
      role: request.principal.role,
      status: 0,
    };
    this.calls.push(call);
    let response: AwsResponse;
    try {
      response = await this.answer(request, operation, bucket, key);
    } catch (error) {
      if (!(error instanceof AwsServiceError)) throw error;
      call.code = error.code;
      response = this.renderError(error);
      if (operation === 'HeadObject') response = { status: response.status, headers: {}, body: '' };
    }
    call.status = response.status;
    return response;
  }

  private async answer(
    request: AwsRequest,
    operation: S3Operation | undefined,
    bucketName: string,
    key: string,
  ): Promise<AwsResponse> {
    this.verifySignature(request);
    if (!operation)
      throw new AwsServiceError(
        'NotImplemented',
        `the loopback stand-in does not serve ${request.method} ${request.path}`,
        501,
      );
    const fault = this.faults.find((f) => f.operation === operation && f.times > 0);
    if (fault) {
      fault.times--;
      throw new AwsServiceError(fault.code, 'refused by the test', fault.status);
    }
    const bucket = this.buckets.get(bucketName);
    if (!bucket) throw new AwsServiceError('NoSuchBucket', 'The specified bucket does not exist', 404);
    if (operation === 'PutObject') return this.put(request, bucket, key);
    return this.get(request.principal, request.region, bucket, key, operation === 'HeadObject');
  }

  private put(request: AwsRequest, bucket: Bucket, key: string): AwsResponse {
    const encryption = header(request, 'x-amz-server-side-encryption');
    const requestedKey = header(request, 'x-amz-server-side-encryption-aws-kms-key-id');
    if (encryption !== undefined && encryption !== 'aws:kms' && encryption !== 'AES256')
      throw new AwsServiceError('InvalidArgument', 'The encryption method specified is not supported', 400);
    if (requestedKey !== undefined && encryption !== 'aws:kms')
      throw new AwsServiceError(
        'InvalidArgument',
        'Server Side Encryption with KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms',
        400,
      );
    this.aws.authorize(
      request.principal,
      {
        service: 's3',
        action: 's3:PutObject',
        resource: objectArn(bucket.name, key),
        context: {
          ...(encryption ? { 's3:x-amz-server-side-encryption': encryption } : {}),
          ...(requestedKey ? { 's3:x-amz-server-side-encryption-aws-kms-key-id': requestedKey } : {}),
        },
      },
      { deniedCode: 'AccessDenied', deniedStatus: 403 },
    );
    // The request's key, else the bucket's default; `aws:kms` without either is the AWS managed
    // key aws/s3, which every principal of the account may use through S3.
    const kmsKeyArn =
      encryption === 'AES256'
        ? undefined
        : requestedKey
          ? this.keyArn(requestedKey, request.region)
          : bucket.kmsKeyArn;
    if (kmsKeyArn) this.kms(request.principal, request.region, bucket, key, kmsKeyArn, 'kms:GenerateDataKey');
    const contentType = header(request, 'content-type') ?? 'binary/octet-stream';
    const stored = this.store(bucket, key, request.bytes, contentType, kmsKeyArn);
    return {
      status: 200,
      headers: { etag: stored.etag, ...encryptionHeaders(stored), 'x-amz-request-id': requestId() },
      body: '',
    };
  }

  private get(
    principal: AwsPrincipal,
    region: string,
    bucket: Bucket,
    key: string,
    head: boolean,
  ): AwsResponse {
    this.aws.authorize(
      principal,
      { service: 's3', action: 's3:GetObject', resource: objectArn(bucket.name, key) },
      { deniedCode: 'AccessDenied', deniedStatus: 403 },
    );
    const found = bucket.objects.get(key);
    if (!found) {
      // S3 tells a missing key only to who may list the bucket.
      this.aws.authorize(
        principal,
        { service: 's3', action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket.name}` },
        { deniedCode: 'AccessDenied', deniedStatus: 403, deniedMessage: 'Access Denied' },
      );
      throw new AwsServiceError('NoSuchKey', 'The specified key does not exist.', 404);
    }
    if (!head && found.kmsKeyArn) this.kms(principal, region, bucket, key, found.kmsKeyArn, 'kms:Decrypt');
    return {
      status: 200,
      headers: {
        'content-type': found.contentType,
        'content-length': String(found.body.length),
        etag: found.etag,
        'last-modified': found.lastModified.toUTCString(),
        ...encryptionHeaders(found),
        'x-amz-request-id': requestId(),
      },
      body: head ? '' : Buffer.from(found.body),
    };
  }

  private kms(
    principal: AwsPrincipal,
    region: string,
    bucket: Bucket,
    key: string,
    keyArn: string,
    action: 'kms:GenerateDataKey' | 'kms:Decrypt',
  ): void {
    this.aws.authorize(
      principal,
      {
        service: 'kms',
        action,
        resource: keyArn,
        context: {
          'kms:ViaService': `s3.${region}.amazonaws.com`,
          'kms:EncryptionContext:aws:s3:arn': bucket.bucketKeyEnabled
            ? `arn:aws:s3:::${bucket.name}`
            : objectArn(bucket.name, key),
          'kms:CallerAccount': this.aws.account,
        },
      },
      { via: 's3', deniedCode: 'AccessDenied', deniedStatus: 403 },
    );
  }

  /** SigV4 as S3 checks it, computed here with node:crypto (not the client's signer). */
  private verifySignature(request: AwsRequest): void {
    const authorization = header(request, 'authorization') ?? '';
    const parsed =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
        authorization,
      );
    if (!parsed)
      throw new AwsServiceError('AuthorizationHeaderMalformed', 'The authorization header is malformed', 400);
    const [, accessKeyId, date, region, signedList, signature] = parsed as unknown as string[];
    const signed = (signedList as string).split(';');
    for (const required of ['host', 'x-amz-content-sha256', 'x-amz-date'])
      if (!signed.includes(required))
        throw new AwsServiceError(
          'AccessDenied',
          `There were headers present in the request which were not signed: ${required}`,
          403,
        );
    const payloadHash = header(request, 'x-amz-content-sha256') as string;
    const actualHash = request.bytes.length
      ? createHash('sha256').update(request.bytes).digest('hex')
      : EMPTY_SHA256;
    if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== actualHash)
      throw new AwsServiceError(
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        400,
      );
    const amzDate = header(request, 'x-amz-date') ?? '';
    const canonical = [
      request.method,
      canonicalPath(request.path),
      canonicalQuery(request.query),
      ...signed.map((name) => `${name}:${(header(request, name) ?? '').trim().replace(/\s+/g, ' ')}`),
      '',
      signedList,
      payloadHash,
    ].join('\n');
    const scope = `${date}/${region}/s3/aws4_request`;
    const stringToSign = [
      'AWS4-HMAC-SHA256',
      amzDate,
      scope,
      createHash('sha256').update(canonical).digest('hex'),
    ].join('\n');
    let signingKey: Buffer = Buffer.from(`AWS4${this.secretAccessKey}`);
    for (const part of [date, region, 's3', 'aws4_request'])
      signingKey = createHmac('sha256', signingKey)
        .update(part as string)
        .digest();
    const expected = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
    if (expected !== signature)
      throw new AwsServiceError(
        'SignatureDoesNotMatch',
        `The request signature we calculated does not match the signature you provided (access key ${accessKeyId}). The canonical request was:\n${canonical}`,
        403,
      );
  }

  private store(
    bucket: Bucket,
    key: string,
    body: Buffer,
    contentType: string,
    kmsKeyArn: string | undefined,
  ): S3Object {
    const object: S3Object = {
      body: Buffer.from(body),
      contentType,
      kmsKeyArn,
      etag: `"${createHash('md5').update(body).digest('hex')}"`,
      lastModified: new Date(),
    };
    bucket.objects.set(key, object);
    return object;
  }

  private bucketOrThrow(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new Error(`no bucket ${name} (createBucket first)`);
    return bucket;
  }

  private keyArn(keyId: string, region: string): string {
    return keyId.startsWith('arn:') ? keyId : `arn:aws:kms:${region}:${this.aws.account}:key/${keyId}`;
  }
}

function operationOf(method: string, key: string): S3Operation | undefined {
  if (!key) return undefined;
  if (method === 'PUT') return 'PutObject';
  if (method === 'GET') return 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  return undefined;
}

/** `/<bucket>/<key>`: the key is every segment after the bucket, each percent-decoded. */
function splitPath(path: string): { bucket: string; key: string } {
  const [, bucket = '', ...rest] = path.split('/');
  try {
    return { bucket: decodeURIComponent(bucket), key: rest.map((s) => decodeURIComponent(s)).join('/') };
  } catch {
    throw new AwsServiceError('InvalidURI', "Couldn't parse the specified URI.", 400);
  }
}

/** S3's canonical URI: each segment decoded, then encoded once (RFC 3986 unreserved kept). */
function canonicalPath(path: string): string {
  return path
    .split('/')
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .join('/');
}

function canonicalQuery(query: URLSearchParams): string {
  return [...query.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** Every UTF-8 byte outside A-Z a-z 0-9 - _ . ~ as %XX (AWS's UriEncode). */
function uriEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function header(request: AwsRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function objectArn(bucket: string, key: string): string {
  return `arn:aws:s3:::${bucket}/${key}`;
}

function encryptionHeaders(object: S3Object): Record<string, string> {
  return object.kmsKeyArn
    ? {
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-aws-kms-key-id': object.kmsKeyArn,
      }
    : { 'x-amz-server-side-encryption': 'AES256' };
}

function requestId(): string {
  return randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
}

/** S3's error document: `<Error>` at the root, unlike the query protocol's `<ErrorResponse>`. */
function xmlErrorDocument(error: AwsServiceError): AwsResponse {
  const id = requestId();
  return {
    status: error.status,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': id },
    body:
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message>` +
      `<RequestId>${id}</RequestId></Error>`,
  };
}
