import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSEvent } from 'aws-lambda';
import { SlackWebhookNotifier } from '../adapters/slack/notifier';
import { ConfigError } from '../domain/errors';
import type { Alert } from '../domain/ports';
import { logger } from './runtime';

/**
 * Subscribed to the alert topic: posts each alert to Slack as Block Kit. The webhook URL lives in
 * Secrets Manager (it is a credential: anyone holding it can post to the channel).
 */
export function createSlackForwarder(webhookUrl: () => Promise<string>) {
  let notifier: SlackWebhookNotifier | undefined;
  return async (event: SNSEvent): Promise<void> => {
    notifier ??= new SlackWebhookNotifier(await webhookUrl());
    for (const record of event.Records) {
      const alert = JSON.parse(record.Sns.Message) as Alert;
      await notifier.send(alert);
      logger.info('forwarded alert to Slack', { kind: alert.kind, cluster: alert.cluster });
    }
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
