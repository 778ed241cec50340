/**
 * The report bucket (issue 19: a run's report, plan and results live in S3, not in the state
 * machine's state), through the small SigV4 client of adapters/s3: no SDK in the check function.
 */
import { S3ObjectStore } from '../adapters/s3';
import type { ObjectStore } from '../domain/ports';
import { requiredEnv } from './runtime';

let store: ObjectStore | undefined;

export function reportStore(): ObjectStore {
  store ??= new S3ObjectStore({
    bucket: requiredEnv('REPORT_BUCKET_NAME', process.env.REPORT_BUCKET_NAME),
    // Objects are encrypted with the bucket's default key (the stack's); named here so a put says so.
    kmsKeyId: requiredEnv('REPORT_KMS_KEY_ID', process.env.REPORT_KMS_KEY_ID),
  });
  return store;
}

/**
 * A link a person can open to an object: the S3 console's page of it (they sign in as ever; the
 * link holds no credential and does not expire, unlike a presigned URL).
 */
export function consoleUrl(location: { bucket: string; key: string }): string {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  return `https://console.aws.amazon.com/s3/object/${encodeURIComponent(location.bucket)}?region=${encodeURIComponent(region)}&prefix=${encodeURIComponent(location.key)}`;
}
