/**
 * Issue 19 (part A), in the synthesized template: the Slack forwarder's queue and dead-letter queue,
 * the schedules' dead-letter queue, the fleet alarms (missing data breaching, no per-cluster series),
 * the dashboard's soonest-expiries table, and the order budget's rule for frequent runs. Queue and key
 * policies are evaluated (test/cdk/support/policy-evaluator.ts), not pattern-matched.
 */
import { fileURLToPath } from 'node:url';
import type { CfnElement } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/adapters/config-file';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import { FLEET_METRIC } from '../../lambdas/domain/fleet-metrics';
import { logicalIdOf } from '../../lib/certificate-watchdog';
import { SOONEST_EXPIRIES_ROWS, soonestExpiriesQuery } from '../../lib/dashboard';
import { synthesizeWatchdog, TEST_ACCOUNT, TEST_REGION } from '../support/synthesized-definition';
import { evaluate, resolve, type Statement } from './support/policy-evaluator';

const example = loadConfig(fileURLToPath(new URL('../../config.example.json', import.meta.url)));
const exampleAws = example.aws as NonNullable<WatchdogConfig['aws']>;
const withSlack: WatchdogConfig = {
  ...example,
  alerts: { ...example.alerts, slackWebhookSecret: 'rs-cert-watchdog/slack-webhook' },
};
const { template, stack } = synthesizeWatchdog(withSlack);
const watchdog = stack.watchdog;
const idOf = (c: { node: { defaultChild?: unknown } }) => logicalIdOf(c.node.defaultChild as CfnElement);
const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

const TOPIC_ARN = `arn:aws:sns:${TEST_REGION}:${TEST_ACCOUNT}:alerts`;
const QUEUE_ARN = `arn:aws:sqs:${TEST_REGION}:${TEST_ACCOUNT}:slack`;
const DLQ_ARN = `arn:aws:sqs:${TEST_REGION}:${TEST_ACCOUNT}:schedule-dlq`;
const KEY_ARN = `arn:aws:kms:${TEST_REGION}:${TEST_ACCOUNT}:key/1234`;
const MACHINE_ARN = `arn:aws:states:${TEST_REGION}:${TEST_ACCOUNT}:stateMachine:watchdog`;
const pseudo = { 'AWS::Partition': 'aws', 'AWS::Region': TEST_REGION, 'AWS::AccountId': TEST_ACCOUNT };
const attributes = {
  [idOf(watchdog.alertTopic)]: TOPIC_ARN,
  [`${idOf(watchdog.slackQueue as never)}.Arn`]: QUEUE_ARN,
  [`${idOf(watchdog.scheduleDeadLetterQueue)}.Arn`]: DLQ_ARN,
  [`${idOf(watchdog.key)}.Arn`]: KEY_ARN,
  [idOf(watchdog.stateMachine)]: MACHINE_ARN,
};
const resolved = <T>(value: unknown) => resolve(value, pseudo, attributes) as T;

/** Every "action resource" pair a role's policies allow. */
function grantsOfRole(roleId: string): string[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
    .filter((s) => s.Effect === 'Allow')
    .flatMap((s) =>
      list(s.Action).flatMap((a) => list(resolved<string | string[]>(s.Resource)).map((r) => `${a} ${r}`)),
    )
    .sort();
}

function alarmNamed(suffix: string) {
  const found = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).find(([, a]) =>
    String(a.Properties.AlarmName).endsWith(`-${suffix}`),
  );
  if (!found) throw new Error(`no alarm ${suffix}`);
  return { id: found[0], alarm: found[1] as { Properties: Record<string, unknown>; DependsOn?: string[] } };
}
const topicRef = { Ref: idOf(watchdog.alertTopic) };

