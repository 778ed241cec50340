/**
 * The Slack webhook URL, from the Secrets Manager secret the construct names: a credential (anyone
 * holding it can post to the channel), so never in the config or the environment itself.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../domain/errors';

const secrets = new SecretsManagerClient({});

export async function slackWebhookUrl(): Promise<string> {
  const secretId = process.env.SLACK_WEBHOOK_SECRET_ARN;
  if (!secretId) throw new ConfigError('SLACK_WEBHOOK_SECRET_ARN is not set');
  const value = (await secrets.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString ?? '';
  // Accept the bare URL or {"url": "..."}.
  return value.trim().startsWith('{')
    ? String((JSON.parse(value) as { url?: unknown }).url ?? '')
    : value.trim();
}
