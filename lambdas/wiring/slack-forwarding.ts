/**
 * The Slack forwarder's consumption of its queue: each SQS record is an SNS message of the alert
 * topic; it becomes one Slack message (an alert, an alarm, any other text: adapters/slack) or a
 * few (a run's digest: domain/digest-slack.ts), posted under Slack's rate of about one a second
 * (domain/paced-delivery.ts). Records that could not be delivered are reported as partial batch
 * failures; a throttled record is made visible again exactly when Slack's Retry-After ends.
 *
 * The function runs with a reserved concurrency of 1, so the one pacing clock here (kept for the
 * container's life) spaces posts across batches too.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SNSEventRecord, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { messageFor } from '../adapters/slack/message-for';
import { postToWebhook } from '../adapters/slack/webhook-poster';
import { QueueVisibility, topicMessageOf } from '../adapters/sqs';
import type { SlackMessage } from '../domain/alerts';
import { isRunDigest } from '../domain/digest';
import { digestSlackMessages } from '../domain/digest-slack';
import { deliverPaced, type PostAnswer } from '../domain/paced-delivery';
import { logger } from './runtime';

/** Slack's incoming webhooks take about one message a second; a little more keeps bursts out. */
export const SLACK_MIN_INTERVAL_MS = 1100;
/** Left for one post (its 10 s timeout) and its pacing wait before the invocation ends. */
const RESERVE_MS = 12_000;

export interface QueueForwarderOptions {
  /** Sets a throttled record's visibility; by default on SLACK_QUEUE_URL's queue. */
  visibility?: QueueVisibility;
  post?: (webhookUrl: string, message: SlackMessage) => Promise<PostAnswer>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  minIntervalMs?: number;
}

/** What one queue record is posted as: a digest may take a few messages, anything else one. Never throws. */
export function slackMessagesFor(record: Pick<SQSRecord, 'body'>): {
  messages: SlackMessage[];
  kind: string;
} {
  const topic = topicMessageOf(record.body);
  let parsed: unknown;
  try {
    parsed = JSON.parse(topic.Sns.Message);
  } catch {
    parsed = undefined;
  }
  if (isRunDigest(parsed)) {
    try {
      return { messages: digestSlackMessages(parsed), kind: 'digest' };
    } catch {
      // A digest this version cannot render falls through to the text of the message.
    }
  }
  const { message, kind } = messageFor(topic as Pick<SNSEventRecord, 'Sns'>);
  return { messages: [message], kind };
}

export function createQueueForwarder(webhookUrl: () => Promise<string>, options: QueueForwarderOptions = {}) {
  let url: string | undefined;
  let lastPostAt: number | undefined;
  let visibility = options.visibility;
  const post = options.post ?? postToWebhook;
  return async (
    event: SQSEvent,
    context?: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<SQSBatchResponse> => {
    url ??= await webhookUrl();
    const records = event.Records ?? [];
    const rendered = records.map((record) => ({ record, ...slackMessagesFor(record) }));
    const target = url;
    const result = await deliverPaced(
      rendered.map((r) => ({ id: r.record.messageId, messages: r.messages })),
      (message) => post(target, message),
      {
        minIntervalMs: options.minIntervalMs ?? SLACK_MIN_INTERVAL_MS,
        now: options.now ?? Date.now,
        sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
        remainingMs: () => context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY,
        reserveMs: RESERVE_MS,
        ...(lastPostAt === undefined ? {} : { lastPostAt }),
      },
    );
    lastPostAt = result.lastPostAt;
    const kinds = new Map(rendered.map((r) => [r.record.messageId, r.kind]));
    for (const id of result.delivered)
      logger.info('forwarded to Slack', { kind: kinds.get(id), messageId: id });
    for (const f of result.failed)
      logger.error('could not forward to Slack', {
        kind: kinds.get(f.id),
        messageId: f.id,
        reason: f.reason,
      });

    const throttled = result.failed.filter((f) => f.retryAfterSeconds !== undefined);
    if (throttled.length > 0) {
      visibility ??= defaultVisibility();
      const handles = new Map(records.map((r) => [r.messageId, r.receiptHandle]));
      const notChanged = visibility
        ? await visibility.delay(
            throttled.map((f) => ({
              id: f.id,
              receiptHandle: handles.get(f.id) ?? '',
              seconds: f.retryAfterSeconds ?? 0,
            })),
          )
        : throttled.map((f) => f.id);
      if (notChanged.length)
        logger.warn('Retry-After not applied; the queue visibility timeout applies', { notChanged });
    }
    return { batchItemFailures: result.failed.map((f) => ({ itemIdentifier: f.id })) };
  };
}

function defaultVisibility(): QueueVisibility | undefined {
  const queueUrl = process.env.SLACK_QUEUE_URL;
  return queueUrl ? new QueueVisibility(new SQSClient({}), queueUrl) : undefined;
}
