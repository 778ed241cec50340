import { messageFor } from '../adapters/slack/message-for';
import { createQueueForwarder, type QueueForwarderOptions } from '../wiring/slack-forwarding';
import { slackWebhookUrl } from '../wiring/slack-webhook';

/**
 * Reads the alert topic's messages from its SQS queue and posts each to Slack, paced under Slack's
 * rate (wiring/slack-forwarding.ts). The webhook URL lives in Secrets Manager (it is a credential:
 * anyone holding it can post to the channel). Rendering never fails; what could not be delivered is
 * reported as partial batch failures, retried by the queue, and ends in its dead-letter queue.
 */
export function createSlackForwarder(webhookUrl: () => Promise<string>, options?: QueueForwarderOptions) {
  return createQueueForwarder(webhookUrl, options);
}

export const handler = createSlackForwarder(slackWebhookUrl);

export { messageFor };
