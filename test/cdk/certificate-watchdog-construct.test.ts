import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Annotations as AssertionAnnotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { BucketDeployment } from 'aws-cdk-lib/aws-s3-deployment';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/adapters/config-file';
import { stateTableDefinition } from '../../lambdas/adapters/dynamodb/schema';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import { issueTimeoutMs } from '../../lambdas/domain/retry';
import { logicalIdOf } from '../../lib/certificate-watchdog';
import { WatchdogStack } from '../../lib/watchdog-stack';
import { STEP_TIMEOUTS } from '../../lib/workflow';
import { createCa } from '../support/pki';
import {
  type FunctionRole,
  synthesizeWatchdog,
  TEST_ACCOUNT,
  TEST_REGION,
  TEST_STACK_NAME,
  testContext,
} from '../support/synthesized-definition';
import { resolve } from './support/policy-evaluator';

const exampleFile = fileURLToPath(new URL('../../config.example.json', import.meta.url));
const example = loadConfig(exampleFile);
const exampleAws = example.aws as NonNullable<WatchdogConfig['aws']>;
const synthesized = synthesizeWatchdog(exampleFile);
const { template } = synthesized;
const watchdog = synthesized.stack.watchdog;
const idOf = (construct: { node: { defaultChild?: unknown } }) =>
  logicalIdOf(construct.node.defaultChild as CfnElement);

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