describe('the Slack forwarder’s queue', () => {
  const queues = template.findResources('AWS::SQS::Queue');
  const queue = queues[idOf(watchdog.slackQueue as never)]?.Properties;
  const dlq = queues[idOf(watchdog.slackDeadLetterQueue as never)]?.Properties;

  it('encrypts both queues with the stack’s key, and dead-letters after 10 receives (14 days kept)', () => {
    for (const q of [queue, dlq])
      expect(q?.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [idOf(watchdog.key), 'Arn'] });
    expect(queue).toMatchObject({
      VisibilityTimeout: 360,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [idOf(watchdog.slackDeadLetterQueue as never), 'Arn'] },
        maxReceiveCount: 10,
      },
    });
    expect(dlq?.MessageRetentionPeriod).toBe(14 * 86_400);
  });

  it('takes the topic’s messages with SNS’s envelope (no raw delivery)', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      TopicArn: topicRef,
      Endpoint: { 'Fn::GetAtt': [idOf(watchdog.slackQueue as never), 'Arn'] },
      RawMessageDelivery: false,
    });
  });

  const queuePolicy = Object.values(template.findResources('AWS::SQS::QueuePolicy'))
    .filter((p) => JSON.stringify(p.Properties.Queues).includes(idOf(watchdog.slackQueue as never)))
    .flatMap((p) => resolved<Statement[]>(p.Properties.PolicyDocument.Statement));
  const keyPolicy = resolved<Statement[]>(
    template.findResources('AWS::KMS::Key')[idOf(watchdog.key)]?.Properties.KeyPolicy.Statement,
  );
  const sns = { service: 'sns.amazonaws.com' };
  const send = (sourceArn: string, tls = true) => ({
    principal: sns,
    action: 'sqs:SendMessage',
    resource: QUEUE_ARN,
    context: { 'aws:SourceArn': sourceArn, 'aws:SecureTransport': String(tls) },
  });

  it('lets the alert topic, and only it, send to the queue, over TLS only', () => {
    expect(evaluate(queuePolicy, send(TOPIC_ARN))).toBe('allowed');
    expect(evaluate(queuePolicy, send(`arn:aws:sns:${TEST_REGION}:${TEST_ACCOUNT}:other`))).toBe(
      'implicitly denied',
    );
    expect(evaluate(queuePolicy, send(TOPIC_ARN, false))).toBe('explicitly denied');
  });

  it('lets SNS use the key for this account’s topics only', () => {
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      const request = (account: string) => ({
        principal: sns,
        action,
        resource: KEY_ARN,
        context: {
          'aws:SourceAccount': account,
          'aws:SourceArn': `arn:aws:sns:${TEST_REGION}:${account}:alerts`,
        },
      });
      expect(evaluate(keyPolicy, request(TEST_ACCOUNT)), action).toBe('allowed');
      expect(evaluate(keyPolicy, request('999999999999')), action).toBe('implicitly denied');
    }
  });

  it('feeds the forwarder 10 records at a time with partial batch failures, one invocation at a time', () => {
    const forwarder = watchdog.functions.slackForwarder;
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [idOf(watchdog.slackQueue as never), 'Arn'] },
      FunctionName: { Ref: idOf(forwarder as never) },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const fn = template.findResources('AWS::Lambda::Function')[idOf(forwarder as never)]?.Properties;
    expect(fn).toMatchObject({ ReservedConcurrentExecutions: 1, Timeout: 60 });
    expect(fn?.Environment.Variables.SLACK_QUEUE_URL).toEqual({ Ref: idOf(watchdog.slackQueue as never) });
  });

  it('lets the forwarder consume its queue and decrypt it, read the webhook secret, and nothing else', () => {
    const roleId = logicalIdOf(watchdog.functions.slackForwarder?.role?.node.defaultChild as CfnElement);
    expect(grantsOfRole(roleId)).toEqual(
      [
        ...[
          'ChangeMessageVisibility',
          'DeleteMessage',
          'GetQueueAttributes',
          'GetQueueUrl',
          'ReceiveMessage',
        ].map((a) => `sqs:${a} ${QUEUE_ARN}`),
        `kms:Decrypt ${KEY_ARN}`,
        `secretsmanager:GetSecretValue arn:aws:secretsmanager:${TEST_REGION}:${TEST_ACCOUNT}:secret:rs-cert-watchdog/slack-webhook-??????`,
      ].sort(),
    );
  });

  it('alarms on any message in its dead-letter queue', () => {
    expect(alarmNamed('SlackDeadLetters').alarm.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [idOf(watchdog.slackDeadLetterQueue as never), 'QueueName'] },
        },
      ],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef],
    });
  });

  it('is not there without a webhook secret', () => {
    const { template: t, stack: s } = synthesizeWatchdog(example);
    expect(s.watchdog.slackQueue).toBeUndefined();
    // The schedules' dead-letter queue only.
    t.resourceCountIs('AWS::SQS::Queue', 1);
    t.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
  });
});

