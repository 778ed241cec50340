/** Secret ARNs, without the SDK: the check function (no SDK in its bundle) reads them too. */

/** The region of a secret ARN (`arn:<partition>:secretsmanager:<region>:<account>:secret:<name>`), else undefined. */
export function secretRegion(secretId: string): string | undefined {
  return /^arn:[a-z0-9-]+:secretsmanager:([a-z0-9-]+):\d{12}:secret:/.exec(secretId)?.[1];
}