/** One entry of an alarm's Metrics (metric math). */
interface AlarmMetric {
  Id: string;
  Expression?: string;
  ReturnData?: boolean;
  MetricStat?: Record<string, unknown>;
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Every Allow statement of a function's role (its default policy). */
function statementsOf(t: Template, role: FunctionRole, functions = watchdog.functions): Statement[] {
  const fn = functions[role];
  if (!fn) throw new Error(`no ${role} function`);
  const roleId = logicalIdOf(fn.role?.node.defaultChild as CfnElement);
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
    .filter((s) => s.Effect === 'Allow');
}

const actionsOf = (statements: Statement[]) => statements.flatMap((s) => list(s.Action));

const KEY_ARN = `arn:aws:kms:${TEST_REGION}:${TEST_ACCOUNT}:key/state`;
const TOPIC_ARN = `arn:aws:sns:${TEST_REGION}:${TEST_ACCOUNT}:alerts`;
const TABLE_ARN = `arn:aws:dynamodb:${TEST_REGION}:${TEST_ACCOUNT}:table/state`;
const BUCKET_NAME = 'reports';
const BUCKET_ARN = `arn:aws:s3:::${BUCKET_NAME}`;
const resolved = (value: unknown) =>
  resolve(
    value,
    { 'AWS::Partition': 'aws', 'AWS::Region': TEST_REGION, 'AWS::AccountId': TEST_ACCOUNT },
    {
      [`${idOf(watchdog.key)}.Arn`]: KEY_ARN,
      [idOf(watchdog.alertTopic)]: TOPIC_ARN,
      [`${idOf(watchdog.stateTable)}.Arn`]: TABLE_ARN,
      [idOf(watchdog.reportBucket)]: BUCKET_NAME,
      [`${idOf(watchdog.reportBucket)}.Arn`]: BUCKET_ARN,
    },
  );
/** The state secrets of version 0.1, which MigrateState reads once. */
const legacyArn = (area: string) =>
  `arn:aws:secretsmanager:${TEST_REGION}:${TEST_ACCOUNT}:secret:rs-cert-watchdog/${TEST_STACK_NAME}/${area}/*`;

/** Every "action resource" pair a function's role allows (conditions checked elsewhere). */
function grantsOf(t: Template, role: FunctionRole, functions = watchdog.functions): string[] {
  return statementsOf(t, role, functions)
    .flatMap((s) =>
      list(s.Action).flatMap((a) => list(resolved(s.Resource) as string | string[]).map((r) => `${a} ${r}`)),
    )
    .sort();
}

const clusterSecrets = [
  `arn:aws:secretsmanager:${TEST_REGION}:${TEST_ACCOUNT}:secret:rs-cert-watchdog/clusters/prod-east-??????`,
  'arn:aws:secretsmanager:eu-west-3:123456789012:secret:rs-cert-watchdog/clusters/prod-west-Ab12Cd',
  'arn:aws:secretsmanager:eu-west-3:123456789012:secret:rs-cert-watchdog/clusters/prod-west-Ab12Cd-??????',
].map((arn) => `secretsmanager:GetSecretValue ${arn}`);
const tableRead = ['GetItem', 'Query'].map((a) => `dynamodb:${a} ${TABLE_ARN}`);
const tableWrite = ['PutItem', 'DeleteItem'].map((a) => `dynamodb:${a} ${TABLE_ARN}`);
/** What DynamoDB asks KMS for on the function's behalf (the table is encrypted with the stack key). */
const tableKey = (write: boolean) =>
  ['Decrypt', 'DescribeKey', ...(write ? ['Encrypt', 'GenerateDataKey'] : [])].map(
    (a) => `kms:${a} ${KEY_ARN}`,
  );
/** Opening and sealing private keys itself (envelope encryption). */
const openKeys = [`kms:Decrypt ${KEY_ARN}`];
const sealKeys = [`kms:GenerateDataKey ${KEY_ARN}`];
/**
 * Issue 19: the report bucket. Every key a run writes is under runs/<run>/ (lambdas/domain/run/objects.ts),
 * encrypted with the stack key through S3 (kms:ViaService s3, asserted below).
 */
const reportObjects = (write: string[]) => [
  `s3:GetObject ${BUCKET_ARN}/runs/*`,
  ...write.map((pattern) => `s3:PutObject ${BUCKET_ARN}/${pattern}`),
  `kms:Decrypt ${KEY_ARN}`,
  `kms:GenerateDataKey ${KEY_ARN}`,
];
const challenges = (zone: string) => [
  `route53:ChangeResourceRecordSets arn:aws:route53:::hostedzone/${zone}`,
  `route53:ListResourceRecordSets arn:aws:route53:::hostedzone/${zone}`,
  'route53:GetChange arn:aws:route53:::change/*',
];

/**
 * Issue 11.6 and 20: what each function may do, exhaustively (the partitions and key items each may
 * touch are asserted below). Only issue, push and migrateState use private keys; check, verify,
 * activeActive and notify never open one.
 */
const EXPECTED_GRANTS: Record<Exclude<FunctionRole, 'slackForwarder'>, (zone: string) => string[]> = {
  // Check writes its shard's parts and, in Gather, the run's due list, findings, report and page; it
  // reads the shards' plans and reports and the check map's results back.
  check: () => [
    ...clusterSecrets,
    ...tableRead,
    ...tableWrite,
    ...tableKey(true),
    ...reportObjects(['runs/*']),
  ],
  issue: (zone) => [
    ...tableRead,
    ...tableWrite,
    ...tableKey(true),
    ...openKeys,
    ...sealKeys,
    ...challenges(zone),
  ],
  push: () => [...clusterSecrets, ...tableRead, ...tableWrite, ...tableKey(true), ...openKeys, ...sealKeys],
  activeActive: () => [...clusterSecrets, ...tableRead, ...tableWrite, ...tableKey(true)],
  verify: () => [...clusterSecrets, ...tableRead, ...tableWrite, ...tableKey(true)],
  // Issue removes its own challenge records on every path: notify has no DNS access.
  notify: () => [
    ...clusterSecrets,
    ...tableRead,
    ...tableWrite,
    ...tableKey(true),
    `sns:Publish ${TOPIC_ARN}`,
    `kms:Decrypt ${KEY_ARN}`,
    `kms:GenerateDataKey* ${KEY_ARN}`,
    // Reads the findings, the due list and the renewals map's results; writes the run's alert list and digest only.
    ...reportObjects(['runs/*/alerts.json', 'runs/*/digest.json']),
  ],
  migrateState: () => [
    ...tableRead,
    ...tableWrite,
    ...tableKey(true),
    ...sealKeys,
    ...['acme', 'certificates', 'pending'].map((area) => `secretsmanager:GetSecretValue ${legacyArn(area)}`),
    `kms:Decrypt ${KEY_ARN}`,
  ],
};

/** Issue 20: the partitions of the state table each function may read and write (dynamodb:LeadingKeys). */
const EXPECTED_PARTITIONS: Record<
  Exclude<FunctionRole, 'slackForwarder'>,
  { read: string[]; write: string[] }
> = {
  check: {
    read: ['pending', 'renewal-info/*', 'inspection-memory'],
    write: ['renewal-info/*', 'inspection-memory'],
  },
  issue: {
    read: ['locks/*', 'certificates/*', 'keys/certificates/*', 'acme', 'keys/acme'],
    write: ['locks/*', 'certificates/*', 'keys/certificates/*', 'acme', 'keys/acme'],
  },
  push: {
    read: ['locks/*', 'certificates/*', 'keys/certificates/*', 'pending', 'pushes/*'],
    write: ['locks/*', 'certificates/*', 'keys/certificates/*', 'pending', 'pushes/*'],
  },
  verify: { read: ['locks/*', 'certificates/*', 'pending'], write: ['locks/*', 'certificates/*', 'pending'] },
  activeActive: { read: ['locks/*', 'pushes/*'], write: ['locks/*', 'pushes/*'] },
  notify: { read: ['locks/*', 'certificates/*'], write: ['locks/*'] },
  migrateState: {
    read: ['acme', 'certificates/*', 'pending', 'migration'],
    write: ['acme', 'keys/acme', 'certificates/*', 'keys/certificates/*', 'pending', 'migration'],
  },
};

/** Issue 20: the private keys each function may open (kms:Decrypt) and seal (kms:GenerateDataKey), by item. */
const EXPECTED_KEY_ITEMS: Record<
  Exclude<FunctionRole, 'slackForwarder'>,
  { open: string[]; seal: string[] }
> = {
  check: { open: [], seal: [] },
  // A key item's encryption context is its partition and sort key: `keys/acme/<account>/<key>`.
  issue: { open: ['keys/certificates/*', 'keys/acme/*'], seal: ['keys/certificates/*', 'keys/acme/*'] },
  push: { open: ['keys/certificates/*'], seal: ['keys/certificates/*'] },
  verify: { open: [], seal: [] },
  activeActive: { open: [], seal: [] },
  notify: { open: [], seal: [] },
  migrateState: { open: [], seal: ['keys/acme/*', 'keys/certificates/*'] },
};

/** Issue 13: what the issuers a config names add to the issue function, and to no other. */
const PCA_ARN =
  'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/11111111-2222-3333-4444-555555555555';
const LAB_KEY_SECRET = 'rs-cert-watchdog/lab-ca-key';
const EAB_SECRET_ARN = 'arn:aws:secretsmanager:us-west-2:123456789012:secret:rs-cert-watchdog/eab-hmac';
const ISSUER_GRANTS = [
  ...['IssueCertificate', 'GetCertificate', 'GetCertificateAuthorityCertificate'].map(
    (a) => `acm-pca:${a} ${PCA_ARN}`,
  ),
  `secretsmanager:GetSecretValue arn:aws:secretsmanager:${TEST_REGION}:${TEST_ACCOUNT}:secret:${LAB_KEY_SECRET}-??????`,
  `secretsmanager:GetSecretValue ${EAB_SECRET_ARN}-??????`,
];

describe('schedule', () => {
  it('starts the state machine with {} on the configured expression and time zone, exactly on time', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: exampleAws.schedule,
      ScheduleExpressionTimezone: exampleAws.timeZone,
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: { Ref: idOf(watchdog.stateMachine) },
        Input: '{}',
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
      }),
    });
  });

  it('uses the schema defaults when the config has no aws section', () => {
    const { template: t } = synthesizeWatchdog({ ...example, aws: undefined });
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 6 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
    });
  });
});