describe('the schedules’ dead-letter queue', () => {
  const windowed: WatchdogConfig = {
    ...example,
    maintenanceWindows: [{ cron: '0 22 * * 6', durationMinutes: 240, timeZone: 'Europe/Paris' }],
  };
  const { template: t, stack: s } = synthesizeWatchdog(windowed);
  const dlqId = logicalIdOf(s.watchdog.scheduleDeadLetterQueue.node.defaultChild as CfnElement);

  it('gets every schedule’s start that failed after 3 retries (main schedule and window openings)', () => {
    const schedules = Object.values(t.findResources('AWS::Scheduler::Schedule'));
    expect(schedules).toHaveLength(2);
    for (const schedule of schedules) {
      expect(schedule.Properties.Target).toMatchObject({
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 3 },
      });
    }
    expect(t.findResources('AWS::SQS::Queue')[dlqId]?.Properties).toMatchObject({
      KmsMasterKeyId: { 'Fn::GetAtt': [logicalIdOf(s.watchdog.key.node.defaultChild as CfnElement), 'Arn'] },
      MessageRetentionPeriod: 14 * 86_400,
    });
  });

  it('is written by the schedules’ role, through SQS for the key; the role starts the workflow and nothing else', () => {
    const roleArn = (schedule: { Properties: { Target: { RoleArn: unknown } } }) =>
      schedule.Properties.Target.RoleArn;
    const [first] = Object.values(template.findResources('AWS::Scheduler::Schedule')) as Array<{
      Properties: { Target: { RoleArn: { 'Fn::GetAtt': [string, string] } } };
    }>;
    const roleId = roleArn(first as never) as { 'Fn::GetAtt': [string, string] };
    expect(grantsOfRole(roleId['Fn::GetAtt'][0])).toEqual(
      [
        `kms:Decrypt ${KEY_ARN}`,
        `kms:GenerateDataKey ${KEY_ARN}`,
        `sqs:SendMessage ${DLQ_ARN}`,
        `states:StartExecution ${MACHINE_ARN}`,
      ].sort(),
    );
    const role = template.findResources('AWS::IAM::Role')[roleId['Fn::GetAtt'][0]]?.Properties;
    expect(JSON.stringify(role?.AssumeRolePolicyDocument)).toContain('scheduler.amazonaws.com');
    expect(JSON.stringify(role?.AssumeRolePolicyDocument)).toContain('aws:SourceAccount');
    const policy = Object.values(template.findResources('AWS::IAM::Policy')).find((p) =>
      JSON.stringify(p.Properties.Roles).includes(roleId['Fn::GetAtt'][0]),
    );
    const kms = ((policy?.Properties.PolicyDocument.Statement ?? []) as Statement[]).find((st) =>
      list(st.Action).includes('kms:Decrypt'),
    );
    expect(resolved(kms?.Condition)).toEqual({
      StringEquals: { 'kms:ViaService': `sqs.${TEST_REGION}.amazonaws.com` },
    });
  });

  it('alarms on any message in it', () => {
    expect(alarmNamed('ScheduleDeadLetters').alarm.Properties).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef],
    });
  });
});

