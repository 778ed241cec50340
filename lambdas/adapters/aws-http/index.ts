/**
 * What the small AWS clients without the SDK share (adapters/dynamodb, adapters/s3): the
 * credentials Lambda puts in the environment, and the shape of an error a service answered.
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What either client takes to reach its service: where, as whom, and how long and how often. */
export interface AwsHttpClientOptions {
  /** Default: AWS_REGION (or AWS_DEFAULT_REGION). */
  region?: string;
  /** Default: the service's AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, else the region's endpoint. */
  endpoint?: string;
  /** Default: the environment's, read at each call. */
  credentials?: () => AwsCredentials;
  /** One attempt, connection to last byte. */
  timeoutMs?: number;
  /** Attempts in all, the first included. */
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** An error an AWS service answered (`name` is its code) or a transport failure (`status` null). */
export class AwsHttpError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The function's credentials, as Lambda gives them, read at each call (a rotated session is used at
 * once). Literal reads: test/lambda/bundle-environment.test.ts finds every variable a bundle reads.
 * Without them, a `CredentialsError` of the client's own error class.
 */
export function environmentCredentials(
  ErrorClass: new (name: string, message: string, status: number | null) => Error = AwsHttpError,
): AwsCredentials {
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  const sessionToken = process.env.AWS_SESSION_TOKEN;
  if (!accessKeyId || !secretAccessKey)
    throw new ErrorClass(
      'CredentialsError',
      'no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)',
      null,
    );
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}