describe('state machine', () => {
  it('is a Standard state machine logging errors only to a vended-logs group, without execution data or tracing', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: Match.objectLike({ Level: 'ERROR', IncludeExecutionData: false }),
    });
    const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    expect(machine?.Properties.TracingConfiguration?.Enabled ?? false).toBe(false);
    const names = Object.values(template.findResources('AWS::Logs::LogGroup'))
      .map((g) => g.Properties.LogGroupName)
      .filter((n) => n !== undefined);
    expect(names).toHaveLength(1);
    const name = JSON.stringify(names[0]);
    expect(name).toContain('/aws/vendedlogs/states/rs-cert-watchdog-RsCertWatchdog-');
    expect(name).toContain('AWS::StackId');
  });
});

describe('alerts', () => {
  const topicId = idOf(watchdog.alertTopic);
  const keyId = idOf(watchdog.key);

  it('encrypts the topic with the rotating key and refuses plain-HTTP publishers', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('lets CloudWatch alarms publish to the encrypted topic', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('subscribes every alerts.emails address', () => {
    for (const email of example.alerts.emails) {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: email,
        TopicArn: { Ref: topicId },
      });
    }
    template.resourcePropertiesCountIs(
      'AWS::SNS::Subscription',
      { Protocol: 'email' },
      example.alerts.emails.length,
    );
  });

  it('has no Slack forwarder or Chatbot channel unless configured', () => {
    expect(watchdog.functions.slackForwarder).toBeUndefined();
    template.resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'lambda' }, 0);
    template.resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 0);
  });

  it('forwards to Slack through the webhook secret, and optionally through AWS Chatbot', () => {
    const { template: t, stack } = synthesizeWatchdog(
      { ...example, alerts: { ...example.alerts, slackWebhookSecret: 'rs-cert-watchdog/slack-webhook' } },
      { slackChannelConfiguration: { slackWorkspaceId: 'T0123456', slackChannelId: 'C0123456789' } },
    );
    const forwarder = stack.watchdog.functions.slackForwarder;
    expect(forwarder).toBeDefined();
    // Through its queue (issue 19): test/cdk/fleet-scale.test.ts has the queue's details.
    t.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      Endpoint: { 'Fn::GetAtt': [idOf(stack.watchdog.slackQueue as never), 'Arn'] },
    });
    t.resourcePropertiesCountIs('AWS::SNS::Subscription', { Protocol: 'lambda' }, 0);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 60,
      ReservedConcurrentExecutions: 1,
      Environment: {
        Variables: Match.objectLike({ SLACK_WEBHOOK_SECRET_ARN: 'rs-cert-watchdog/slack-webhook' }),
      },
    });
    const reads = statementsOf(t, 'slackForwarder', stack.watchdog.functions);
    expect(JSON.stringify(reads)).toContain(':secret:rs-cert-watchdog/slack-webhook-??????');
    expect(actionsOf(reads)).not.toContain('sns:Publish');
    t.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SlackWorkspaceId: 'T0123456',
      SlackChannelId: 'C0123456789',
      SnsTopicArns: [{ Ref: idOf(stack.watchdog.alertTopic) }],
    });
  });
});

describe('alarms and dashboard', () => {
  const topic = { Ref: idOf(watchdog.alertTopic) };
  const machine = [{ Name: 'StateMachineArn', Value: { Ref: idOf(watchdog.stateMachine) } }];
  const heartbeat = () =>
    Object.values(template.findResources('AWS::CloudWatch::Alarm')).find((a) =>
      String(a.Properties.AlarmName).endsWith('-Heartbeat'),
    )?.Properties;

  it('raises the dead man’s switch when no execution succeeded for two days (daily cron)', () => {
    expect(heartbeat()).toMatchObject({
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
      AlarmActions: [topic],
      OKActions: [topic],
    });
    const metrics = heartbeat()?.Metrics as AlarmMetric[];
    const succeeded = metrics.find((m) => m.Id === 'succeeded')?.MetricStat;
    expect(succeeded).toMatchObject({
      Metric: { Namespace: 'AWS/States', MetricName: 'ExecutionsSucceeded', Dimensions: machine },
      Period: 86400,
      Stat: 'Sum',
    });
  });

  it('does not page before the first scheduled run: the deploy publishes one heartbeat datapoint', () => {
    const metrics = heartbeat()?.Metrics as AlarmMetric[];
    expect(metrics.find((m) => m.ReturnData !== false && m.Expression)?.Expression).toBe(
      'SUM([succeeded, deployed])',
    );
    expect(metrics.find((m) => m.Id === 'deployed')?.MetricStat).toMatchObject({
      Metric: { Namespace: 'RsCertWatchdog', MetricName: 'WatchdogDeployed', Dimensions: machine },
      Period: 86400,
    });
    const customs = template.findResources('Custom::AWS');
    const [[customId, custom]] = Object.entries(customs) as [
      [string, { Properties: Record<string, unknown> }],
    ];
    const create = JSON.stringify(custom.Properties.Create);
    expect(create).toContain('putMetricData');
    expect(create).toContain('WatchdogDeployed');
    // Once, on create: an update must not reset a watchdog that has stopped running.
    expect(custom.Properties.Update).toBeUndefined();
    const alarm = Object.values(template.findResources('AWS::CloudWatch::Alarm')).find((a) =>
      String(a.Properties.AlarmName).endsWith('-Heartbeat'),
    );
    expect(alarm?.DependsOn).toContain(customId);
  });

  it('derives the dead man’s switch from a rate() schedule: twice the interval', () => {
    const { template: t } = synthesizeWatchdog({
      ...example,
      aws: { ...exampleAws, schedule: 'rate(6 hours)' },
    });
    const alarm = Object.values(t.findResources('AWS::CloudWatch::Alarm')).find((a) =>
      String(a.Properties.AlarmName).endsWith('-Heartbeat'),
    );
    expect(alarm?.Properties).toMatchObject({ EvaluationPeriods: 1 });
    expect(JSON.stringify(alarm?.Properties.Metrics)).toContain('"Period":43200');
  });

  it('derives it from a weekday cron: twice the weekend gap, so Mondays do not page', () => {
    const { template: t } = synthesizeWatchdog({
      ...example,
      aws: { ...exampleAws, schedule: 'cron(0 6 ? * MON-FRI *)' },
    });
    const alarm = Object.values(t.findResources('AWS::CloudWatch::Alarm')).find((a) =>
      String(a.Properties.AlarmName).endsWith('-Heartbeat'),
    );
    expect(alarm?.Properties).toMatchObject({ EvaluationPeriods: 6, DatapointsToAlarm: 6 });
  });

  it('alarms on any failed or timed-out execution and on any notify error', () => {
    for (const MetricName of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/States',
        MetricName,
        Dimensions: machine,
        Statistic: 'Sum',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
      });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: idOf(watchdog.functions.notify) } }],
      Threshold: 1,
      AlarmActions: [topic],
    });
    // These 4, the schedules' dead-letter queue, and the 7 fleet alarms (test/cdk/fleet-scale.test.ts).
    template.resourceCountIs('AWS::CloudWatch::Alarm', 12);
  });

  it('graphs the fleet, the soonest expiries, renewals, failures and executions', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    // No per-cluster or per-certificate series any more (issue 19): fleet metrics and a log table.
    expect(body).not.toContain('SEARCH(');
    // Dimension names appear quoted: the fleet metrics' one dimension is there, no Cluster.
    expect(body).toContain('\\"service\\"');
    expect(body).not.toContain('\\"Cluster\\"');
    expect(body).not.toContain('\\"Certificate\\"');
    for (const name of [
      'MinDaysLeft',
      'CertificatesExpired',
      'CertificatesRenewed',
      'RenewalFailures',
      'OrdersDeferred',
    ])
      expect(body).toContain(`\\"${name}\\"`);
    expect(body).toContain('filter ispresent(CertificateDaysLeft)');
    expect(body).toContain('ExecutionsSucceeded');
  });
});

