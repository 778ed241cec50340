/**
 * What reaches Slack and SNS: values from clusters and CAs never become Slack markup, SNS subjects
 * are what SNS accepts, and the Slack forwarder renders whatever the topic carries without throwing.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { SnsNotifier } from '../../lambdas/adapters/sns/notifier';
import { alarmConsoleUrl, clip, formatAlert, slackMessage } from '../../lambdas/domain/alerts';
import type { Alert } from '../../lambdas/domain/ports';
import { createSlackForwarder, messageFor } from '../../lambdas/handlers/slack-forwarder';
import { startWebhookCapture } from '../support/webhook-capture';

const hostile = '<!channel> <https://evil.example/|click here> & <@U123> *bold*';
const alerts: Alert[] = [
  {
    kind: 'renewed',
    cluster: 'prod-east',
    certificate: hostile,
    domains: [hostile],
    oldNotAfter: null,
    newNotAfter: '2027-02-21T13:34:00.000Z',
    serialNumber: hostile,
    fingerprint256: 'AA',
    verification: hostile,
  },
  {
    kind: 'renewal-failed',
    cluster: 'prod-east',
    certificate: hostile,
    error: { name: 'E', message: hostile, hint: hostile },
    action: hostile,
  },
  {
    kind: 'alert-only',
    cluster: 'prod-east',
    certificate: hostile,
    status: 'expired',
    notAfter: null,
    daysLeft: null,
    reason: hostile,
  },
  { kind: 'cluster-unreachable', cluster: hostile, error: { name: 'ClusterServerError', message: hostile } },
];

/** Every string in a Slack payload that Slack parses as mrkdwn (the top-level text and mrkdwn objects). */
function mrkdwnTexts(payload: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown, parsed: boolean) => {
    if (Array.isArray(node)) for (const n of node) walk(n, parsed);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      const isMrkdwn = o.type === 'mrkdwn';
      for (const [k, v] of Object.entries(o)) {
        if (typeof v === 'string' && k === 'text' && (isMrkdwn || parsed)) out.push(v);
        else walk(v, false);
      }
    }
  };
  const top = payload as { text: string; blocks: unknown };
  out.push(top.text);
  walk(top.blocks, false);
  return out;
}

describe('Slack messages', () => {
  it.each(alerts.map((a) => [a.kind, a]))('escape every interpolated value (%s)', (_kind, alert) => {
    const payload = slackMessage(alert as Alert);
    for (const text of mrkdwnTexts(payload)) {
      expect(text).not.toContain('<!channel>');
      expect(text).not.toContain('<https://');
      expect(text).not.toContain('<@U123>');
      expect(text).not.toMatch(/&(?!amp;|lt;|gt;)/);
    }
    expect(JSON.stringify(payload)).toContain('&lt;!channel&gt;');
    // Sections are verbatim: Slack does not turn names or URLs in them into links or mentions.
    const sections = (payload.blocks as Array<{ type: string; text?: { verbatim?: boolean } }>).filter(
      (b) => b.type === 'section',
    );
    expect(sections.every((s) => s.text?.verbatim === true)).toBe(true);
  });
});

describe('SNS subjects', () => {
  it.each([
    ['newlines and controls', 'proxy\r\nBcc: victim@example.com\u0000\u001b[2J'],
    ['non-ASCII', 'prоxy-ünïcode-证书\u202e'],
    ['very long', 'c'.repeat(300)],
  ])('are one line of ASCII under 100 characters: %s', (_name, certificate) => {
    for (const alert of [
      { ...alerts[0]!, certificate } as Alert,
      { ...alerts[1]!, certificate } as Alert,
      { ...alerts[2]!, certificate } as Alert,
      { kind: 'cluster-unreachable', cluster: certificate, error: { name: 'E', message: 'm' } } as Alert,
    ]) {
      const { subject } = formatAlert(alert);
      expect(subject.length).toBeLessThan(100);
      expect(subject).toMatch(/^[\x20-\x7e]+$/);
    }
  });

  it('keeps a subject of exactly 99 characters and cuts one of 100', () => {
    expect(clip('a'.repeat(99))).toBe('a'.repeat(99));
    expect(clip('a'.repeat(100))).toHaveLength(99);
    expect(clip('a'.repeat(100)).endsWith('...')).toBe(true);
  });

  it('publishes that subject, and the alert with its severity for the forwarder', async () => {
    const sns = mockClient(SNSClient);
    try {
      sns.on(PublishCommand).resolves({ MessageId: 'm' });
      await new SnsNotifier('arn:aws:sns:eu-west-1:1:alerts', new SNSClient({})).send({
        ...alerts[1]!,
        certificate: `proxy\n${'x'.repeat(120)}`,
      } as Alert);
      const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
      expect(input.Subject!.length).toBeLessThan(100);
      expect(input.Subject).not.toMatch(/\n/);
      const message = JSON.parse(input.Message ?? '{}') as Record<string, string>;
      expect(JSON.parse(message.lambda ?? '{}')).toMatchObject({
        kind: 'renewal-failed',
        severity: 'critical',
      });
    } finally {
      sns.restore();
    }
  });
});

