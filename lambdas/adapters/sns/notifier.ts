/**
 * Alerts to an SNS topic. The message is per-protocol JSON: email subscribers read the formatted
 * text, the Slack forwarder (through its SQS queue) receives the structured alert with its severity.
 * A run's digest goes the same way (`sendDigest`).
 * The Subject is one line of ASCII under 100 characters (formatAlert's `clip`): SNS refuses any
 * other, and a refused publish must never be what stops a renewal.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { formatAlert } from '../../domain/alerts';
import { fitDigest, formatDigest, type RunDigest } from '../../domain/digest';
import { NotificationError } from '../../domain/errors';
import type { Alert, DigestNotifier, Notifier } from '../../domain/ports';

export class SnsNotifier implements Notifier, DigestNotifier {
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
            // The Slack forwarder's queue (an SQS subscription reads this key, else `default`).
            sqs: JSON.stringify({ ...alert, severity: formatted.severity }),
          }),
          MessageAttributes: {
            kind: { DataType: 'String', StringValue: alert.kind },
            cluster: { DataType: 'String', StringValue: alert.cluster },
            severity: { DataType: 'String', StringValue: formatted.severity },
          },
        }),
      );
    } catch (error) {
      throw publishFailed(this.topicArn, error);
    }
  }

  /**
   * A run's digest: its email for email subscribers, the digest itself for the Slack forwarder.
   * Fitted under SNS's 256 KB (fewer lines per group; the totals stay).
   */
  async sendDigest(digest: RunDigest): Promise<void> {
    const message = (d: RunDigest) => {
      const formatted = formatDigest(d);
      const structured = JSON.stringify(d);
      return JSON.stringify({
        default: formatted.text,
        email: formatted.text,
        lambda: structured,
        sqs: structured,
      });
    };
    const fitted = fitDigest(digest, (d) => Buffer.byteLength(message(d)), SNS_MESSAGE_BYTES);
    try {
      await this.client.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: fitted.subject,
          MessageStructure: 'json',
          Message: message(fitted),
          MessageAttributes: {
            kind: { DataType: 'String', StringValue: 'digest' },
            severity: { DataType: 'String', StringValue: fitted.severity },
          },
        }),
      );
    } catch (error) {
      throw publishFailed(this.topicArn, error);
    }
  }
}

/** What SNS accepts in one message, less room for the attributes and the envelope. */
const SNS_MESSAGE_BYTES = 250_000;

function publishFailed(topicArn: string, error: unknown): NotificationError {
  return new NotificationError(`cannot publish to ${topicArn}: ${(error as Error).name}`, {
    hint: 'check the topic exists and that this function may publish and use its KMS key',
  });
}
