import type { SNSEventRecord } from 'aws-lambda';
import {
  isAlarmNotification,
  type SlackMessage,
  slackAlarmMessage,
  slackMessage,
  slackTextMessage,
} from '../../domain/alerts';
import type { Alert } from '../../domain/ports';

/** Every kind of our own alert, each rendered as itself, never as raw JSON (a new kind does not compile unlisted). */
const KINDS: Record<Alert['kind'], true> = {
  renewed: true,
  'rolled-back': true,
  'window-overridden': true,
  'active-active': true,
  'renewal-failed': true,
  'alert-only': true,
  'cluster-unreachable': true,
  'order-deferred': true,
};
const ALERT_KINDS = new Set<string>(Object.keys(KINDS));

/**
 * What to post for one SNS record: our own alert as Block Kit, a CloudWatch alarm (the heartbeat and
 * the failed- or timed-out-execution alarms publish to the same topic) with its state, reason and
 * console link, and anything else as literal text. Never throws, whatever the message holds.
 */
export function messageFor(record: Pick<SNSEventRecord, 'Sns'>): { message: SlackMessage; kind: string } {
  const raw = typeof record.Sns?.Message === 'string' ? record.Sns.Message : '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  try {
    const value = parsed as { kind?: unknown; cluster?: unknown } | undefined;
    if (
      value &&
      typeof value.kind === 'string' &&
      ALERT_KINDS.has(value.kind) &&
      typeof value.cluster === 'string'
    )
      return { message: slackMessage(value as Alert), kind: value.kind };
    if (isAlarmNotification(parsed)) return { message: slackAlarmMessage(parsed), kind: 'cloudwatch-alarm' };
  } catch {
    // A message shaped almost like an alert (a field missing or of the wrong type) falls through to text.
  }
  return { message: slackTextMessage(record.Sns?.Subject, raw), kind: 'text' };
}
