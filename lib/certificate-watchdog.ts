/**
 * CertificateWatchdog: the whole AWS deployment of rs-cert-watchdog as one L3 construct.
 *
 * A schedule starts a Step Functions workflow (./workflow.ts) that checks every cluster, alerts on
 * findings and renews due certificates through ACME. State (locks, certificates, pending markers,
 * push records, ARI windows, the inspection memory) lives in one DynamoDB table encrypted with the
 * construct's KMS key, private keys sealed with the same key (./state-table.ts); alerts go to an
 * SNS topic encrypted with the same key (email, optional Slack webhook forwarder, optional AWS Chatbot).
 * CloudWatch alarms watch the workflow itself, including a dead man's switch on successful runs.
 *
 * This file wires; each concern has its module: functions.ts (defaults and bundling),
 * bundled-config.ts, state-table.ts and secret-access.ts (IAM), alert-topic.ts, schedule.ts (checks at synth),
 * alarms.ts (heartbeat), dashboard.ts, nag.ts, params-and-secrets.ts, vpc.ts.
 */
import { fileURLToPath } from 'node:url';
import { Aws, Duration, Fn, Stack, Token } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { kindProblems } from '../lambdas/domain/certificate-kinds';
import { awsSchema, formatPath } from '../lambdas/domain/config/schema';
import { everyDnsProvider } from '../lambdas/domain/dns-settings';
import { ConfigError } from '../lambdas/domain/errors';
import { configuredLifetimes, scheduleGapProblem } from '../lambdas/domain/policy';
import { orderBudgetProblem } from '../lambdas/domain/renewal/order-budget';
import { RUNS_PREFIX } from '../lambdas/domain/run/objects';
import { watchdogAlarms } from './alarms';
import { createAlertTopic } from './alert-topic';
import { assertDeployable, writeBundledConfig } from './bundled-config';
import { watchdogDashboard } from './dashboard';
import { deadLetterAlarm, type FleetAlarmKey, fleetAlarms } from './fleet-alarms';
import { type WatchdogFunctionOptions, watchdogFunction } from './functions';
import {
  acknowledgeCustomResourceProvider,
  acknowledgeNagFindings,
  acknowledgeReportBucket,
  acknowledgeScheduleDeadLetterQueue,
} from './nag';
import { paramsAndSecretsLayer } from './params-and-secrets';
import { ReportBucket } from './report-bucket';
import {
  analyzeSchedule,
  assertScheduleSafe,
  defaultHeartbeatWindow,
  defaultMinDaysLeftThreshold,
  watchdogSchedules,
} from './schedule';
import {
  grantClusterRoles,
  grantIssuers,
  grantLegacyStateRead,
  grantSecretRead,
  grantSecretWrite,
  route53Access,
} from './secret-access';
import { SLACK_FORWARDER_TIMEOUT, type SlackDelivery, slackDelivery } from './slack-delivery';
import { FUNCTION_STATE_ACCESS, type StateArea, type StateRole, StateTable } from './state-table';
import { vpcPlacement } from './vpc';
import { issueStepTimeout, renewalWorkflow, STEP_TIMEOUTS } from './workflow';

export { logicalIdOf } from './nag';

/** The construct ID of the CDK's AwsCustomResource provider function (a stack singleton). */
const AWS_CUSTOM_RESOURCE_PROVIDER_ID = 'AWS679f53fac002430cb0da5b7982bd2287';

import type { CertificateWatchdogProps, WatchdogFunctions } from './props';

export type { CertificateWatchdogProps, SlackChannelOptions, WatchdogFunctions } from './props';