// The shape CloudWatch publishes to SNS when an alarm changes state (AWS documentation,
// "Using Amazon SNS to send alarm notifications"), for the watchdog's heartbeat alarm.
const alarmNotification = {
  AlarmName: 'RsCertWatchdog-Heartbeat<!channel>',
  AlarmDescription: 'No successful rs-cert-watchdog run in 26 hours',
  AWSAccountId: '123456789012',
  AlarmConfigurationUpdatedTimestamp: '2026-11-20T06:00:00.000+0000',
  NewStateValue: 'ALARM',
  NewStateReason:
    'Threshold Crossed: 1 out of the last 1 datapoints [0.0 (23/11/26 06:00:00)] was less than the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).',
  StateChangeTime: '2026-11-23T06:05:00.000+0000',
  Region: 'EU (Ireland)',
  AlarmArn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:RsCertWatchdog-Heartbeat<!channel>',
  OldStateValue: 'OK',
  OKActions: [],
  AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:rs-cert-watchdog-alerts'],
  InsufficientDataActions: [],
  Trigger: {
    MetricName: 'ExecutionsSucceeded',
    Namespace: 'AWS/States',
    StatisticType: 'Statistic',
    Statistic: 'SUM',
    Unit: null,
    Dimensions: [
      { value: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Watchdog', name: 'StateMachineArn' },
    ],
    Period: 86400,
    EvaluationPeriods: 1,
    ComparisonOperator: 'LessThanThreshold',
    Threshold: 1.0,
    TreatMissingData: 'breaching',
    EvaluateLowSampleCountPercentile: '',
  },
};

const record = (Message: string, Subject: string | null = null) => ({
  EventSource: 'aws:sns',
  Sns: {
    Type: 'Notification',
    MessageId: 'id',
    TopicArn: 'arn:aws:sns:eu-west-1:1:alerts',
    Subject,
    Message,
  },
});

describe('Slack forwarder', () => {
  it('renders a CloudWatch alarm: name, state, reason and a console link built from its ARN', () => {
    const { message, kind } = messageFor(
      record(JSON.stringify(alarmNotification), 'ALARM: "RsCertWatchdog-Heartbeat" in EU (Ireland)') as never,
    );
    expect(kind).toBe('cloudwatch-alarm');
    const all = JSON.stringify(message);
    expect(all).toContain('is ALARM');
    expect(all).toContain('Threshold Crossed: 1 out of the last 1 datapoints');
    expect(all).toContain(
      'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/RsCertWatchdog-Heartbeat%3C!channel%3E',
    );
    for (const text of mrkdwnTexts(message)) expect(text).not.toContain('<!channel>');
    expect(
      alarmConsoleUrl({ AlarmName: 'a', AlarmArn: 'arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:a' }),
    ).toBe('https://cn-north-1.console.amazonaws.cn/cloudwatch/home?region=cn-north-1#alarmsV2:alarm/a');
  });

  it.each([
    ['plain text', 'the watchdog says hello <!channel>'],
    ['JSON of another shape', '{"foo": 1}'],
    ['an alert missing fields', '{"kind":"renewal-failed","cluster":"x"}'],
    ['JSON null', 'null'],
    ['empty', ''],
    ['an alarm without a valid ARN', JSON.stringify({ AlarmName: 'x', NewStateValue: 'OK', AlarmArn: 42 })],
  ])('renders %s as text and never throws', (_name, body) => {
    const { message } = messageFor(record(body, 'Subject <!here>') as never);
    for (const text of mrkdwnTexts(message)) {
      expect(text).not.toContain('<!channel>');
      expect(text).not.toContain('<!here>');
    }
  });

  it('posts every record of an event (our alert, an alarm, text) to the webhook', async () => {
    const slack = await startWebhookCapture();
    try {
      // No pacing wait in a test: the pacing itself is tested with a clock (slack-queue.test.ts).
      const forward = createSlackForwarder(async () => `${slack.url}/hook`, { sleep: async () => undefined });
      // The forwarder's queue receives SNS's envelope (no raw delivery) as each record's body.
      const event = {
        Records: [
          record(JSON.stringify(alerts[3])),
          record(JSON.stringify(alarmNotification)),
          record('free text'),
        ].map((r, i) => ({ messageId: `m${i}`, receiptHandle: `h${i}`, body: JSON.stringify(r.Sns) })),
      } as unknown as SQSEvent;
      await expect(forward(event)).resolves.toEqual({ batchItemFailures: [] });
      expect(slack.received).toHaveLength(3);
      expect((slack.received[1] as { text: string }).text).toContain('is ALARM');
    } finally {
      await slack.close();
    }
  });
});
