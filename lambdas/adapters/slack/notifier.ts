/** Slack incoming webhook with a Block Kit message. The webhook URL is a secret: never in errors. */
import { type SlackMessage, slackMessage } from '../../domain/alerts';
import { NotificationError } from '../../domain/errors';
import type { Alert, Notifier } from '../../domain/ports';
import { exchange, type PlainResponse } from '../plain-http';

export class SlackWebhookNotifier implements Notifier {
  constructor(
    private readonly webhookUrl: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async send(alert: Alert): Promise<void> {
    await this.post(slackMessage(alert));
  }

  /** Posts a message already rendered (and escaped) by domain/alerts. */
  async post(message: SlackMessage): Promise<void> {
    let response: PlainResponse;
    try {
      response = await exchange(this.webhookUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(message),
        timeoutMs: this.timeoutMs,
      });
    } catch (error) {
      throw new NotificationError(`Slack webhook unreachable: ${(error as Error).name}`, {
        hint: 'check the webhook URL and egress to hooks.slack.com',
      });
    }
    if (response.status < 200 || response.status > 299) {
      throw new NotificationError(`Slack webhook answered ${response.status}`, {
        hint: 'the webhook may have been revoked; create a new one',
      });
    }
  }
}
