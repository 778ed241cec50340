/**
 * The alert topic and the key that encrypts it (and the state secrets). CloudWatch alarms publish
 * to an encrypted topic as the CloudWatch service, not as a role, so both the topic policy and the
 * key policy must allow `cloudwatch.amazonaws.com`, limited to this account and this watchdog's
 * alarms (by name prefix: the key cannot name the alarms themselves, which depend on it through the
 * topic). `enforceSSL` adds a Deny for every publisher not using TLS.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

export interface AlertTopicProps {
  /** Every alarm that publishes to the topic is named with this prefix. */
  readonly alarmNamePrefix: string;
}

export interface AlertTopic {
  readonly key: kms.Key;
  readonly topic: sns.Topic;
}

/**
 * The key and the topic, created directly in `scope` (as `Key` and `AlertTopic`): their logical IDs
 * must never change, or the state secrets would lose their key.
 */
export function createAlertTopic(scope: Construct, props: AlertTopicProps): AlertTopic {
  const stack = Stack.of(scope);
  const alarms = {
    StringEquals: { 'aws:SourceAccount': stack.account },
    ArnLike: {
      'aws:SourceArn': stack.formatArn({
        service: 'cloudwatch',
        resource: 'alarm',
        resourceName: `${props.alarmNamePrefix}*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    },
  };
  const key = new kms.Key(scope, 'Key', {
    description: `rs-cert-watchdog ${stack.stackName}: state secrets and alert topic`,
    enableKeyRotation: true,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowThisWatchdogsAlarmsToUseTheAlertTopic',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: alarms,
    }),
  );
  const topic = new sns.Topic(scope, 'AlertTopic', {
    displayName: 'rs-cert-watchdog alerts',
    masterKey: key,
    enforceSSL: true,
  });
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowThisWatchdogsAlarmsToPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: alarms,
    }),
  );
  return { key, topic };
}
