import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSEvent, SNSEventRecord } from 'aws-lambda';
import { SlackWebhookNotifier } from '../adapters/slack/notifier';
import {
  isAlarmNotification,
  type SlackMessage,
  slackAlarmMessage,
  slackMessage,
  slackTextMessage,
} from '../domain/alerts';
import { ConfigError } from '../domain/errors';
import type { Alert } from '../domain/ports';
import { logger } from './runtime';

const ALERT_KINDS = new Set<string>(['renewed', 'renewal-failed', 'alert-only', 'cluster-unreachable']);

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

/**
 * Subscribed to the alert topic: posts each message to Slack. The webhook URL lives in Secrets
 * Manager (it is a credential: anyone holding it can post to the channel). Rendering never fails;
 * a failed delivery is thrown after every record was tried, so that Lambda retries the event.
 */
export function createSlackForwarder(webhookUrl: () => Promise<string>) {
  let notifier: SlackWebhookNotifier | undefined;
  return async (event: SNSEvent): Promise<void> => {
    notifier ??= new SlackWebhookNotifier(await webhookUrl());
    let failure: unknown;
    for (const record of event.Records ?? []) {
      const { message, kind } = messageFor(record);
      try {
        await notifier.post(message);
        logger.info('forwarded to Slack', { kind });
      } catch (error) {
        logger.error('could not forward to Slack', { kind, error: (error as Error).message });
        failure ??= error;
      }
    }
    if (failure) throw failure;
  };
}

const secrets = new SecretsManagerClient({});

export const handler = createSlackForwarder(async () => {
  const secretId = process.env.SLACK_WEBHOOK_SECRET_ARN;
  if (!secretId) throw new ConfigError('SLACK_WEBHOOK_SECRET_ARN is not set');
  const value = (await secrets.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString ?? '';
  // Accept the bare URL or {"url": "..."}.
  return value.trim().startsWith('{')
    ? String((JSON.parse(value) as { url?: unknown }).url ?? '')
    : value.trim();
});