export class CertificateWatchdog extends Construct {
  /** Encrypts the state table, seals the private keys in it, and encrypts the alert topic. */
  public readonly key: kms.Key;
  /** Every alert: findings, renewals, failures and the alarms below. */
  public readonly alertTopic: sns.Topic;
  public readonly functions: WatchdogFunctions;
  public readonly stateMachine: sfn.StateMachine;
  public readonly schedule: scheduler.Schedule;
  /** One schedule per maintenance window, starting a run at its opening (same time zone). */
  public readonly windowSchedules: scheduler.Schedule[];
  /** No successful execution within the heartbeat window. */
  public readonly heartbeatAlarm: cloudwatch.Alarm;
  public readonly executionsFailedAlarm: cloudwatch.Alarm;
  public readonly executionsTimedOutAlarm: cloudwatch.Alarm;
  /** An alert could not be sent. */
  public readonly notifyErrorsAlarm: cloudwatch.Alarm;
  /**
   * One alarm per fleet metric that needs a person (MinDaysLeft, CertificatesExpired, expiring
   * within 7 and 14 days, CertificatesUnreadable, ClustersUnreadable, RenewalFailures); missing data
   * (no run published) is breaching.
   */
  public readonly fleetAlarms: Record<FleetAlarmKey, cloudwatch.Alarm>;
  /** Any message in the schedules' or the Slack forwarder's dead-letter queue. */
  public readonly deadLetterAlarms: cloudwatch.Alarm[];
  /**
   * The roles of the functions that read cluster secrets (check, push, verify, activeActive,
   * notify): what the trust policy of a cluster's `roleArn` in another account names.
   */
  public readonly clusterSecretReaders: iam.IRole[];
  /** Starts EventBridge Scheduler could not make after its retries. */
  public readonly scheduleDeadLetterQueue: sqs.Queue;
  /** The alert topic's messages on their way to Slack; only with `alerts.slackWebhookSecret`. */
  public readonly slackQueue?: sqs.Queue;
  /** What the Slack forwarder could not post after its retries. */
  public readonly slackDeadLetterQueue?: sqs.Queue;
  public readonly dashboard: cloudwatch.Dashboard;
  /**
   * Name prefix of the state secrets of version 0.1 (moved into the table by the first run)
   * and of the alarms.
   */
  public readonly stateSecretPrefix: string;
  /** Locks, certificates and their sealed keys, pending markers, push records, ARI windows. */
  public readonly stateTable: dynamodb.Table;
  /** Each run's report, page, plan and outcomes, and the cluster list the check map reads. */
  public readonly reportBucket: s3.Bucket;
  private readonly state: StateTable;

