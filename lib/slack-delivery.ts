/**
 * Slack delivery through a queue: the alert topic → an SQS queue → the forwarder function, which
 * posts to the webhook at Slack's pace (about one message a second: a reserved concurrency of 1 and
 * a pacing wait in lambdas/wiring/slack-forwarding.ts), reports partial batch failures, and leaves
 * what never gets through in a dead-letter queue, which is alarmed.
 *
 * - The subscription is not raw: each body is SNS's envelope, which keeps the Subject (the only
 *   title of a message that is neither an alert nor an alarm) and SNS's MessageId.
 * - Both queues are encrypted with the stack's key and refuse any request without TLS; SNS may use
 *   the key for this account's topics only, and only the alert topic may send to the queue.
 * - The queue's visibility timeout is six times the function's, as AWS advises for a function with a
 *   low reserved concurrency; a message is given `maxReceiveCount` receives (each throttled or failed
 *   attempt counts) before it is dead-lettered, about an hour of retries.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { deadLetterAlarm } from './fleet-alarms';

/** Records per invocation: ten posts at 1.1 s fit well inside the function's timeout. */
export const SLACK_BATCH_SIZE = 10;
/** Receives before a message is dead-lettered (AWS advises at least 5 with a low reserved concurrency). */
export const SLACK_MAX_RECEIVE_COUNT = 10;
/** The forwarder's timeout: a batch of ten, a Retry-After or two, and the reserve for one post. */
export const SLACK_FORWARDER_TIMEOUT = Duration.seconds(60);

export interface SlackDeliveryProps {
  readonly topic: sns.ITopic;
  readonly key: kms.IKey;
  readonly forwarder: lambda.Function;
  readonly alarmNamePrefix: string;
}

export interface SlackDelivery {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly deadLetterAlarm: cloudwatch.Alarm;
}

export function slackDelivery(scope: Construct, props: SlackDeliveryProps): SlackDelivery {
  const deadLetterQueue = new sqs.Queue(scope, 'SlackDeadLetterQueue', {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: props.key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const queue = new sqs.Queue(scope, 'SlackQueue', {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: props.key,
    enforceSSL: true,
    visibilityTimeout: Duration.seconds(6 * SLACK_FORWARDER_TIMEOUT.toSeconds()),
    retentionPeriod: Duration.days(4),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: SLACK_MAX_RECEIVE_COUNT },
  });
  subscribe(scope, props.topic, queue, props.key);
  props.forwarder.addEventSource(
    new SqsEventSource(queue, { batchSize: SLACK_BATCH_SIZE, reportBatchItemFailures: true }),
  );
  props.forwarder.addEnvironment('SLACK_QUEUE_URL', queue.queueUrl);
  const alarm = deadLetterAlarm(scope, 'SlackDeadLetterAlarm', {
    queue: deadLetterQueue,
    alarmName: `${props.alarmNamePrefix}SlackDeadLetters`,
    description:
      'alerts could not be posted to Slack (the webhook refused them or stayed unreachable for about an hour): they wait in the Slack dead-letter queue for 14 days. Fix the webhook, then move them back with `aws sqs start-message-move-task --source-arn <dead-letter queue ARN>`.',
    topic: props.topic,
  });
  return { queue, deadLetterQueue, deadLetterAlarm: alarm };
}

/**
 * The topic's subscription, without the CDK's SqsSubscription: that one adds to the key's policy a
 * statement naming the topic, and the topic is encrypted with the same key (a circular dependency).
 * Here the queue policy names the topic (only it may send), and the key lets SNS deliver for topics
 * of this account and region only.
 */
function subscribe(scope: Construct, topic: sns.ITopic, queue: sqs.Queue, key: kms.IKey): void {
  const stack = Stack.of(scope);
  const principal = new iam.ServicePrincipal('sns.amazonaws.com');
  const { policyDependable } = queue.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [principal],
      actions: ['sqs:SendMessage'],
      resources: [queue.queueArn],
      conditions: { ArnEquals: { 'aws:SourceArn': topic.topicArn } },
    }),
  );
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowThisAccountsTopicsToDeliverToTheEncryptedQueues',
      principals: [principal],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'sns', resource: '*' }) },
      },
    }),
  );
  const subscription = new sns.Subscription(scope, 'SlackQueueSubscription', {
    topic,
    endpoint: queue.queueArn,
    protocol: sns.SubscriptionProtocol.SQS,
    rawMessageDelivery: false,
  });
  if (policyDependable) subscription.node.addDependency(policyDependable);
}
