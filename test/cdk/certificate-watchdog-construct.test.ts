import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CfnElement } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { WatchdogConfig } from '../../lambdas/domain/config';
import { loadConfig } from '../../lambdas/domain/config-schema';
import { logicalIdOf } from '../../lib/certificate-watchdog';
import { STATE_NAMES, TRANSIENT_LAMBDA_ERRORS } from '../../lib/workflow';
import {
  type AslState,
  type FunctionRole,
  synthesizedDefinition,
  synthesizeWatchdog,
  TEST_STACK_NAME,
  testFunctionArn,
} from '../support/synthesized-definition';

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
  const asl = synthesizedDefinition(exampleFile);
  const state = (name: string): AslState => {
    const found = asl.States[name];
    if (!found) throw new Error(`no state ${name}`);
    return found;
  };
  const renewDue = state(STATE_NAMES.renewDue);
  const iteration = renewDue.ItemProcessor?.States ?? {};
  const inner = (name: string): AslState => {
    const found = iteration[name];
    if (!found) throw new Error(`no state ${name} in the Map`);
    return found;
  };

  it('is a Standard state machine logging errors only, without execution data or tracing', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: Match.objectLike({ Level: 'ERROR', IncludeExecutionData: false }),
    });
    const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    expect(machine?.Properties.TracingConfiguration?.Enabled ?? false).toBe(false);
    expect(asl.TimeoutSeconds).toBe(7200);
  });

  it('checks, reports findings, then renews each due certificate', () => {
    expect(asl.StartAt).toBe('Check');
    expect(state('Check')).toMatchObject({
      Type: 'Task',
      Resource: testFunctionArn('check'),
      Next: 'HasFindings',
    });
    expect(state('HasFindings')).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.hasFindings', BooleanEquals: true, Next: 'NotifyFindings' }],
      Default: 'RenewDue',
    });
    expect(state('NotifyFindings')).toMatchObject({
      Type: 'Task',
      Resource: testFunctionArn('notify'),
      Parameters: { 'alerts.$': '$.findings' },
      ResultPath: null,
      Next: 'RenewDue',
    });
    expect(renewDue).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.due',
      MaxConcurrency: exampleAws.mapConcurrency,
      ResultPath: null,
      Next: 'Done',
    });
    expect(state('Done').Type).toBe('Succeed');
  });

  it('runs Issue → Push → Verify → NotifyRenewed in each iteration', () => {
    expect(renewDue.ItemProcessor?.StartAt).toBe('Issue');
    expect(inner('Issue')).toMatchObject({ Resource: testFunctionArn('issue'), Next: 'Push' });
    expect(inner('Push')).toMatchObject({ Resource: testFunctionArn('push'), Next: 'Verify' });
    expect(inner('Verify')).toMatchObject({ Resource: testFunctionArn('verify'), Next: 'NotifyRenewed' });
    expect(inner('NotifyRenewed')).toMatchObject({
      Resource: testFunctionArn('notify'),
      Parameters: { 'renewed.$': '$' },
      End: true,
    });
  });

  it('catches every failure of a renewal step into NotifyFailed, which ends the iteration', () => {
    for (const name of ['Issue', 'Push', 'Verify', 'NotifyRenewed']) {
      expect(inner(name).Catch, name).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'NotifyFailed' },
      ]);
    }
    expect(inner('NotifyFailed')).toMatchObject({
      Type: 'Task',
      Resource: testFunctionArn('notify'),
      Parameters: { failed: { 'item.$': '$', 'error.$': '$.error' } },
      Next: 'FailureReported',
    });
    expect(inner('FailureReported').Type).toBe('Succeed');
  });

  it("retries Push on a 409 with the config's pushRetry first, then on transient Lambda errors", () => {
    const retry = inner('Push').Retry ?? [];
    expect(retry[0]).toEqual({
      ErrorEquals: ['NodesNotUpdatedError'],
      IntervalSeconds: example.pushRetry.intervalSeconds,
      BackoffRate: example.pushRetry.backoffRate,
      MaxDelaySeconds: example.pushRetry.maxDelaySeconds,
      MaxAttempts: example.pushRetry.maxAttempts,
      JitterStrategy: example.pushRetry.jitter,
    });
    expect(retry[1]).toEqual({
      ErrorEquals: TRANSIENT_LAMBDA_ERRORS,
      IntervalSeconds: 2,
      MaxAttempts: 3,
      BackoffRate: 2,
    });
    expect(retry).toHaveLength(2);
  });

  it('rounds the push retry to what Step Functions accepts (whole seconds, at least 1)', () => {
    const retry = synthesizedDefinition({
      ...example,
      pushRetry: {
        maxAttempts: 2,
        intervalSeconds: 0.5,
        backoffRate: 1.5,
        maxDelaySeconds: 0,
        jitter: 'NONE',
      },
    }).States.RenewDue?.ItemProcessor?.States.Push?.Retry?.[0];
    expect(retry).toEqual({
      ErrorEquals: ['NodesNotUpdatedError'],
      IntervalSeconds: 1,
      BackoffRate: 1.5,
      MaxDelaySeconds: 1,
      MaxAttempts: 2,
      JitterStrategy: 'NONE',
    });
  });

  it('retries Issue while another execution holds the lock', () => {
    expect(inner('Issue').Retry?.[0]).toEqual({
      ErrorEquals: ['StateLockedError'],
      IntervalSeconds: 30,
      MaxAttempts: 3,
      BackoffRate: 2,
    });
    expect(inner('Issue').Retry?.[1]?.ErrorEquals).toEqual(TRANSIENT_LAMBDA_ERRORS);
  });

  it('invokes only our functions, directly (payload only), in JSONPath', () => {
    const tasks = [...Object.values(asl.States), ...Object.values(iteration)].filter(
      (s) => s.Type === 'Task',
    );
    expect(tasks).toHaveLength(7);
    const arns = (['check', 'issue', 'push', 'verify', 'notify'] as const).map(testFunctionArn);
    for (const task of tasks) expect(arns).toContain(task.Resource);
    expect(JSON.stringify(asl)).not.toMatch(/JSONata|Arguments|lambda:invoke/);
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
    t.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      Endpoint: { 'Fn::GetAtt': [idOf(forwarder as never), 'Arn'] },
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 30,
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

  it('raises the dead man’s switch when no execution succeeded for two days (cron schedule)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsSucceeded',
      Dimensions: machine,
      Statistic: 'Sum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      Period: 86400,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
      AlarmActions: [topic],
      OKActions: [topic],
    });
  });

  it('derives the dead man’s switch from a rate() schedule: twice the interval', () => {
    const { template: t } = synthesizeWatchdog({
      ...example,
      aws: { ...exampleAws, schedule: 'rate(6 hours)' },
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsSucceeded',
      Period: 12 * 3600,
      EvaluationPeriods: 1,
    });
  });

  it('alarms on any failed or timed-out execution', () => {
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
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
  });

  it('graphs days left, renewals, failures and executions', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    expect(body).toContain(
      `SEARCH('{RsCertWatchdog,service,Cluster,Certificate} MetricName=\\\\\\"DaysLeft\\\\\\"', 'Minimum', 3600)`,
    );
    expect(body).toContain('{RsCertWatchdog,service,Cluster} MetricName=\\\\\\"CertificatesRenewed\\\\\\"');
    expect(body).toContain('{RsCertWatchdog,service,Cluster} MetricName=\\\\\\"RenewalFailures\\\\\\"');
    expect(body).toContain('ExecutionsSucceeded');
  });
});