describe('the fleet alarms', () => {
  interface AlarmMetric {
    Id: string;
    Expression?: string;
    ReturnData?: boolean;
    MetricStat?: {
      Metric: { Namespace: string; MetricName: string; Dimensions: unknown[] };
      Period: number;
      Stat: string;
    };
  }
  const cases = [
    ['MinDaysLeft', 'Minimum', 'LessThanThreshold', 7, 'MIN([value, deployed * 0 + 36500])'],
    ['CertificatesExpired', 'Maximum', 'GreaterThanOrEqualToThreshold', 1, 'MAX([value, deployed * 0 + 0])'],
    [
      'CertificatesExpiringWithin7Days',
      'Maximum',
      'GreaterThanOrEqualToThreshold',
      1,
      'MAX([value, deployed * 0 + 0])',
    ],
    [
      'CertificatesExpiringWithin14Days',
      'Maximum',
      'GreaterThanOrEqualToThreshold',
      1,
      'MAX([value, deployed * 0 + 0])',
    ],
    [
      'CertificatesUnreadable',
      'Maximum',
      'GreaterThanOrEqualToThreshold',
      1,
      'MAX([value, deployed * 0 + 0])',
    ],
    ['ClustersUnreadable', 'Maximum', 'GreaterThanOrEqualToThreshold', 1, 'MAX([value, deployed * 0 + 0])'],
    ['RenewalFailures', 'Sum', 'GreaterThanOrEqualToThreshold', 1, 'MAX([value, deployed * 0 + 0])'],
  ] as const;

  it.each(cases)(
    '%s: its worst value over the longest gap plus an hour; no data (no run) is breaching',
    (name, stat, comparison, threshold, expression) => {
      const { id, alarm } = alarmNamed(name);
      expect(alarm.Properties).toMatchObject({
        ComparisonOperator: comparison,
        Threshold: threshold,
        EvaluationPeriods: 1,
        TreatMissingData: 'breaching',
        AlarmActions: [topicRef],
        OKActions: [topicRef],
      });
      const metrics = alarm.Properties.Metrics as AlarmMetric[];
      expect(metrics.find((m) => m.ReturnData !== false)?.Expression).toBe(expression);
      // Europe/Paris, daily: 24 hours apart on the wall clock, 25 across the autumn shift; plus an hour.
      expect(metrics.find((m) => m.Id === 'value')?.MetricStat).toEqual({
        Metric: {
          Namespace: 'RsCertWatchdog',
          MetricName: name,
          Dimensions: [{ Name: 'service', Value: 'rs-cert-watchdog' }],
        },
        Period: 26 * 3600,
        Stat: stat,
      });
      expect(metrics.find((m) => m.Id === 'deployed')?.MetricStat?.Metric.MetricName).toBe(
        'FleetAlarmsDeployed',
      );
      // Created after the datapoint that stands in for a first run.
      expect(alarm.DependsOn?.some((d) => d.startsWith('WatchdogFleetAlarmsDeployed'))).toBe(true);
      expect(id).toBeDefined();
    },
  );

  it('covers every fleet metric that needs a person', () => {
    const alarmed = cases.map(([name]) => name);
    const informational = [
      FLEET_METRIC.certificatesChecked,
      FLEET_METRIC.clustersChecked,
      FLEET_METRIC.renewed,
      FLEET_METRIC.ordersDeferred,
    ];
    expect([...alarmed, ...informational].sort()).toEqual(Object.values(FLEET_METRIC).sort());
  });

  it('publishes the stand-in datapoint once, when the alarms are created', () => {
    const custom = Object.entries(template.findResources('Custom::AWS')).find(([id]) =>
      id.startsWith('WatchdogFleetAlarmsDeployed'),
    )?.[1];
    expect(JSON.stringify(custom?.Properties.Create)).toContain('FleetAlarmsDeployed');
    expect(custom?.Properties.Update).toBeUndefined();
  });

  it('has no metric with a per-cluster or per-certificate dimension anywhere', () => {
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/"Name":"(Cluster|Certificate)"/);
    expect(text).not.toContain('"DaysLeft"');
  });

  it('follows the schedule: a weekday cron waits out the weekend; 6-day certificates lower MinDaysLeft’s threshold', () => {
    const { template: t } = synthesizeWatchdog({
      ...example,
      acme: { ...(example.acme as NonNullable<WatchdogConfig['acme']>), profile: 'shortlived' },
      aws: { ...exampleAws, timeZone: 'UTC', schedule: 'cron(0 6 ? * MON-FRI *)' },
    });
    const alarm = Object.values(t.findResources('AWS::CloudWatch::Alarm')).find((a) =>
      String(a.Properties.AlarmName).endsWith('-MinDaysLeft'),
    );
    const metric = ((alarm?.Properties.Metrics ?? []) as AlarmMetric[]).find((m) => m.Id === 'value');
    expect(metric?.MetricStat?.Period).toBe(73 * 3600);
    // A quarter of 160 hours.
    expect(alarm?.Properties.Threshold).toBe(1.67);
  });
});

