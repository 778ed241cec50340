/**
 * Where a run keeps what is too large to travel in Step Functions state: its report, its plan (the
 * due items the renewal map reads) and the renewal map's results. On AWS it is the construct's S3
 * bucket (adapters/s3, SSE-KMS with the stack's key); the CLI and the unit tests keep the objects
 * in memory (adapters/in-memory). Objects hold no secret: no key, no password, no response body of
 * the cluster's certificate API.
 */

/** A bucket the run writes its report, plan and results to (S3 on AWS). Keys are relative to the bucket. */
export interface ObjectStore {
  /** Where objects live, for links and messages: the bucket's name. */
  readonly bucket: string;
  /** Writes a whole object (S3 encrypts it with the bucket's KMS key). */
  put(key: string, body: string | Uint8Array, contentType: string): Promise<void>;
  /** An object's body as UTF-8 text; null when the object does not exist. */
  getText(key: string): Promise<string | null>;
}

/**
 * Why S3 (or a URL) could not hold `key` as written, or undefined when it can: every store refuses
 * the same keys, so a key the CLI accepts in memory is one the bucket accepts too. S3 allows up to
 * 1,024 bytes of UTF-8; a `.` or `..` segment would be collapsed by URL parsing before signing (the
 * object would land elsewhere), and control characters do not survive XML 1.0 listings.
 */
export function objectKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'the key is empty';
  if (Buffer.byteLength(key, 'utf8') > 1024) return 'the key is longer than 1,024 bytes of UTF-8';
  if (key.startsWith('/')) return 'the key starts with "/" (keys are relative to the bucket)';
  if (key.split('/').some((segment) => segment === '.' || segment === '..'))
    return 'the key has a "." or ".." segment';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'the key holds a control character';
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(key))
    return 'the key holds a lone surrogate (it has no UTF-8 form)';
  return undefined;
}
