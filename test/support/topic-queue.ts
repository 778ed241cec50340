/**
 * What the Slack forwarder receives on AWS: the alert topic's messages delivered to its SQS queue,
 * each record's body the SNS envelope (the subscription is not raw). For tests that hand it alerts.
 */
import type { SQSEvent } from 'aws-lambda';

export function topicQueueEvent(messages: readonly string[], subject = 'subject'): SQSEvent {
  return {
    Records: messages.map((Message, i) => ({
      messageId: `m${i}`,
      receiptHandle: `handle-${i}`,
      body: JSON.stringify({ Type: 'Notification', MessageId: `sns-${i}`, Subject: subject, Message }),
      attributes: {},
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:alerts-to-slack',
      awsRegion: 'eu-west-1',
    })),
  } as unknown as SQSEvent;
}
