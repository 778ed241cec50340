/** The documented props of the CertificateWatchdog construct, and the functions it exposes. */
import type { Duration } from 'aws-cdk-lib';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { WatchdogConfig } from '../lambdas/domain/config/types';

/** An AWS Chatbot channel that receives the alert topic. */
export interface SlackChannelOptions {
  /** The Slack workspace ID, from the AWS Chatbot console after authorizing the workspace. */
  readonly slackWorkspaceId: string;
  /** The Slack channel ID (e.g. C0123ABCDEF), from the channel's details in Slack. */
  readonly slackChannelId: string;
  /**
   * Name of the Chatbot channel configuration.
   * @default `${stackName}-alerts`
   */
  readonly configurationName?: string;
}

export interface CertificateWatchdogProps {
  /**
   * The validated configuration (`loadConfig`). Its `aws` section sets the schedule, the Map
   * concurrency and the VPC; every cluster must name a `credentialsSecret` (no password may reach the
   * deployment). It is bundled into each function, with the PEM files it names.
   */
  readonly config: WatchdogConfig;
  /**
   * Name prefix under which version 0.1 kept its state secrets (ACME account, issued
   * certificates, locks); the first run moves them into the state table (`migrateLegacyState`).
   * Also names the alarms.
   * @default `rs-cert-watchdog/${stackName}`
   */
  readonly stateSecretPrefix?: string;
  /**
   * Whether executions start with MigrateState, which moves the state secrets of version 0.1
   * (under `stateSecretPrefix`) into the state table once, and then only reads one item. Turn it off
   * for a stack that never ran an earlier version, or once the migration is done (README, "State"):
   * the function, the state and their read access to the old secrets go away.
   * @default true
   */
  readonly migrateLegacyState?: boolean;
  /**
   * Also deliver alerts to Slack through AWS Chatbot (needs the workspace authorized in the Chatbot
   * console first). Independent of `alerts.slackWebhookSecret`, which posts through a webhook.
   * @default - no Chatbot channel
   */
  readonly slackChannelConfiguration?: SlackChannelOptions;
  /**
   * How long without a successful execution before the dead man's switch alarms. At most 7 days
   * (the longest window a CloudWatch alarm evaluates).
   * @default twice the longest gap between two scheduled runs
   */
  readonly heartbeatWindow?: Duration;
  /**
   * Longest an execution may run before it times out (and the timed-out alarm fires). The schedule
   * may not start runs more often than this.
   * @default Duration.hours(2)
   */
  readonly executionTimeout?: Duration;
  /**
   * Retention of the functions' and the state machine's logs.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Whether the schedule starts executions. Disable to deploy without running.
   * @default true
   */
  readonly scheduleEnabled?: boolean;
  /**
   * The AWS Parameters and Secrets Lambda Extension layer version ARN (arm64) for the check function,
   * for a region the CDK does not know. Also read from the context key `paramsAndSecretsLayerArn`.
   * @default the CDK's ARN for the stack's region
   */
  readonly paramsAndSecretsLayerArn?: string;
  /**
   * The fleet alarm on MinDaysLeft fires when the soonest certificate expiry of the fleet is fewer
   * than this many days away.
   * @default 7, or a quarter of the shortest lifetime the config promises when that is less
   */
  readonly minDaysLeftAlarmThreshold?: number;
  /**
   * The repository root: handlers are `lambdas/handlers/*.ts` under it, bundled with its
   * package-lock.json.
   * @default the directory above this file's `lib/`
   */
  readonly projectRoot?: string;
}

/** The functions of the watchdog, by role. */
export interface WatchdogFunctions {
  /** Reads every cluster, publishes the fleet metrics, lists what is due. Talks to the clusters. */
  readonly check: nodejs.NodejsFunction;
  /**
   * Obtains a certificate from its issuer (ACME with DNS-01 in Route 53, AWS Private CA, or a local CA)
   * and saves it in the state.
   */
  readonly issue: nodejs.NodejsFunction;
  /** Pushes the saved certificate to its cluster. */
  readonly push: nodejs.NodejsFunction;
  /** Checks the cluster holds and serves the pushed certificate. */
  readonly verify: nodejs.NodejsFunction;
  /** After a proxy or syncer push: alerts on, or force-updates, the cluster's Active-Active databases. */
  readonly activeActive: nodejs.NodejsFunction;
  /** Turns findings, renewals and failures into alerts on the topic; cleans up after a failure. */
  readonly notify: nodejs.NodejsFunction;
  /** Moves the state secrets of version 0.1 into the table; only with `migrateLegacyState`. */
  readonly migrateState?: nodejs.NodejsFunction;
  /**
   * Posts the topic's messages to a Slack webhook, from the Slack queue, paced; only with
   * `alerts.slackWebhookSecret`.
   */
  readonly slackForwarder?: nodejs.NodejsFunction;
}
