/**
 * cdk-nag AwsSolutions findings this design accepts, each with its reason. cdk-nag v3 needs each
 * finding acknowledged by its exact ID, which names resources as `<LogicalId.Attribute>`.
 */
import { ArnFormat, Aws, type CfnElement, Fn, Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { IConstruct } from 'constructs';
import { LEGACY_STATE_AREAS, legacyStateArn } from './secret-access';
import type { StateArea } from './state-table';

export interface NagSubjects {
  readonly functions: Record<string, nodejs.NodejsFunction | undefined>;
  /** The functions invoked by the state machine. */
  readonly workflowFunctions: nodejs.NodejsFunction[];
  readonly stateMachine: sfn.StateMachine;
  /** Each function with the state areas it was granted. */
  readonly stateGrants: { fn: nodejs.NodejsFunction; areas: StateArea[] }[];
  /** Where the state secrets of earlier versions are read from by MigrateState, when it is deployed. */
  readonly legacyStatePrefix: string | undefined;
  /** The function that polls Route 53 changes, if DNS-01 goes through Route 53. */
  readonly route53ChangePollers: nodejs.NodejsFunction[];
  /** What its Route 53 grant spans: any zone (found by name, no hostedZoneIds), and finding zones. */
  readonly route53Access?: { zoneIds: readonly string[] | undefined; findsZones: boolean } | null;
  /** The function publishing to the encrypted topic. */
  readonly topicPublisher: nodejs.NodejsFunction;
}

const ack = (scope: IConstruct, id: string, reason: string) =>
  Validations.of(scope).acknowledge({ id, reason });

export function acknowledgeNagFindings(subjects: NagSubjects): void {
  const functions = Object.values(subjects.functions).filter((f) => f !== undefined);
  for (const fn of functions) {
    ack(
      fn,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'The AWS managed basic execution role only allows writing CloudWatch Logs.',
    );
    if (fn.isBoundToVpc) {
      ack(
        fn,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        'The AWS managed VPC access role only manages the network interfaces Lambda needs in the VPC.',
      );
    }
  }
  const migrate = subjects.functions.migrateState;
  if (migrate && subjects.legacyStatePrefix !== undefined) {
    for (const area of LEGACY_STATE_AREAS) {
      ack(
        migrate,
        `AwsSolutions-IAM5[Resource::${nagReference(migrate, legacyStateArn(migrate, subjects.legacyStatePrefix, area))}]`,
        `Read once: the state secrets earlier versions created at run time (one per ACME account, certificate and marker) under the ${area}/ ` +
          "area of the stack's prefix; the trailing * also matches Secrets Manager's random 6-character suffix.",
      );
    }
  }
  ack(
    subjects.topicPublisher,
    'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
    "Publishing to the encrypted topic: GenerateDataKey* on the topic's key, only through SNS (kms:ViaService).",
  );
  for (const fn of subjects.route53ChangePollers) {
    const changes = Stack.of(fn).formatArn({
      service: 'route53',
      region: '',
      account: '',
      resource: 'change',
      resourceName: '*',
    });
    ack(
      fn,
      `AwsSolutions-IAM5[Resource::${nagReference(fn, changes)}]`,
      'route53:GetChange polls the change just submitted; change IDs are not known in advance.',
    );
    if (subjects.route53Access?.zoneIds === undefined) {
      const zones = Stack.of(fn).formatArn({
        service: 'route53',
        region: '',
        account: '',
        resource: 'hostedzone',
        resourceName: '*',
      });
      ack(
        fn,
        `AwsSolutions-IAM5[Resource::${nagReference(fn, zones)}]`,
        'Zones are found by name (no hostedZoneIds in the config): changes are still limited by IAM conditions to TXT records named _acme-challenge.*.',
      );
    }
    if (subjects.route53Access?.findsZones)
      ack(
        fn,
        'AwsSolutions-IAM5[Resource::*]',
        'route53:ListHostedZonesByName finds the zone of a name; IAM grants it on * only (it has no resource).',
      );
  }
  for (const fn of subjects.workflowFunctions) {
    ack(
      subjects.stateMachine,
      `AwsSolutions-IAM5[Resource::<${logicalIdOf(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
      "CDK's LambdaInvoke grant: the function's versions and aliases (function ARN + ':*').",
    );
  }
  ack(
    subjects.stateMachine,
    'AwsSolutions-IAM5[Resource::*]',
    'Step Functions log delivery (logs:CreateLogDelivery and friends) does not support resource-level permissions.',
  );
  ack(
    subjects.stateMachine,
    'AwsSolutions-SF1',
    'Logs ERROR events only, without execution data: every failure is logged and alerted; outputs need no copy.',
  );
  ack(
    subjects.stateMachine,
    'AwsSolutions-SF2',
    'X-Ray is off: a daily workflow of a few Lambda calls; the state machine history already traces each run.',
  );
}

/** cdk-nag findings of the deploy-time heartbeat custom resource (a CDK singleton provider). */
export function acknowledgeCustomResourceProvider(provider: IConstruct): void {
  ack(
    provider,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "The CDK custom resource provider's basic execution role only allows writing CloudWatch Logs.",
  );
  ack(
    provider,
    'AwsSolutions-IAM5[Resource::*]',
    'cloudwatch:PutMetricData has no resource-level permissions; the policy limits it to our namespace.',
  );
  ack(
    provider,
    'AwsSolutions-L1',
    'The CDK custom resource provider picks its own Node.js runtime; it runs once per deploy.',
  );
}

/** The logical ID of a resource, as the template will show it. */
export function logicalIdOf(element: CfnElement): string {
  return Stack.of(element).resolve(element.logicalId) as string;
}

/**
 * A value as cdk-nag names it in finding IDs: tokens resolved, then `Ref` as `<Name>`, `Fn::GetAtt`
 * as `<Name.Attribute>`, `Fn::Join` joined.
 */
function nagReference(scope: IConstruct, value: string): string {
  return nagName(Stack.of(scope).resolve(value));
}

/** A resolved template value as cdk-nag names it. */
function nagName(resolved: unknown): string {
  const flatten = (node: unknown): string => {
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
    if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (Array.isArray(o['Fn::Join'])) {
        const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
        return items.map(flatten).join(delimiter);
      }
      if (Array.isArray(o['Fn::GetAtt'])) {
        const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
        return `<${flatten(resource)}.${flatten(attribute)}>`;
      }
      if (o.Ref !== undefined) return `<${flatten(o.Ref)}>`;
      if (typeof o['Fn::Sub'] === 'string') return flatten(o['Fn::Sub']);
    }
    return JSON.stringify(node);
  };
  return flatten(resolved);
}

/** The schedules' dead-letter queue is a dead-letter queue itself (of EventBridge Scheduler, not of a queue). */
export function acknowledgeScheduleDeadLetterQueue(queue: IConstruct): void {
  ack(
    queue,
    'AwsSolutions-SQS3',
    "This queue is EventBridge Scheduler's dead-letter queue for the schedules' failed starts; a dead-letter queue has none of its own.",
  );
}

/** What the report bucket's findings name: the bucket, its deployment, and who reads and writes what in it. */
export interface ReportBucketNagSubjects {
  readonly bucket: IConstruct & { readonly bucketName: string; arnForObjects(pattern: string): string };
  /** CDK's BucketDeployment handler (a singleton function of the stack) and its role. */
  readonly deploymentHandler: IConstruct;
  readonly deploymentRole: iam.IRole;
  /** Each principal's object key patterns (grantObjects), with why it needs them. */
  readonly objectGrants: ReadonlyArray<{ scope: IConstruct; patterns: readonly string[]; reason: string }>;
  /** The state machine: CDK grants its Distributed Maps the ResultWriter's objects and child executions. */
  readonly stateMachine: sfn.StateMachine;
}

export function acknowledgeReportBucket(subjects: ReportBucketNagSubjects): void {
  const { bucket, stateMachine } = subjects;
  ack(
    bucket,
    'AwsSolutions-S1',
    "The objects are the run's own reports, written only by the check and notify functions and the state machine, " +
      'whose roles are scoped to key prefixes; the audit path for reads and writes is CloudTrail data events on the account’s trail, not a second log bucket.',
  );
  for (const { scope, patterns, reason } of subjects.objectGrants)
    for (const pattern of patterns)
      ack(
        scope,
        `AwsSolutions-IAM5[Resource::${nagReference(scope, bucket.arnForObjects(pattern))}]`,
        reason,
      );
  // CDK's Distributed Map grants: the ResultWriter (multipart PutObject) and the cluster list's ItemReader,
  // on the bucket's objects (CDK does not scope them to a prefix).
  const mapObjects = Stack.of(stateMachine).formatArn({
    partition: Aws.PARTITION,
    service: 's3',
    region: '',
    account: '',
    resource: bucket.bucketName,
    resourceName: '*',
  });
  ack(
    stateMachine,
    `AwsSolutions-IAM5[Resource::${nagReference(stateMachine, mapObjects)}]`,
    "CDK's Distributed Map grant: the ResultWriter writes the maps' results and the ItemReader reads the cluster list, " +
      'in the report bucket only (object keys are chosen by Step Functions under runs/results/).',
  );
  // A Distributed Map starts, describes, stops and redrives its own child executions, whose names are not known in advance.
  const executions = (suffix: string) =>
    Stack.of(stateMachine).formatArn({
      service: 'states',
      resource: 'execution',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: `${Fn.select(6, Fn.split(':', stateMachine.stateMachineArn))}${suffix}`,
    });
  for (const suffix of [':*', '/*:*'])
    ack(
      stateMachine,
      `AwsSolutions-IAM5[Resource::${nagReference(stateMachine, executions(suffix))}]`,
      "CDK's Distributed Map grant: the state machine's own executions and their map runs' child executions (named by Step Functions).",
    );

  // CDK's BucketDeployment handler, run at deploy only to write config/clusters.json.
  ack(
    subjects.deploymentRole,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "CDK's BucketDeployment handler's basic execution role only allows writing CloudWatch Logs.",
  );
  for (const action of ['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:Abort*', 's3:DeleteObject*'])
    ack(
      subjects.deploymentRole,
      `AwsSolutions-IAM5[Action::${action}]`,
      "CDK's BucketDeployment grant (grantRead on its asset bucket, grantReadWrite on the report bucket); it only writes config/ " +
        '(prune is off, so it deletes nothing), once per deploy.',
    );
  for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*'])
    ack(
      subjects.deploymentRole,
      `AwsSolutions-IAM5[Action::${action}]`,
      "CDK's BucketDeployment grant on the report bucket's key (the stack key), to write the KMS-encrypted cluster list.",
    );
  for (const resource of wildcardResources(subjects.deploymentRole))
    ack(
      subjects.deploymentRole,
      `AwsSolutions-IAM5[Resource::${resource}]`,
      "CDK's BucketDeployment grant: the objects of its own asset (CDK's bootstrap assets bucket) and of the report bucket it writes config/clusters.json to.",
    );
  ack(
    subjects.deploymentHandler,
    'AwsSolutions-L1',
    "CDK's BucketDeployment handler is CDK's own Python function, with the runtime CDK picks; it runs once per deploy.",
  );
}

/** The wildcard resources of a role's default policy, as cdk-nag names them. */
function wildcardResources(role: iam.IRole): string[] {
  const policy = role.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
  if (!policy) return [];
  const json = Stack.of(role).resolve(policy.document.toJSON()) as { Statement?: { Resource?: unknown }[] };
  const found = new Set<string>();
  for (const statement of json.Statement ?? [])
    for (const resource of [statement.Resource ?? []].flat()) {
      const name = nagName(resource);
      if (name.includes('*')) found.add(name);
    }
  return [...found];
}