describe('functions', () => {
  const roles: Record<Exclude<FunctionRole, 'slackForwarder'>, { timeout: number; memory: number }> = {
    check: { timeout: 120, memory: 256 },
    issue: { timeout: STEP_TIMEOUTS.issue.toSeconds(), memory: 1769 },
    push: { timeout: 60, memory: 256 },
    verify: { timeout: 60, memory: 256 },
    activeActive: { timeout: STEP_TIMEOUTS.activeActive.toSeconds(), memory: 256 },
    notify: { timeout: STEP_TIMEOUTS.notify.toSeconds(), memory: 256 },
    migrateState: { timeout: STEP_TIMEOUTS.migrateState.toSeconds(), memory: 256 },
  };

  /** CDK's BucketDeployment handler (issue 19: it writes config/clusters.json at deploy): CDK's own Python function. */
  const deploymentHandlerId = logicalIdOf(
    (watchdog.node.findChild('Reports').node.findChild('ClusterList') as BucketDeployment).handlerRole.node
      .scope?.node.defaultChild as CfnElement,
  );

  it('run Node.js 24 on arm64 (the deploy-time heartbeat provider too)', () => {
    const all = template.findResources('AWS::Lambda::Function');
    expect(Object.keys(all)).toHaveLength(9);
    const { [deploymentHandlerId]: deployment, ...ours } = all;
    // Every function of ours and the custom resource providers we configure run Node.js 24.
    for (const fn of Object.values(ours)) expect(fn.Properties.Runtime).toBe('nodejs24.x');
    // CDK's BucketDeployment handler is a Python function whose runtime CDK picks (acknowledged in
    // lib/nag.ts, AwsSolutions-L1); it runs at deploy only, on arm64, with the memory we give it.
    expect(deployment?.Properties).toMatchObject({
      Runtime: expect.stringMatching(/^python3\./),
      Architectures: ['arm64'],
      MemorySize: 256,
    });
    for (const role of Object.keys(roles) as FunctionRole[]) {
      const fn = template.findResources('AWS::Lambda::Function')[idOf(watchdog.functions[role] as never)];
      expect(fn?.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
      });
    }
  });

  it('have the memory and timeout of their work', () => {
    for (const [role, { timeout, memory }] of Object.entries(roles)) {
      const fn =
        template.findResources('AWS::Lambda::Function')[
          idOf(watchdog.functions[role as FunctionRole] as never)
        ];
      expect(fn?.Properties, role).toMatchObject({ Timeout: timeout, MemorySize: memory });
    }
  });

  it('give check (only) the Parameters and Secrets extension it reads cluster credentials through', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    for (const role of Object.keys(roles) as FunctionRole[]) {
      const layers = JSON.stringify(
        functions[idOf(watchdog.functions[role] as never)]?.Properties.Layers ?? [],
      );
      expect(layers.includes('ParamsandsecretslayerMap'), role).toBe(role === 'check');
    }
    template.hasMapping('ParamsandsecretslayerMap', {
      'eu-west-3': {
        '1x0x103xarm64': Match.stringLikeRegexp('AWS-Parameters-and-Secrets-Lambda-Extension-Arm64'),
      },
    });
  });

  it('find the config in the bundle, the state table, the key and the topic in their environment', () => {
    for (const role of Object.keys(roles)) {
      const fn =
        template.findResources('AWS::Lambda::Function')[
          idOf(watchdog.functions[role as FunctionRole] as never)
        ];
      const variables = fn?.Properties.Environment.Variables;
      // The config is beside the code in the bundle: no variable names it.
      expect(variables.WATCHDOG_CONFIG_FILE).toBeUndefined();
      // Only MigrateState reads the state secrets of version 0.1.
      expect(variables.STATE_SECRET_PREFIX, role).toBe(
        role === 'migrateState' ? `rs-cert-watchdog/${TEST_STACK_NAME}` : undefined,
      );
      expect(variables).toMatchObject({
        STATE_TABLE_NAME: { Ref: idOf(watchdog.stateTable) },
        STATE_KMS_KEY_ID: { 'Fn::GetAtt': [idOf(watchdog.key), 'Arn'] },
        ALERT_TOPIC_ARN: { Ref: idOf(watchdog.alertTopic) },
        POWERTOOLS_SERVICE_NAME: 'rs-cert-watchdog',
        POWERTOOLS_METRICS_NAMESPACE: 'RsCertWatchdog',
        NODE_OPTIONS: '--enable-source-maps',
      });
    }
  });

  it('keep their logs, and the state machine’s, for a year', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    // The functions', the state machine's, the two deploy-time custom resources' (heartbeat, fleet
    // alarms), and CDK's BucketDeployment handler's (the cluster list).
    expect(groups).toHaveLength(11);
    const deployment = template.findResources('AWS::Lambda::Function')[deploymentHandlerId];
    expect(deployment?.Properties.LoggingConfig?.LogGroup).toEqual({
      Ref: logicalIdOf(
        watchdog.node.findChild('Reports').node.findChild('ClusterListLogs').node.defaultChild as CfnElement,
      ),
    });
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(365);
  });

  it('leave the config out of the template (it travels in the bundle)', () => {
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toContain('cluster.east.redis.example.com');
    expect(text).not.toContain(example.acme?.email);
  });
});