  constructor(scope: Construct, id: string, props: CertificateWatchdogProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { config } = props;
    // Refuses any secret that would ship in the bundle (passwords, webhook URL, EAB key, CA key).
    assertDeployable(config);
    const aws = awsSchema.parse(config.aws ?? {});
    const executionTimeout = props.executionTimeout ?? Duration.hours(2);
    const schedule = analyzeSchedule(aws.schedule, aws.timeZone);
    assertScheduleSafe(schedule, executionTimeout);
    // A schedule that can sleep through the renewal window of the shortest-lived certificate the
    // config promises (private CA validityDays, ACME profile) is refused, with the gap DST can add.
    const missed = scheduleGapProblem(
      aws.schedule,
      schedule.maxGapWithDst.toMilliseconds(),
      configuredLifetimes(config),
      config.renewBeforeDays,
    );
    if (missed)
      throw new ConfigError(`aws.schedule: ${missed.message}`, { hint: 'schedule runs more often' });
    // Let's Encrypt refills 100 new orders an hour: runs closer than 3 hours share its 300.
    const overBudget = orderBudgetProblem(config, schedule.minGap.toSeconds() / 3600);
    if (overBudget)
      throw new ConfigError(`acme.orderBudget: ${overBudget.message}`, {
        hint: `set acme.orderBudget to ${overBudget.maxBudget} or less`,
      });
    // RS 8.x: internode certificates (private CA, RSA, renewed more than 5 days plus the longest gap
    // between runs before they expire) and what must never be managed; the same rules as at load.
    const kinds = kindProblems(config, schedule.maxGapWithDst.toMilliseconds());
    if (kinds.length > 0)
      throw new ConfigError(
        `the configuration cannot be deployed:\n${kinds.map((k) => `  ${formatPath(k.path)}: ${k.message}`).join('\n')}`,
        {
          hint: 'fix each line above; the README section "Internode encryption certificates" explains the rules',
        },
      );
    const projectRoot = props.projectRoot ?? fileURLToPath(new URL('..', import.meta.url));
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    this.stateSecretPrefix = props.stateSecretPrefix ?? `rs-cert-watchdog/${stack.stackName}`;
    const alarmNamePrefix = `${this.stateSecretPrefix.replace(/[^A-Za-z0-9_-]/g, '-')}-`;

    const { key, topic } = createAlertTopic(this, { alarmNamePrefix });
    this.key = key;
    this.alertTopic = topic;
    for (const email of config.alerts.emails) {
      this.alertTopic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    this.state = new StateTable(this, this.key);
    this.stateTable = this.state.table;
    const reports = new ReportBucket(this, 'Reports', {
      key: this.key,
      retentionDays: aws.reportRetentionDays,
      clusters: config.clusters,
      logRetention,
    });
    this.reportBucket = reports.bucket;
    const migrateLegacyState = props.migrateLegacyState ?? true;

    // Functions.
    const configDir = writeBundledConfig(config);
    const inVpc = aws.vpc && vpcPlacement(this, aws.vpc);
    const defaults: Omit<WatchdogFunctionOptions, 'timeout'> = {
      projectRoot,
      logRetention,
      configDir,
      // The config is beside each function's code (lambdas/wiring/runtime.ts finds it there).
      environment: {
        STATE_TABLE_NAME: this.stateTable.tableName,
        STATE_KMS_KEY_ID: this.key.keyArn,
        ALERT_TOPIC_ARN: this.alertTopic.topicArn,
      },
    };
    const fn = (
      name: string,
      options: Partial<WatchdogFunctionOptions> & Pick<WatchdogFunctionOptions, 'timeout'>,
    ) => watchdogFunction(this, name, { ...defaults, ...options });
    // Reads cluster credentials through the Parameters and Secrets extension: no SDK client in its bundle.
    // Cluster secrets in another region need the SDK (the extension reads its own region only): only
    // then does the check function carry it.
    const region = Stack.of(this).region;
    // So do secrets read as another account's role (roleArn): the extension cannot assume roles.
    const foreignSecrets = config.clusters.some(
      (c) =>
        c.roleArn !== undefined ||
        [c.credentialsSecret, c.clientCertificate?.keySecret].some((id) => {
          const secretRegion = id?.match(/^arn:[^:]+:secretsmanager:([^:]+):/)?.[1];
          return secretRegion !== undefined && (Token.isUnresolved(region) || secretRegion !== region);
        }),
    );
    const check = fn('check', {
      ...(foreignSecrets ? { handlerFile: 'check-any-region.ts' } : {}),
      timeout: STEP_TIMEOUTS.check,
      paramsAndSecrets: paramsAndSecretsLayer(this, props.paramsAndSecretsLayerArn),
      ...inVpc,
    });
    // 1,769 MB is one full vCPU: RSA key generation takes seconds at 128 MB. Its timeout follows the
    // longest DNS propagation wait the config allows. An RFC 2136 nameserver is usually private:
    // with aws.vpc, issue then runs in the VPC too (it needs a NAT gateway to reach the ACME CA).
    const rfc2136 = everyDnsProvider(config).some(({ provider }) => provider.provider === 'rfc2136');
    const issue = fn('issue', {
      timeout: issueStepTimeout(config),
      memorySize: 1769,
      ...(rfc2136 ? inVpc : undefined),
    });
    const push = fn('push', { timeout: STEP_TIMEOUTS.push, ...inVpc });
    const verify = fn('verify', { timeout: STEP_TIMEOUTS.verify, ...inVpc });
    const activeActive = fn('active-active', { timeout: STEP_TIMEOUTS.activeActive, ...inVpc });
    // Notify reads the cluster too: a push that ran out of 409 retries is reported with the nodes behind.
    const notify = fn('notify', { timeout: STEP_TIMEOUTS.notify, ...inVpc });
    let slackForwarder: nodejs.NodejsFunction | undefined;
    let slack: SlackDelivery | undefined;
    if (config.alerts.slackWebhookSecret) {
      const webhook = config.alerts.slackWebhookSecret;
      slackForwarder = fn('slack-forwarder', {
        timeout: SLACK_FORWARDER_TIMEOUT,
        // One at a time: its pacing clock then spaces every post to the webhook (Slack: ~1 a second).
        reservedConcurrentExecutions: 1,
        // The webhook URL is the only thing it needs: no config, no state, no topic.
        configDir: undefined,
        // Name or ARN as written in the config: GetSecretValue takes either.
        environment: { SLACK_WEBHOOK_SECRET_ARN: webhook },
      });
      grantSecretRead(this, webhook, [slackForwarder]);
      // The topic reaches it through a queue (paced, retried, dead-lettered and alarmed).
      slack = slackDelivery(this, {
        topic: this.alertTopic,
        key: this.key,
        forwarder: slackForwarder,
        alarmNamePrefix,
      });
      this.slackQueue = slack.queue;
      this.slackDeadLetterQueue = slack.deadLetterQueue;
    }
    // Reads the state secrets of version 0.1 and moves them into the table, once.
    const migrateState = migrateLegacyState
      ? fn('migrate-state', {
          timeout: STEP_TIMEOUTS.migrateState,
          environment: { ...defaults.environment, STATE_SECRET_PREFIX: this.stateSecretPrefix },
        })
      : undefined;
    const workflowFunctions = {
      check,
      issue,
      push,
      verify,
      activeActive,
      notify,
      ...(migrateState ? { migrateState } : {}),
    };
    this.functions = { ...workflowFunctions, ...(slackForwarder ? { slackForwarder } : {}) };

    // Permissions: cluster credentials for the functions that talk to the clusters; state by area.
    // A cluster with a roleArn is read as that role (in its own account): its functions may assume
    // exactly that role, and need no access to its secrets themselves (the role reads them, and
    // writes a renewed client certificate).
    const clusterReaders = [check, push, verify, activeActive, notify];
    this.clusterSecretReaders = clusterReaders.map((f) => f.role as iam.IRole);
    for (const cluster of config.clusters) {
      if (cluster.roleArn !== undefined) continue;
      if (cluster.credentialsSecret !== undefined)
        grantSecretRead(this, cluster.credentialsSecret, clusterReaders);
      // Certificate login: every connection presents the client certificate, whose key is this
      // secret; push writes a renewed one there as a new version.
      const keySecret = cluster.clientCertificate?.keySecret;
      if (keySecret !== undefined) {
        grantSecretRead(this, keySecret, clusterReaders);
        if (cluster.clientCertificate?.issuer) grantSecretWrite(this, keySecret, [push]);
      }
    }
    grantClusterRoles(config, clusterReaders);
    const stateGrants = (Object.keys(FUNCTION_STATE_ACCESS) as StateRole[]).flatMap((role) => {
      const fn = workflowFunctions[role];
      if (!fn) return [];
      const needs = FUNCTION_STATE_ACCESS[role];
      this.state.grantFunction(fn, needs);
      return [{ fn, areas: Object.keys(needs) as StateArea[] }];
    });
    if (migrateState) grantLegacyStateRead(this, this.stateSecretPrefix, this.key, migrateState);
    // The issuers the config names: AWS Private CA on those CAs only, local CA keys, the EAB key.
    grantIssuers(this, config, issue);
    // Not the topic's grantPublish: it allows kms:Decrypt of the stack key for anything, and that key
    // also seals the private keys. Through SNS only, the key serves the topic and nothing else.
    iam.Grant.addToPrincipal({
      grantee: notify,
      actions: ['sns:Publish'],
      resourceArns: [this.alertTopic.topicArn],
    });
    iam.Grant.addToPrincipal({
      grantee: notify,
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resourceArns: [this.key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `sns.${stack.region}.amazonaws.com` } },
    });
    // Issue publishes and removes its challenges (on every path, in its own finally): the DNS-01
    // grants (Route 53, the providers' secrets) are its alone, in grantIssuers.
    const route53 = route53Access(config);
    const route53ChangePollers = route53 ? [issue] : [];

    // The report bucket: check writes each shard's parts and the run's objects, and reads them back in
    // Gather; notify reads the findings and the outcomes, and writes the digest and the alert list.
    for (const f of [check, notify]) {
      f.addEnvironment('REPORT_BUCKET_NAME', this.reportBucket.bucketName);
      f.addEnvironment('REPORT_KMS_KEY_ID', this.key.keyArn);
    }
    const runObjects = `${RUNS_PREFIX}*`;
    const notifyWrites = [`${RUNS_PREFIX}*/alerts.json`, `${RUNS_PREFIX}*/digest.json`];
    reports.grantObjects(check, { read: [runObjects], write: [runObjects] });
    reports.grantObjects(notify, { read: [runObjects], write: notifyWrites });

    // Workflow.
    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      // Step Functions writes its logs through CloudWatch Logs vended delivery, whose resource policy
      // covers /aws/vendedlogs/* only; any other name would grow the account's policy per state machine.
      // The stack ID's UUID keeps the name free when a deleted stack's retained log group remains.
      logGroupName: `/aws/vendedlogs/states/${alarmNamePrefix}${Fn.select(2, Fn.split('/', Aws.STACK_ID))}`,
      retention: logRetention,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(
        renewalWorkflow(this, workflowFunctions, {
          mapConcurrency: aws.mapConcurrency,
          pushRetry: config.pushRetry,
          checkShards: aws.checkShards,
          reportBucket: this.reportBucket,
        }),
      ),
      timeout: executionTimeout,
      // Errors only, without execution data: outputs carry no secret, but certificates and cluster
      // details need not be copied into another log.
      logs: { destination: logGroup, level: sfn.LogLevel.ERROR, includeExecutionData: false },
      tracingEnabled: false,
    });
    // The renewals map reads each run's due list (its key is in the state, so CDK cannot scope it);
    // both maps' ResultWriter writes under runs/results (CDK grants that, and the cluster list's read).
    reports.grantObjects(this.stateMachine, { read: [runObjects], write: [runObjects] });

    ({
      run: this.schedule,
      windows: this.windowSchedules,
      deadLetterQueue: this.scheduleDeadLetterQueue,
    } = watchdogSchedules(this, {
      stateMachine: this.stateMachine,
      config,
      aws,
      executionTimeout,
      enabled: props.scheduleEnabled ?? true,
      key: this.key,
    }));

    const alarms = watchdogAlarms(this, {
      stateMachine: this.stateMachine,
      notify,
      topic: this.alertTopic,
      alarmNamePrefix,
      heartbeatWindow: props.heartbeatWindow ?? defaultHeartbeatWindow(schedule),
      schedule: aws.schedule,
      logRetention,
    });
    this.heartbeatAlarm = alarms.heartbeat;
    this.executionsFailedAlarm = alarms.executionsFailed;
    this.executionsTimedOutAlarm = alarms.executionsTimedOut;
    this.notifyErrorsAlarm = alarms.notifyErrors;
    const scheduleDeadLetters = deadLetterAlarm(this, 'ScheduleDeadLetterAlarm', {
      queue: this.scheduleDeadLetterQueue,
      alarmName: `${alarmNamePrefix}ScheduleDeadLetters`,
      description:
        'EventBridge Scheduler could not start a run after its retries (the state machine, its role or a quota): the failed start waits in the schedule dead-letter queue. Start a run by hand, and see the message for the reason.',
      topic: this.alertTopic,
    });
    const fleet = fleetAlarms(this, {
      topic: this.alertTopic,
      alarmNamePrefix,
      stateMachine: this.stateMachine,
      // The real gap, a daylight-saving hour included: an on-time run always lands in the window.
      maxGap: schedule.maxGapWithDst,
      minDaysLeftThreshold: props.minDaysLeftAlarmThreshold ?? defaultMinDaysLeftThreshold(config),
      logRetention,
    });
    this.fleetAlarms = fleet.alarms;
    this.deadLetterAlarms = [scheduleDeadLetters, ...(slack ? [slack.deadLetterAlarm] : [])];

    if (props.slackChannelConfiguration) {
      const slack = props.slackChannelConfiguration;
      new chatbot.SlackChannelConfiguration(this, 'SlackChannel', {
        slackChannelConfigurationName: slack.configurationName ?? `${stack.stackName}-alerts`,
        slackWorkspaceId: slack.slackWorkspaceId,
        slackChannelId: slack.slackChannelId,
        notificationTopics: [this.alertTopic],
        loggingLevel: chatbot.LoggingLevel.ERROR,
      });
    }

    this.dashboard = watchdogDashboard(this, {
      stateMachine: this.stateMachine,
      alarms: [
        this.heartbeatAlarm,
        this.executionsFailedAlarm,
        this.executionsTimedOutAlarm,
        this.notifyErrorsAlarm,
        ...Object.values(this.fleetAlarms),
        ...this.deadLetterAlarms,
      ],
      renewBeforeDays: config.renewBeforeDays,
      fleetPeriod: fleet.period,
      certificateLogGroups: [check.logGroup],
    });
    acknowledgeNagFindings({
      functions: { ...this.functions },
      workflowFunctions: Object.values(workflowFunctions),
      stateMachine: this.stateMachine,
      stateGrants,
      legacyStatePrefix: migrateState ? this.stateSecretPrefix : undefined,
      route53ChangePollers,
      route53Access: route53,
      topicPublisher: notify,
    });
    acknowledgeReportBucket({
      bucket: this.reportBucket,
      deploymentRole: reports.clusterList.handlerRole,
      deploymentHandler: reports.clusterList.handlerRole.node.scope as Construct,
      stateMachine: this.stateMachine,
      objectGrants: [
        {
          scope: check,
          patterns: [runObjects],
          reason:
            "Each run's objects under runs/<execution>/ (shard parts, due list, findings, report, page), and the maps' results Gather reads; run names are only known at run time.",
        },
        {
          scope: notify,
          patterns: [runObjects, ...notifyWrites],
          reason:
            "Reads a run's findings, due list and the renewals map's results; writes only that run's alerts.json and digest.json; run names are only known at run time.",
        },
        {
          scope: this.stateMachine,
          patterns: [runObjects],
          reason:
            "The renewals map's ItemReader reads the run's due list (its key is in the state) and both ResultWriters write under runs/results/.",
        },
      ],
    });
    acknowledgeCustomResourceProvider(alarms.deployedHeartbeat);
    acknowledgeCustomResourceProvider(fleet.deployed);
    acknowledgeScheduleDeadLetterQueue(this.scheduleDeadLetterQueue);
    const provider = stack.node.tryFindChild(AWS_CUSTOM_RESOURCE_PROVIDER_ID);
    if (provider) acknowledgeCustomResourceProvider(provider);
  }

  /**
   * Exactly what an operator's rollback needs: start an execution of the state machine (with
   * `{"rollback": [{"cluster", "certificate"}]}`) and follow it. The rollback itself runs with the
   * functions' permissions, so the operator reads no key and writes no state.
   */
  public grantRollback(grantee: iam.IGrantable): iam.Grant {
    const start = this.stateMachine.grantStartExecution(grantee);
    return start.combine(this.stateMachine.grantExecution(grantee, 'states:DescribeExecution'));
  }

  /**
   * Read access to every item of the state table (GetItem, Query, Scan) and to the keys sealed in it
   * (kms:Decrypt for those items): for an operator's role that inspects the state.
   */
  public grantStateRead(grantee: iam.IGrantable): iam.Grant {
    return this.state.grantAll(grantee, 'read');
  }

  /**
   * Read and write access to every item of the state table, e.g. to release a lock by hand (delete
   * its item) or restore an entry. A rollback needs none of it: see grantRollback.
   */
  public grantStateReadWrite(grantee: iam.IGrantable): iam.Grant {
    return this.state.grantAll(grantee, 'readWrite');
  }
}
