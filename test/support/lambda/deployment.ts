/**
 * What a synthesized watchdog deploys, read from its template as AWS would apply it: each
 * function's handler entry, handler, timeout, memory and environment, and the identity policies of
 * its role, with every intrinsic resolved to the concrete ARNs of the loopback account.
 */
import type { CfnElement } from 'aws-cdk-lib';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { logicalIdOf } from '../../../lib/certificate-watchdog';
import { resolve, type Statement } from '../../cdk/support/policy-evaluator';
import {
  type AslStateMachine,
  definitionOf,
  type FunctionRole,
  type SynthesizedWatchdog,
  TEST_ACCOUNT,
  TEST_REGION,
  TEST_STACK_NAME,
  testBucketName,
  testFunctionArn,
} from '../synthesized-definition';
import { entryOfDescription } from './bundles';

export interface DeployedFunction {
  role: FunctionRole;
  arn: string;
  /** The handler entry it was bundled from: `check.ts`, `check-any-region.ts`, `issue.ts`, … */
  entry: string;
  /** The template's Handler, e.g. `index.handler`. */
  handler: string;
  timeoutMs: number;
  memoryMb: number;
  /** Environment.Variables, resolved. */
  environment: Record<string, string>;
  /** Its role's identity policies (AWS::IAM::Policy resources attached to it), resolved. */
  statements: Statement[];
}

export interface Deployment {
  definition: AslStateMachine;
  functions: Partial<Record<FunctionRole, DeployedFunction>>;
  /** The state machine's role: its identity policies, resolved (the maps' S3 reads and writes). */
  stateMachine: { statements: Statement[] };
  /** The report bucket's name (the cluster list, the runs' objects, the maps' results). */
  reportBucket: string;
  /** The alert topic and the key that encrypts it (and the state secrets). */
  topicArn: string;
  keyArn: string;
  /** The template's resources, by logical ID (e.g. to create a table a stand-in serves). */
  resources: Record<string, CfnResource>;
  /** Resolves a template value (Ref, Fn::GetAtt, Fn::Join, pseudo parameters) as deployed here. */
  resolve(value: unknown): unknown;
}

export interface CfnResource {
  Type: string;
  Properties: Record<string, unknown>;
}

/** Reads a synthesized watchdog as deployed into the loopback account, whose state key is `keyArn`. */
export function describeDeployment(synth: SynthesizedWatchdog, keyArn: string): Deployment {
  const resources = synth.template.toJSON().Resources as Record<string, CfnResource>;
  const roleOfFunction = new Map<string, FunctionRole>();
  for (const [role, fn] of Object.entries(synth.stack.watchdog.functions) as [FunctionRole, NodejsFunction][])
    roleOfFunction.set(logicalIdOf(fn.node.defaultChild as CfnElement), role);

  const refs: Record<string, string> = {};
  let topicArn = '';
  let reportBucket = '';
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type === 'AWS::KMS::Key') {
      refs[id] = keyArn.split('/').pop() as string;
      refs[`${id}.Arn`] = keyArn;
    } else if (resource.Type === 'AWS::SNS::Topic') {
      topicArn = `arn:aws:sns:${TEST_REGION}:${TEST_ACCOUNT}:${TEST_STACK_NAME}-${id}`;
      refs[id] = topicArn;
      refs[`${id}.TopicArn`] = topicArn;
    } else if (resource.Type === 'AWS::DynamoDB::Table' || resource.Type === 'AWS::DynamoDB::GlobalTable') {
      const name = String(resource.Properties.TableName ?? `${TEST_STACK_NAME}-${id}`);
      refs[id] = name;
      refs[`${id}.Arn`] = `arn:aws:dynamodb:${TEST_REGION}:${TEST_ACCOUNT}:table/${name}`;
    } else if (resource.Type === 'AWS::StepFunctions::StateMachine') {
      refs[id] = `arn:aws:states:${TEST_REGION}:${TEST_ACCOUNT}:stateMachine:${TEST_STACK_NAME}-${id}`;
    } else if (resource.Type === 'AWS::S3::Bucket') {
      reportBucket = testBucketName(id);
      refs[id] = reportBucket;
      refs[`${id}.Arn`] = `arn:aws:s3:::${reportBucket}`;
    } else if (resource.Type === 'AWS::IAM::Role') {
      refs[`${id}.Arn`] = `arn:aws:iam::${TEST_ACCOUNT}:role/${TEST_STACK_NAME}-${id}`;
    } else if (resource.Type === 'AWS::Lambda::Function' && roleOfFunction.has(id)) {
      refs[`${id}.Arn`] = testFunctionArn(roleOfFunction.get(id) as FunctionRole);
    }
  }
  const pseudo = {
    'AWS::Partition': 'aws',
    'AWS::Region': TEST_REGION,
    'AWS::AccountId': TEST_ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': TEST_STACK_NAME,
  };

  const statementsOfRole = new Map<string, Statement[]>();
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const roles = (resource.Properties.Roles as Array<{ Ref: string }> | undefined) ?? [];
    const document = resource.Properties.PolicyDocument as { Statement: unknown[] };
    for (const { Ref } of roles) {
      const statements = statementsOfRole.get(Ref) ?? [];
      // Only the functions' roles are resolved: other roles name resources this account does not model.
      statementsOfRole.set(Ref, statements);
      statements.push(...(document.Statement as Statement[]));
    }
  }

  const functions: Deployment['functions'] = {};
  for (const [id, resource] of Object.entries(resources)) {
    const role = roleOfFunction.get(id);
    if (resource.Type !== 'AWS::Lambda::Function' || !role) continue;
    const p = resource.Properties;
    const roleId = (p.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const variables = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
      {}) as Record<string, unknown>;
    functions[role] = {
      role,
      arn: testFunctionArn(role),
      entry: entryOfDescription(String(p.Description)),
      handler: String(p.Handler),
      timeoutMs: Number(p.Timeout ?? 3) * 1000,
      memoryMb: Number(p.MemorySize ?? 128),
      environment: Object.fromEntries(
        Object.entries(variables).map(([name, value]) => [name, String(resolve(value, pseudo, refs))]),
      ),
      statements: (statementsOfRole.get(roleId) ?? []).map((s) => resolve(s, pseudo, refs) as Statement),
    };
  }
  const machineRole = Object.entries(resources).find(
    ([, r]) => r.Type === 'AWS::StepFunctions::StateMachine',
  )?.[1].Properties.RoleArn as { 'Fn::GetAtt': [string, string] } | undefined;
  const machineStatements = machineRole ? (statementsOfRole.get(machineRole['Fn::GetAtt'][0]) ?? []) : [];
  return {
    definition: definitionOf(synth),
    stateMachine: { statements: machineStatements.map((s) => resolve(s, pseudo, refs) as Statement) },
    reportBucket,
    functions,
    topicArn,
    keyArn,
    resources,
    resolve: (value) => resolve(value, pseudo, refs),
  };
}