describe('permissions', () => {
  const all = (Object.keys(watchdog.functions) as FunctionRole[]).flatMap((role) =>
    statementsOf(template, role),
  );

  it('never grant a whole service or all secrets', () => {
    for (const s of all) {
      for (const action of list(s.Action)) expect(action).not.toMatch(/^(\*|[a-z0-9-]+:\*)$/);
      if (list(s.Action).some((a) => a.startsWith('secretsmanager:'))) {
        expect(list(s.Resource)).not.toContain('*');
      }
    }
    const text = JSON.stringify(template.toJSON());
    for (const unused of [
      'secretsmanager:PutSecretValue',
      'secretsmanager:CreateSecret',
      'secretsmanager:DeleteSecret',
      'secretsmanager:DescribeSecret',
      'dynamodb:Scan',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:DeleteTable',
    ]) {
      expect(text).not.toContain(unused);
    }
    // kms:Encrypt only as DynamoDB asks it, for the table's encryption at rest.
    for (const st of all.filter((x) => list(x.Action).includes('kms:Encrypt')))
      expect(resolved(st.Condition)).toEqual({
        StringEquals: { 'kms:ViaService': `dynamodb.${TEST_REGION}.amazonaws.com` },
      });
  });

  it('give each function exactly its actions on exactly its resources', () => {
    const zone = (example.dns as { hostedZoneId: string }).hostedZoneId;
    for (const role of [
      'check',
      'issue',
      'push',
      'verify',
      'activeActive',
      'notify',
      'migrateState',
    ] as const) {
      expect(grantsOf(template, role), role).toEqual(EXPECTED_GRANTS[role](zone).sort());
    }
  });

  it('let the report bucket’s objects be encrypted and read with the stack key through S3 only', () => {
    for (const role of ['check', 'notify'] as const) {
      const s3Key = statementsOf(template, role).filter(
        (st) => list(st.Action).includes('kms:GenerateDataKey') && !st.Condition?.['ForAllValues:StringLike'],
      );
      const viaS3 = s3Key.filter(
        (st) =>
          JSON.stringify(resolved(st.Condition)) ===
          JSON.stringify({ StringEquals: { 'kms:ViaService': `s3.${TEST_REGION}.amazonaws.com` } }),
      );
      expect(viaS3, role).toHaveLength(1);
      expect(list(viaS3[0]?.Action).sort(), role).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    }
    for (const role of ['issue', 'push', 'verify', 'activeActive', 'migrateState'] as const)
      expect(JSON.stringify(statementsOf(template, role)), role).not.toContain('s3:');
  });

  it('let the state machine read the due lists and write the maps’ results in the report bucket, and nothing else of S3', () => {
    const roleId = logicalIdOf(watchdog.stateMachine.role.node.defaultChild as CfnElement);
    const grants = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
      .filter((st) => st.Effect === 'Allow')
      .flatMap((st) =>
        list(st.Action)
          .filter((a) => a.startsWith('s3:') || a.startsWith('kms:'))
          .flatMap((a) => list(resolved(st.Resource) as string | string[]).map((r) => `${a} ${r}`)),
      )
      .sort();
    expect(grants).toEqual(
      [
        // Ours (grantObjects): the renewals map's ItemReader reads runs/<run>/due.json, whose key is in the state.
        ...reportObjects(['runs/*']),
        // CDK's, for the ResultWriters (multipart) and the check map's ItemReader (config/clusters.json).
        ...['AbortMultipartUpload', 'GetObject', 'ListMultipartUploadParts', 'PutObject'].map(
          (a) => `s3:${a} ${BUCKET_ARN}/*`,
        ),
      ].sort(),
    );
  });

  it('give each function exactly its partitions of the state table (dynamodb:LeadingKeys)', () => {
    for (const role of Object.keys(EXPECTED_PARTITIONS) as Array<keyof typeof EXPECTED_PARTITIONS>) {
      const table = statementsOf(template, role).filter((st) =>
        list(st.Action).some((a) => a.startsWith('dynamodb:')),
      );
      const partitions = (action: string) =>
        table
          .filter((st) => list(st.Action).includes(action))
          .flatMap((st) => {
            const like = (st.Condition?.['ForAllValues:StringLike'] ?? {}) as Record<string, string[]>;
            expect(like['dynamodb:LeadingKeys'], `${role} ${action} without LeadingKeys`).toBeDefined();
            return like['dynamodb:LeadingKeys'] ?? [];
          })
          .sort();
      const expected = EXPECTED_PARTITIONS[role];
      for (const action of ['dynamodb:GetItem', 'dynamodb:Query'])
        expect(partitions(action), `${role} ${action}`).toEqual([...expected.read].sort());
      for (const action of ['dynamodb:PutItem', 'dynamodb:DeleteItem'])
        expect(partitions(action), `${role} ${action}`).toEqual([...expected.write].sort());
    }
  });

  it('let only issue, push and migrateState use private keys, each only the key items it needs', () => {
    for (const role of Object.keys(EXPECTED_KEY_ITEMS) as Array<keyof typeof EXPECTED_KEY_ITEMS>) {
      const kms = statementsOf(template, role).filter((st) =>
        list(st.Action).some((a) => a.startsWith('kms:')),
      );
      const items = (action: string) =>
        kms
          .filter((st) => list(st.Action).includes(action))
          .flatMap((st) => {
            const condition = resolved(st.Condition) as Record<string, Record<string, unknown>>;
            // Every other use of the key goes through a service: DynamoDB (the table), SNS (the topic),
            // Secrets Manager (the secrets of version 0.1).
            if (condition.StringEquals?.['kms:ViaService']) return [];
            const context = condition.StringLike?.['kms:EncryptionContext:rs-cert-watchdog-key'];
            expect(context, `${role}: ${action} neither through a service nor for key items`).toBeDefined();
            return list(context as string | string[]);
          })
          .sort();
      expect(items('kms:Decrypt'), `${role} opens`).toEqual([...EXPECTED_KEY_ITEMS[role].open].sort());
      expect(items('kms:GenerateDataKey'), `${role} seals`).toEqual(
        [...EXPECTED_KEY_ITEMS[role].seal].sort(),
      );
    }
  });

  it('let the table keep the keys: on demand, point-in-time recovery, the stack key, TTL, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: {
          SSEEnabled: true,
          SSEType: 'KMS',
          KMSMasterKeyId: { 'Fn::GetAtt': [idOf(watchdog.key), 'Arn'] },
        },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        DeletionProtectionEnabled: true,
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    // The tests create the same table in dynalite (lambdas/adapters/dynamodb/schema.ts).
    const table = Object.values(template.findResources('AWS::DynamoDB::Table'))[0]!;
    const definition = stateTableDefinition('t');
    expect(table.Properties.KeySchema).toEqual(definition.KeySchema);
    expect(table.Properties.AttributeDefinitions).toEqual(definition.AttributeDefinitions);
  });

  it('read the state secrets of version 0.1 from MigrateState only, and not at all without it', () => {
    for (const role of Object.keys(watchdog.functions) as FunctionRole[])
      expect(
        JSON.stringify(resolved(statementsOf(template, role))).includes(`${TEST_STACK_NAME}/certificates/`),
        role,
      ).toBe(role === 'migrateState');
    const { template: t, stack } = synthesizeWatchdog(exampleFile, { migrateLegacyState: false });
    expect(stack.watchdog.functions.migrateState).toBeUndefined();
    expect(JSON.stringify(t.toJSON())).not.toContain(`${TEST_STACK_NAME}/certificates/`);
    const machine = Object.values(t.findResources('AWS::StepFunctions::StateMachine'))[0]!;
    expect(JSON.stringify(machine.Properties.DefinitionString)).not.toContain('MigrateState');
  });

  it('give issue, and no other function, the issuers of the config: the CA, the CA key, the EAB key', async () => {
    const caDir = mkdtempSync(join(tmpdir(), 'watchdog-issuers-'));
    writeFileSync(join(caDir, 'lab-ca.pem'), (await createCa({ keyKind: 'ecdsa' })).certPem);
    const [east, west] = example.clusters as [
      WatchdogConfig['clusters'][number],
      WatchdogConfig['clusters'][number],
    ];
    const config: WatchdogConfig = {
      ...example,
      acme: {
        ...(example.acme as NonNullable<WatchdogConfig['acme']>),
        eab: { kid: 'kid-1', hmacKeySecret: EAB_SECRET_ARN },
      },
      clusters: [
        {
          ...east,
          certificates: {
            ...east.certificates,
            syncer: {
              domains: ['syncer.example.com'],
              issuer: { type: 'aws-private-ca', certificateAuthorityArn: PCA_ARN, validityDays: 30 },
            },
            // The same CA twice is one grant.
            ldap_client: {
              domains: ['ldap.example.com'],
              issuer: { type: 'aws-private-ca', certificateAuthorityArn: PCA_ARN, validityDays: 7 },
            },
          },
        },
        {
          ...west,
          certificates: {
            ...west.certificates,
            syncer: {
              domains: ['syncer.west.example.com'],
              issuer: {
                type: 'local-ca',
                certFile: join(caDir, 'lab-ca.pem'),
                keySecret: LAB_KEY_SECRET,
                validityDays: 6,
              },
            },
          },
        },
      ],
    };
    const { template: t, stack } = synthesizeWatchdog(config);
    const zone = (example.dns as { hostedZoneId: string }).hostedZoneId;
    for (const role of ['check', 'issue', 'push', 'verify', 'notify'] as const) {
      const expected = [...EXPECTED_GRANTS[role](zone), ...(role === 'issue' ? ISSUER_GRANTS : [])];
      expect(grantsOf(t, role, stack.watchdog.functions), role).toEqual(expected.sort());
    }
  });

  it('keep the ACME account (and its key) from every function but issue and the migration', () => {
    for (const role of ['check', 'push', 'verify', 'activeActive', 'notify'] as const) {
      expect(JSON.stringify(statementsOf(template, role)), role).not.toMatch(/"acme"|keys\/acme/);
    }
  });

  it('let only notify publish to the topic', () => {
    for (const role of Object.keys(watchdog.functions) as FunctionRole[]) {
      expect(actionsOf(statementsOf(template, role)).includes('sns:Publish'), role).toBe(role === 'notify');
    }
  });

  it('grant an operator read, or read and write, on every item of the state table and its keys', () => {
    const s = new WatchdogStack(new App({ context: testContext() }), TEST_STACK_NAME, {
      configFile: exampleFile,
    });
    const operator = new iam.Role(s, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
    const read = s.watchdog.grantStateRead(operator);
    const readWrite = s.watchdog.grantStateReadWrite(operator);
    expect(read.success && readWrite.success).toBe(true);
    const t = Template.fromStack(s);
    const policy = Object.values(t.findResources('AWS::IAM::Policy')).find((p) =>
      JSON.stringify(p.Properties.Roles).includes(logicalIdOf(operator.node.defaultChild as CfnElement)),
    );
    const grants = ((policy?.Properties.PolicyDocument.Statement ?? []) as Statement[]).flatMap((st) =>
      list(st.Action).flatMap((a) =>
        list(resolved(st.Resource) as string | string[]).map((r) => `${a} ${r}`),
      ),
    );
    expect([...new Set(grants)].sort()).toEqual(
      [
        ...['GetItem', 'Query', 'Scan', 'PutItem', 'DeleteItem'].map((a) => `dynamodb:${a} ${TABLE_ARN}`),
        ...['Decrypt', 'DescribeKey', 'Encrypt', 'GenerateDataKey'].map((a) => `kms:${a} ${KEY_ARN}`),
      ].sort(),
    );
  });
});