describe('the dashboard', () => {
  it('has a table of the soonest expiries from the check’s log records, no per-series graph', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    const checkLogs = logicalIdOf(watchdog.functions.check.logGroup.node.defaultChild as CfnElement);
    expect(soonestExpiriesQuery()).toEqual([
      'filter ispresent(CertificateDaysLeft)',
      'stats latest(CertificateDaysLeft) as daysLeft, latest(notAfter) as expires, latest(status) as state, latest(managed) as renewedByWatchdog, latest(@timestamp) as checkedAt by cluster, certificate',
      'sort daysLeft asc',
      `limit ${SOONEST_EXPIRIES_ROWS}`,
    ]);
    // The query reads the check function's log group (a Ref in the body's Fn::Join).
    expect(body).toMatch(new RegExp(`SOURCE '",\\{"Ref":"${checkLogs}"\\}`));
    expect(body).toContain('sort daysLeft asc');
    expect(body).toContain('\\"view\\":\\"table\\"');
  });
});

describe('the order budget at synth', () => {
  const letsEncrypt = (schedule: string, orderBudget?: number): WatchdogConfig => ({
    ...example,
    acme: {
      ...(example.acme as NonNullable<WatchdogConfig['acme']>),
      ...(orderBudget === undefined ? {} : { orderBudget }),
    },
    aws: { ...exampleAws, timeZone: 'UTC', schedule },
  });

  it('refuses a budget Let’s Encrypt cannot refill between runs, and says what fits', () => {
    expect(() => synthesizeWatchdog(letsEncrypt('rate(2 hours)'))).toThrow(
      /acme\.orderBudget: acme\.orderBudget 250 is more than Let's Encrypt refills between two runs.*at most 200/,
    );
    expect(() => synthesizeWatchdog(letsEncrypt('rate(2 hours)', 200))).not.toThrow();
  });
});

describe('clusters in other accounts', () => {
  const ROLE = 'arn:aws:iam::210987654321:role/rs-cert-watchdog-reader';
  const [east, west] = example.clusters as [
    WatchdogConfig['clusters'][number],
    WatchdogConfig['clusters'][number],
  ];
  const config: WatchdogConfig = {
    ...example,
    clusters: [east, { ...west, roleArn: ROLE, roleExternalId: 'ext-1' }],
  };
  const { template: t, stack: s } = synthesizeWatchdog(config);
  const functions = s.watchdog.functions;
  const grants = (role: keyof typeof functions) => {
    const roleId = logicalIdOf(functions[role]?.role?.node.defaultChild as CfnElement);
    return Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
      .flatMap((st) =>
        list(st.Action).flatMap((a) =>
          list(st.Resource as string | string[]).map((r) => `${a} ${JSON.stringify(r)}`),
        ),
      );
  };

  it('lets exactly the functions that read cluster secrets assume exactly the configured role', () => {
    for (const role of ['check', 'push', 'verify', 'activeActive', 'notify'] as const) {
      expect(
        grants(role).filter((g) => g.startsWith('sts:')),
        role,
      ).toEqual([`sts:AssumeRole "${ROLE}"`]);
    }
    expect(grants('issue').filter((g) => g.startsWith('sts:'))).toEqual([]);
  });

  it('reads that cluster’s secret only as the role: no function may read it itself', () => {
    const all = (['check', 'push', 'verify', 'activeActive', 'notify'] as const).flatMap(grants).join('\n');
    expect(all).not.toContain('prod-west');
    expect(all).toContain('rs-cert-watchdog/clusters/prod-east');
  });

  it('tells the operator which roles the other account’s role must trust', () => {
    const output = t.toJSON().Outputs?.ClusterSecretReaderRoleArns?.Value as {
      'Fn::Join': [string, unknown[]];
    };
    const readers = (['check', 'push', 'verify', 'activeActive', 'notify'] as const).map((r) => ({
      'Fn::GetAtt': [logicalIdOf(functions[r]?.role?.node.defaultChild as CfnElement), 'Arn'],
    }));
    expect(output['Fn::Join']).toEqual([',', readers]);
  });

  it('gives check the SDK to assume it (the extension cannot)', () => {
    const fn = functions.check.node.defaultChild as { description?: string };
    expect(s.resolve(fn.description)).toBe('rs-cert-watchdog check (check-any-region.ts)');
  });
});
