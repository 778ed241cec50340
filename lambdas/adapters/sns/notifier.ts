/**
 * Alerts to an SNS topic. The message is per-protocol JSON: email subscribers read the formatted
 * text, the Slack forwarder (a Lambda subscriber) receives the structured alert with its severity.
 * The Subject is one line of ASCII under 100 characters (formatAlert's `clip`): SNS refuses any
 * other, and a refused publish must never be what stops a renewal.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { formatAlert } from '../../domain/alerts';
import { NotificationError } from '../../domain/errors';
import type { Alert, Notifier } from '../../domain/ports';

export class SnsNotifier implements Notifier {
  private readonly client: SNSClient;

  constructor(
    private readonly topicArn: string,
    client?: SNSClient,
  ) {
    this.client = client ?? new SNSClient({});
  }

  async send(alert: Alert): Promise<void> {
    const formatted = formatAlert(alert);
    try {
      await this.client.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: formatted.subject,
          MessageStructure: 'json',
          Message: JSON.stringify({
            default: formatted.text,
            email: formatted.text,
            lambda: JSON.stringify({ ...alert, severity: formatted.severity }),
          }),
          MessageAttributes: {
            kind: { DataType: 'String', StringValue: alert.kind },
            cluster: { DataType: 'String', StringValue: alert.cluster },
            severity: { DataType: 'String', StringValue: formatted.severity },
          },
        }),
      );
    } catch (error) {
      throw new NotificationError(`cannot publish to ${this.topicArn}: ${(error as Error).name}`, {
        hint: 'check the topic exists and that this function may publish and use its KMS key',
      });
    }
  }
}