describe('VPC', () => {
  const vpc = {
    vpcId: 'vpc-0123456789abcdef0',
    subnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
    securityGroupIds: ['sg-0123456789abcdef0'],
  };

  it('places the functions that talk to the clusters in the configured subnets, without lookups', () => {
    const { app, template: t, stack } = synthesizeWatchdog({ ...example, aws: { ...exampleAws, vpc } });
    expect(app.synth().manifest.missing).toBeUndefined();
    const functions = t.findResources('AWS::Lambda::Function');
    for (const role of ['check', 'push', 'verify', 'notify'] as const) {
      expect(functions[idOf(stack.watchdog.functions[role])]?.Properties.VpcConfig, role).toEqual({
        SubnetIds: vpc.subnetIds,
        SecurityGroupIds: vpc.securityGroupIds,
      });
    }
    // ACME and Route 53 are on the internet: the issue function needs no NAT.
    expect(functions[idOf(stack.watchdog.functions.issue)]?.Properties.VpcConfig).toBeUndefined();
    t.resourceCountIs('AWS::EC2::SecurityGroup', 0);
  });

  it('creates one outbound-only security group when none is configured', () => {
    const { template: t } = synthesizeWatchdog({
      ...example,
      aws: { ...exampleAws, vpc: { ...vpc, securityGroupIds: [] } },
    });
    t.resourceCountIs('AWS::EC2::SecurityGroup', 1);
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      VpcId: vpc.vpcId,
      SecurityGroupIngress: Match.absent(),
    });
  });
});

