/**
 * Synthesizes the watchdog stack for tests, without bundling (no esbuild run, no Docker, no AWS
 * credentials), with the same feature flags as `cdk synth` (cdk.json's context).
 *
 * `synthesizedDefinition` returns the state machine's ASL with concrete Lambda ARNs, ready for
 * aws-local-stepfunctions: override each Lambda task by state name (see lib/workflow.ts STATE_NAMES).
 */
import { readFileSync } from 'node:fs';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as cxapi from 'aws-cdk-lib/cx-api';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import type { WatchdogFunctions } from '../../lib/certificate-watchdog';
import { logicalIdOf } from '../../lib/certificate-watchdog';
import { WatchdogStack, type WatchdogStackProps } from '../../lib/watchdog-stack';

export const TEST_ACCOUNT = '123456789012';
export const TEST_REGION = 'us-east-1';
export const TEST_STACK_NAME = 'RsCertWatchdog';

const cdkJson = new URL('../../cdk.json', import.meta.url);

/** cdk.json's context (feature flags) with bundling skipped for every stack. */
export function testContext(): Record<string, unknown> {
  const { context } = JSON.parse(readFileSync(cdkJson, 'utf8')) as { context: Record<string, unknown> };
  return { ...context, [cxapi.BUNDLING_STACKS]: [] };
}

export interface SynthesizedWatchdog {
  app: App;
  stack: WatchdogStack;
  template: Template;
}

/** A config object, or the path of a config file (read with loadConfig by the stack). */
export function synthesizeWatchdog(
  config: WatchdogConfig | string,
  watchdog?: WatchdogStackProps['watchdog'],
): SynthesizedWatchdog {
  const app = new App({ context: testContext() });
  const stack = new WatchdogStack(app, TEST_STACK_NAME, {
    ...(typeof config === 'string' ? { configFile: config } : { config }),
    ...(watchdog ? { watchdog } : {}),
  });
  return { app, stack, template: Template.fromStack(stack) };
}

export type FunctionRole = keyof WatchdogFunctions;

/** The ARN a function gets in the definition that synthesizedDefinition returns. */
export function testFunctionArn(role: FunctionRole): string {
  return `arn:aws:lambda:${TEST_REGION}:${TEST_ACCOUNT}:function:rs-cert-watchdog-${role}`;
}

export interface AslRetrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

export interface AslCatcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
}

export interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  ResultPath?: string | null;
  Retry?: AslRetrier[];
  Catch?: AslCatcher[];
  Choices?: Array<Record<string, unknown>>;
  Default?: string;
  ItemsPath?: string;
  MaxConcurrency?: number;
  ItemProcessor?: AslStateMachine & { ProcessorConfig?: Record<string, unknown> };
  [field: string]: unknown;
}

export interface AslStateMachine {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
  [field: string]: unknown;
}

/**
 * The workflow's ASL as deployed, with every Lambda task's Resource a function ARN from
 * testFunctionArn (pseudo parameters as TEST_ACCOUNT and TEST_REGION).
 */
export function synthesizedDefinition(config: WatchdogConfig | string): AslStateMachine {
  return definitionOf(synthesizeWatchdog(config));
}

/** The definition of an already synthesized watchdog, as synthesizedDefinition returns it. */
export function definitionOf({
  stack,
  template,
}: Pick<SynthesizedWatchdog, 'stack' | 'template'>): AslStateMachine {
  const roles = new Map<string, FunctionRole>();
  for (const [role, fn] of Object.entries(stack.watchdog.functions) as [FunctionRole, NodejsFunction][]) {
    roles.set(logicalIdOf(fn.node.defaultChild as CfnElement), role);
  }
  const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  const definition = (machines[0] as { Properties: { DefinitionString: unknown } }).Properties
    .DefinitionString;
  const buckets = new Set(Object.keys(template.findResources('AWS::S3::Bucket')));
  return JSON.parse(resolveIntrinsics(definition, roles, buckets)) as AslStateMachine;
}

/** The name a bucket of the template has when deployed to the loopback account (lowercase, as S3 wants). */
export function testBucketName(logicalId: string): string {
  return `${TEST_STACK_NAME}-${logicalId}`.toLowerCase();
}

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': TEST_REGION,
  'AWS::AccountId': TEST_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

function resolveIntrinsics(
  value: unknown,
  roles: Map<string, FunctionRole>,
  buckets: ReadonlySet<string> = new Set(),
): string {
  if (typeof value === 'string') return value;
  const node = value as Record<string, unknown>;
  if (Array.isArray(node['Fn::Join'])) {
    const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => resolveIntrinsics(part, roles, buckets)).join(delimiter);
  }
  if (typeof node.Ref === 'string' && buckets.has(node.Ref)) return testBucketName(node.Ref);
  if (Array.isArray(node['Fn::GetAtt'])) {
    const [logicalId, attribute] = node['Fn::GetAtt'] as [string, string];
    const role = roles.get(logicalId);
    if (role && attribute === 'Arn') return testFunctionArn(role);
  }
  if (typeof node.Ref === 'string' && PSEUDO_PARAMETERS[node.Ref])
    return PSEUDO_PARAMETERS[node.Ref] as string;
  throw new Error(`unexpected intrinsic in the definition: ${JSON.stringify(value)}`);
}
