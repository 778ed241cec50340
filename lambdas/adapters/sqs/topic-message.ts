/**
 * A record of the Slack forwarder's queue as the SNS message it carries. The queue's subscription
 * to the alert topic is not raw: each body is SNS's envelope (`Type`, `MessageId`, `Subject`,
 * `Message`, `MessageAttributes`), which keeps the Subject (the one title of a message that is
 * neither an alert nor an alarm) and SNS's MessageId (to trace a duplicate delivery). A body that is
 * not an envelope (a message sent to the queue directly, or raw delivery turned on by hand) is
 * taken as the message itself.
 */
import type { SNSEventRecord } from 'aws-lambda';

export interface TopicMessage {
  Sns: Pick<SNSEventRecord['Sns'], 'Message' | 'Subject' | 'MessageId'>;
}

export function topicMessageOf(body: string): TopicMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const envelope = parsed as { Type?: unknown; Message?: unknown; Subject?: unknown; MessageId?: unknown };
  if (
    envelope &&
    typeof envelope === 'object' &&
    envelope.Type === 'Notification' &&
    typeof envelope.Message === 'string'
  ) {
    return {
      Sns: {
        Message: envelope.Message,
        Subject: typeof envelope.Subject === 'string' ? envelope.Subject : '',
        MessageId: typeof envelope.MessageId === 'string' ? envelope.MessageId : '',
      },
    };
  }
  return { Sns: { Message: body, Subject: '', MessageId: '' } };
}
