import type { SNSEvent } from 'aws-lambda';
import { messageFor } from '../adapters/slack/message-for';
import { SlackWebhookNotifier } from '../adapters/slack/notifier';
import { logger } from '../wiring/runtime';
import { slackWebhookUrl } from '../wiring/slack-webhook';

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

export const handler = createSlackForwarder(slackWebhookUrl);

export { messageFor };