describe('config rejected at synth', () => {
  const [east, west] = example.clusters as [
    WatchdogConfig['clusters'][number],
    WatchdogConfig['clusters'][number],
  ];

  it('refuses passwords and clusters without credentialsSecret', () => {
    const config: WatchdogConfig = {
      ...example,
      clusters: [
        { ...east, credentialsSecret: undefined, username: 'admin', password: 'hunter2' },
        { ...west, credentialsSecret: undefined, username: 'admin', passwordEnv: 'WEST_PASSWORD' },
      ],
    };
    expect(() => synthesizeWatchdog(config)).toThrow(
      [
        'the configuration cannot be deployed:',
        '  clusters["prod-east"].password: not allowed in AWS mode; use credentialsSecret',
        '  clusters["prod-east"].credentialsSecret: required in AWS mode (a Secrets Manager secret name or ARN)',
        '  clusters["prod-west"].passwordEnv: not allowed in AWS mode; use credentialsSecret',
        '  clusters["prod-west"].credentialsSecret: required in AWS mode (a Secrets Manager secret name or ARN)',
      ].join('\n'),
    );
  });

  it('refuses a config file with a password', () => {
    const dir = mkdtempSync(join(tmpdir(), 'watchdog-stack-test-'));
    const file = join(dir, 'config.json');
    const cluster = { name: 'prod-east', endpoint: east.endpoint, username: 'admin', password: 'hunter2' };
    writeFileSync(file, JSON.stringify({ clusters: [cluster] }));
    expect(() => synthesizeWatchdog(file)).toThrow(
      /clusters\["prod-east"\]\.password: not allowed in AWS mode/,
    );
  });

  it('refuses an EAB key in the bundle (hmacKey, hmacKeyEnv): it must come from hmacKeySecret', () => {
    const acme = example.acme as NonNullable<WatchdogConfig['acme']>;
    for (const [field, value] of [
      ['hmacKey', 'c2VjcmV0'],
      ['hmacKeyEnv', 'EAB_HMAC_KEY'],
    ] as const) {
      const config = { ...example, acme: { ...acme, eab: { kid: 'kid-1', [field]: value } } };
      expect(() => synthesizeWatchdog(config), field).toThrow(
        `acme.eab.${field}: not allowed in AWS mode (the EAB key would ship in the bundle); use acme.eab.hmacKeySecret`,
      );
    }
    const fromSecret = { ...example, acme: { ...acme, eab: { kid: 'kid-1', hmacKeySecret: 'eab' } } };
    const { stack } = synthesizeWatchdog(fromSecret);
    expect(AssertionAnnotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  it("refuses a local CA's keyFile (the CA key would ship in the bundle): it must come from keySecret", () => {
    const config: WatchdogConfig = {
      ...example,
      clusters: [
        {
          ...east,
          certificates: {
            syncer: {
              domains: ['syncer.example.com'],
              issuer: { type: 'local-ca', certFile: 'ca.pem', keyFile: 'ca.key', validityDays: 6 },
            },
          },
        },
        west,
      ],
    };
    expect(() => synthesizeWatchdog(config)).toThrow(
      'clusters["prod-east"].certificates.syncer.issuer.keyFile: not allowed in AWS mode',
    );
  });

  it('refuses a Slack webhook URL (a credential) in the bundle', () => {
    const config = {
      ...example,
      alerts: { ...example.alerts, slackWebhookUrl: 'https://hooks.slack.com/services/x' },
    };
    expect(() => synthesizeWatchdog(config)).toThrow(/alerts\.slackWebhookUrl: not allowed in AWS mode/);
  });
});

describe('stack outputs', () => {
  it('gives the operator the state machine, the topic, the dashboard and the state prefix', () => {
    const { template } = synthesizeWatchdog('config.example.json');
    const outputs = Object.keys(template.toJSON().Outputs ?? {});
    expect(outputs).toEqual(
      expect.arrayContaining([
        'RenewalStateMachineArn',
        'AlertTopicArn',
        'DashboardName',
        'StateSecretPrefix',
        'StateTableName',
      ]),
    );
  });
});

describe('DNS-01 grants and bounds follow the providers the config names', () => {
  const base = example as WatchdogConfig;
  const withDns = (dns: WatchdogConfig['dns'], extra: Partial<WatchdogConfig> = {}): WatchdogConfig => ({
    ...base,
    dns,
    ...extra,
  });
  const route53 = (extra: Record<string, unknown> = {}) =>
    ({
      provider: 'route53',
      privateZone: false,
      followCnames: true,
      propagationTimeoutSeconds: 120,
      ...extra,
    }) as never;
  const dnsGrants = (t: Template, functions: typeof watchdog.functions) =>
    grantsOf(t, 'issue', functions).filter((g) => g.startsWith('route53:') || g.includes('dns/'));
  const conditionsOf = (t: Template, functions: typeof watchdog.functions) =>
    statementsOf(t, 'issue', functions)
      .filter((s) => list(s.Action).includes('route53:ChangeResourceRecordSets'))
      .map((s) => s.Condition);

  it('zone discovery: any zone of the account (TXT _acme-challenge.* only) and ListHostedZonesByName', () => {
    const { template: t, stack } = synthesizeWatchdog(withDns(route53()));
    expect(dnsGrants(t, stack.watchdog.functions)).toEqual(
      [
        'route53:ChangeResourceRecordSets arn:aws:route53:::hostedzone/*',
        'route53:ListResourceRecordSets arn:aws:route53:::hostedzone/*',
        'route53:GetChange arn:aws:route53:::change/*',
        'route53:ListHostedZonesByName *',
      ].sort(),
    );
    expect(conditionsOf(t, stack.watchdog.functions)).toEqual([
      {
        'ForAllValues:StringLike': {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_acme-challenge.*'],
        },
        'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
      },
    ]);
    for (const role of ['check', 'push', 'verify', 'activeActive', 'notify'] as const)
      expect(
        actionsOf(statementsOf(t, role, stack.watchdog.functions)).filter((a) => a.startsWith('route53:')),
        role,
      ).toEqual([]);
  });

  it('hostedZoneIds (and every route53 provider of every level): only those zones', () => {
    const [east, west] = base.clusters as [
      WatchdogConfig['clusters'][number],
      WatchdogConfig['clusters'][number],
    ];
    const config = withDns(route53({ hostedZoneIds: ['ZB', 'ZA'] }), {
      clusters: [{ ...east, dns: route53({ hostedZoneId: 'ZC', zones: ['east.example.com'] }) }, west],
    });
    const { template: t, stack } = synthesizeWatchdog(config);
    expect(dnsGrants(t, stack.watchdog.functions)).toEqual(
      [
        ...['ZA', 'ZB', 'ZC'].flatMap((z) => [
          `route53:ChangeResourceRecordSets arn:aws:route53:::hostedzone/${z}`,
          `route53:ListResourceRecordSets arn:aws:route53:::hostedzone/${z}`,
        ]),
        'route53:GetChange arn:aws:route53:::change/*',
        'route53:ListHostedZonesByName *',
      ].sort(),
    );
  });

  it('rfc2136 and httpreq secrets: issue alone reads them; no Route 53 at all; issue joins the VPC for an rfc2136 nameserver', () => {
    const config = withDns(
      [
        {
          provider: 'rfc2136',
          nameserver: '10.0.0.53:53',
          tsigKeyName: 'watchdog',
          tsigAlgorithm: 'hmac-sha256',
          tsigSecretSecret: 'rs-cert-watchdog/dns/tsig',
          followCnames: true,
          propagationTimeoutSeconds: 600,
          zones: ['corp.example.com'],
        },
        {
          provider: 'httpreq',
          endpoint: 'https://dns-api.example.com',
          username: 'lego',
          passwordSecret: 'rs-cert-watchdog/dns/httpreq',
          followCnames: true,
          propagationTimeoutSeconds: 120,
        },
      ],
      {
        aws: {
          ...(base.aws as NonNullable<WatchdogConfig['aws']>),
          vpc: {
            vpcId: 'vpc-0123456789abcdef0',
            subnetIds: ['subnet-0aaaaaaaaaaaaaaa1'],
            securityGroupIds: [],
          },
        },
      },
    );
    const { template: t, stack } = synthesizeWatchdog(config);
    const functions = stack.watchdog.functions;
    expect(dnsGrants(t, functions)).toEqual(
      ['rs-cert-watchdog/dns/httpreq', 'rs-cert-watchdog/dns/tsig'].map(
        (name) =>
          `secretsmanager:GetSecretValue arn:aws:secretsmanager:${TEST_REGION}:${TEST_ACCOUNT}:secret:${name}-??????`,
      ),
    );
    for (const role of ['check', 'push', 'verify', 'activeActive', 'notify'] as const)
      expect(JSON.stringify(statementsOf(t, role, functions)), role).not.toContain('dns/');
    const issue =
      t.findResources('AWS::Lambda::Function')[logicalIdOf(functions.issue.node.defaultChild as CfnElement)];
    // The longest propagation wait the config allows (600 s) sets the timeout, under Lambda's 900 s.
    expect(issue?.Properties.Timeout).toBe(Math.ceil(issueTimeoutMs(600_000) / 1000));
    expect(issue?.Properties.Timeout).toBeLessThanOrEqual(900);
    expect(issue?.Properties.VpcConfig?.SubnetIds).toEqual(['subnet-0aaaaaaaaaaaaaaa1']);
    expect(actionsOf(statementsOf(t, 'issue', functions)).filter((a) => a.startsWith('route53:'))).toEqual(
      [],
    );
  });
});