describe('functions', () => {
  const roles: Record<Exclude<FunctionRole, 'slackForwarder'>, { timeout: number; memory: number }> = {
    check: { timeout: 120, memory: 256 },
    issue: { timeout: 300, memory: 1769 },
    push: { timeout: 60, memory: 256 },
    verify: { timeout: 60, memory: 256 },
    notify: { timeout: 30, memory: 256 },
  };

  it('run Node.js 22 on arm64', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(5);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
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

  it('find the config in the bundle, the state prefix, the key and the topic in their environment', () => {
    for (const role of Object.keys(roles)) {
      const fn =
        template.findResources('AWS::Lambda::Function')[
          idOf(watchdog.functions[role as FunctionRole] as never)
        ];
      expect(fn?.Properties.Environment.Variables).toMatchObject({
        WATCHDOG_CONFIG_FILE: '/var/task/watchdog-config.json',
        STATE_SECRET_PREFIX: `rs-cert-watchdog/${TEST_STACK_NAME}`,
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
    expect(groups).toHaveLength(6);
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
  const statePattern = `:secret:rs-cert-watchdog/${TEST_STACK_NAME}/*`;

  it('never grant a whole service or all secrets', () => {
    for (const s of all) {
      for (const action of list(s.Action)) expect(action).not.toMatch(/^(\*|[a-z0-9-]+:\*)$/);
      if (list(s.Action).some((a) => a.startsWith('secretsmanager:'))) {
        expect(list(s.Resource)).not.toContain('*');
      }
    }
  });

  it('scope the state to the stack’s prefix: issue may delete (locks), push writes, verify and notify read', () => {
    const stateActions = (role: FunctionRole) =>
      statementsOf(template, role)
        .filter((s) => JSON.stringify(s.Resource).includes(statePattern))
        .flatMap((s) => list(s.Action))
        .sort();
    const read = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'];
    const write = [
      ...read,
      'secretsmanager:CreateSecret',
      'secretsmanager:PutSecretValue',
      'secretsmanager:TagResource',
    ];
    expect(stateActions('issue')).toEqual([...write].sort());
    expect(JSON.stringify(template.toJSON())).not.toContain('secretsmanager:DeleteSecret');
    expect(stateActions('push')).toEqual(write.sort());
    expect(stateActions('verify')).toEqual(write.sort()); // records verifiedAt
    expect(stateActions('notify')).toEqual(read);
    expect(stateActions('check')).toEqual([]);
  });

  it('let the functions that talk to the clusters read their credentials, and only those', () => {
    for (const role of ['check', 'push', 'verify', 'notify'] as const) {
      const text = JSON.stringify(statementsOf(template, role));
      expect(text, role).toContain(':secret:rs-cert-watchdog/clusters/prod-east-??????');
      expect(text, role).toContain(
        '"arn:aws:secretsmanager:eu-west-3:123456789012:secret:rs-cert-watchdog/clusters/prod-west-Ab12Cd"',
      );
    }
    expect(JSON.stringify(statementsOf(template, 'issue'))).not.toContain('rs-cert-watchdog/clusters/');
  });

  it('give Route 53 to the issue function only, on the configured zone and _acme-challenge TXT records', () => {
    const zone = (example.dns as { hostedZoneId: string }).hostedZoneId;
    const route53 = statementsOf(template, 'issue').filter((s) =>
      list(s.Action).some((a) => a.startsWith('route53:')),
    );
    const change = route53.find((s) => list(s.Action).includes('route53:ChangeResourceRecordSets'));
    expect(JSON.stringify(change?.Resource)).toContain(`:route53:::hostedzone/${zone}"`);
    expect(change?.Condition).toEqual({
      'ForAllValues:StringLike': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_acme-challenge.*'],
      },
      'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
    });
    for (const s of route53) {
      const resource = JSON.stringify(s.Resource);
      if (list(s.Action).includes('route53:GetChange')) expect(resource).toContain(':route53:::change/*"');
      else expect(resource).toContain(`:route53:::hostedzone/${zone}"`);
    }
    for (const role of ['check', 'push', 'verify', 'notify'] as const) {
      expect(
        actionsOf(statementsOf(template, role)).some((a) => a.startsWith('route53:')),
        role,
      ).toBe(false);
    }
  });

  it('let only notify publish to the topic', () => {
    for (const role of Object.keys(watchdog.functions) as FunctionRole[]) {
      expect(actionsOf(statementsOf(template, role)).includes('sns:Publish'), role).toBe(role === 'notify');
    }
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
      ]),
    );
  });
});
