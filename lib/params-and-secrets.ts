/**
 * The AWS Parameters and Secrets Lambda Extension layer, through which the check function reads
 * cluster credentials without an SDK client. AWS publishes one layer ARN per region and
 * architecture; the CDK knows them for some regions only. Elsewhere, give the ARN yourself: the
 * `paramsAndSecretsLayerArn` prop or `-c paramsAndSecretsLayerArn=arn:…` (arm64, version 1.0.103 or
 * later; see https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html).
 */
import { CfnRule, Fn, Stack, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import type { Construct } from 'constructs';

export const PARAMS_AND_SECRETS_CONTEXT_KEY = 'paramsAndSecretsLayerArn';
const VERSION = lambda.ParamsAndSecretsVersions.V1_0_103;
const ARCHITECTURE = lambda.Architecture.ARM_64;
// No cache: the check reads each secret once per run, and a cached "pending verification" marker
// could be up to five minutes stale.
const OPTIONS: lambda.ParamsAndSecretsOptions = {
  logLevel: lambda.ParamsAndSecretsLogLevel.WARN,
  cacheEnabled: false,
};

/** The regions whose layer ARN the CDK knows (its map). */
export function knownLayerRegions(): string[] {
  return RegionInfo.regions
    .filter((r) => r.paramsAndSecretsLambdaLayerArn(VERSION, ARCHITECTURE.name) !== undefined)
    .map((r) => r.name)
    .sort();
}

/**
 * The layer: the override when given; else, for a stack in a known region, the CDK's ARN; in an
 * unknown region, a synth error that says what to do. A region-agnostic stack gets the CDK's map
 * plus a template rule that stops the deploy in an unknown region with the same advice, before any
 * resource is touched (instead of CloudFormation's "Unable to get mapping for …").
 */
export function paramsAndSecretsLayer(
  scope: Construct,
  override?: string,
): lambda.ParamsAndSecretsLayerVersion {
  const arn = override ?? (scope.node.tryGetContext(PARAMS_AND_SECRETS_CONTEXT_KEY) as string | undefined);
  if (arn !== undefined) {
    if (!Token.isUnresolved(arn) && !/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[^:]+:\d+$/.test(arn)) {
      throw new Error(`paramsAndSecretsLayerArn: "${arn}" is not a Lambda layer version ARN`);
    }
    return lambda.ParamsAndSecretsLayerVersion.fromVersionArn(arn, OPTIONS);
  }
  const known = knownLayerRegions();
  const region = Stack.of(scope).region;
  const advice =
    'look up the AWS Parameters and Secrets Lambda Extension layer ARN for arm64 in that region ' +
    '(https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html) and pass it as ' +
    `the paramsAndSecretsLayerArn prop or with -c ${PARAMS_AND_SECRETS_CONTEXT_KEY}=arn:…`;
  if (!Token.isUnresolved(region)) {
    if (!known.includes(region)) {
      throw new Error(`no Parameters and Secrets extension layer is known for region ${region}: ${advice}`);
    }
  } else {
    new CfnRule(scope, 'ParamsAndSecretsLayerRegion', {
      assertions: [
        {
          assert: Fn.conditionContains(known, Stack.of(scope).region),
          assertDescription: `No Parameters and Secrets extension layer is known for this region: ${advice}`,
        },
      ],
    });
  }
  return lambda.ParamsAndSecretsLayerVersion.fromVersion(VERSION, OPTIONS);
}
