/**
 * Issue 11.1: CloudWatch alarms must be able to publish to the encrypted alert topic, and nobody
 * else. The topic and key policies are evaluated, not pattern-matched.
 */
import { fileURLToPath } from 'node:url';
import type { CfnElement } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { logicalIdOf } from '../../lib/certificate-watchdog';
import { synthesizeWatchdog, TEST_ACCOUNT, TEST_REGION } from '../support/synthesized-definition';
import { evaluate, type Principal, type Request, resolve, type Statement } from './support/policy-evaluator';

const { template, stack } = synthesizeWatchdog(
  fileURLToPath(new URL('../../config.example.json', import.meta.url)),
);
const watchdog = stack.watchdog;
const idOf = (c: { node: { defaultChild?: unknown } }) => logicalIdOf(c.node.defaultChild as CfnElement);
const TOPIC_ARN = `arn:aws:sns:${TEST_REGION}:${TEST_ACCOUNT}:alerts`;
const KEY_ARN = `arn:aws:kms:${TEST_REGION}:${TEST_ACCOUNT}:key/1234`;
const pseudo = { 'AWS::Partition': 'aws', 'AWS::Region': TEST_REGION, 'AWS::AccountId': TEST_ACCOUNT };
const resources = { [idOf(watchdog.alertTopic)]: TOPIC_ARN };

const topicStatements = Object.values(template.findResources('AWS::SNS::TopicPolicy')).flatMap(
  (p) => resolve(p.Properties.PolicyDocument.Statement, pseudo, resources) as Statement[],
);
const keyStatements = resolve(
  template.findResources('AWS::KMS::Key')[idOf(watchdog.key)]?.Properties.KeyPolicy.Statement,
  pseudo,
  resources,
) as Statement[];

const alarmNames = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
  (a) => a.Properties.AlarmName as string,
);
const alarmArn = (name: string, account = TEST_ACCOUNT) =>
  `arn:aws:cloudwatch:${TEST_REGION}:${account}:alarm:${name}`;
const cloudwatch: Principal = { service: 'cloudwatch.amazonaws.com' };

function publish(principal: Principal, context: Record<string, string>): Request {
  return { principal, action: 'sns:Publish', resource: TOPIC_ARN, context };
}
function fromAlarm(name: string, options: { tls?: boolean; account?: string } = {}) {
  return {
    'aws:SecureTransport': String(options.tls ?? true),
    'aws:SourceAccount': options.account ?? TEST_ACCOUNT,
    'aws:SourceArn': alarmArn(name, options.account),
  };
}

describe('the alert topic', () => {
  it('names every alarm, and every alarm publishes to the topic', () => {
    // The workflow's 4, the schedules' dead-letter queue, and the 7 fleet alarms (issue 19).
    expect(alarmNames).toHaveLength(12);
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: idOf(watchdog.alertTopic) }]);
    }
  });

  it.each(alarmNames)('lets the alarm %s publish, and its key use', (name) => {
    expect(evaluate(topicStatements, publish(cloudwatch, fromAlarm(name)))).toBe('allowed');
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      const request = { principal: cloudwatch, action, resource: KEY_ARN, context: fromAlarm(name) };
      expect(evaluate(keyStatements, request), action).toBe('allowed');
    }
  });

  it('refuses an anonymous publisher', () => {
    expect(evaluate(topicStatements, publish('anonymous', { 'aws:SecureTransport': 'true' }))).not.toBe(
      'allowed',
    );
  });

  it('refuses a publisher without TLS, even an alarm of this watchdog', () => {
    const [name] = alarmNames as [string];
    expect(evaluate(topicStatements, publish(cloudwatch, fromAlarm(name, { tls: false })))).toBe(
      'explicitly denied',
    );
    expect(
      evaluate(topicStatements, publish({ aws: TEST_ACCOUNT }, { 'aws:SecureTransport': 'false' })),
    ).toBe('explicitly denied');
  });

  it("refuses other accounts' alarms and other alarms of this account", () => {
    const [name] = alarmNames as [string];
    expect(evaluate(topicStatements, publish(cloudwatch, fromAlarm(name, { account: '999999999999' })))).toBe(
      'implicitly denied',
    );
    expect(evaluate(topicStatements, publish(cloudwatch, fromAlarm('someone-elses-alarm')))).toBe(
      'implicitly denied',
    );
    const keyUse = { principal: cloudwatch, action: 'kms:GenerateDataKey', resource: KEY_ARN };
    expect(evaluate(keyStatements, { ...keyUse, context: fromAlarm('someone-elses-alarm') })).toBe(
      'implicitly denied',
    );
  });
});

describe('the policy evaluator', () => {
  const allowAll: Statement = { Effect: 'Allow', Principal: '*', Action: 'sns:*', Resource: '*' };
  const denyPlain: Statement = {
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: 'sns:Publish',
    Resource: '*',
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  };

  it('lets an explicit Deny win and treats a missing condition key as no match', () => {
    const request = publish('anonymous', { 'aws:SecureTransport': 'false' });
    expect(evaluate([allowAll, denyPlain], request)).toBe('explicitly denied');
    expect(evaluate([allowAll, denyPlain], publish('anonymous', {}))).toBe('allowed');
    expect(evaluate([], request)).toBe('implicitly denied');
  });
});
