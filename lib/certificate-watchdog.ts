/**
 * CertificateWatchdog: the whole AWS deployment of rs-cert-watchdog as one L3 construct.
 *
 * A schedule starts a Step Functions workflow (./workflow.ts) that checks every cluster, alerts on
 * findings and renews due certificates through ACME. State (ACME account, issued certificates, locks)
 * lives in Secrets Manager under one prefix, encrypted with the construct's KMS key; alerts go to an
 * SNS topic encrypted with the same key (email, optional Slack webhook forwarder, optional AWS Chatbot).
 * CloudWatch alarms watch the workflow itself, including a dead man's switch on successful runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Annotations,
  ArnFormat,
  type CfnElement,
  Duration,
  Fn,
  Stack,
  TimeZone,
  Validations,
} from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DEPLOYED_CONFIG_MARKER, readPemFile, type WatchdogConfig } from '../lambdas/domain/config';
import { configSchema } from '../lambdas/domain/config-schema';
import { renewalWorkflow } from './workflow';

/** Where the handlers find the config inside every bundle (the bundle root is /var/task). */
export const BUNDLED_CONFIG_FILE = 'watchdog-config.json';
/** The CloudWatch namespace and service name the handlers publish under (Powertools). */
export const METRICS_NAMESPACE = 'RsCertWatchdog';
export const SERVICE_NAME = 'rs-cert-watchdog';

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
   * Name prefix of the state secrets (ACME account, issued certificates, locks). The functions may
   * only touch secrets under `${stateSecretPrefix}/`.
   * @default `rs-cert-watchdog/${stackName}`
   */
  readonly stateSecretPrefix?: string;
  /**
   * Also deliver alerts to Slack through AWS Chatbot (needs the workspace authorized in the Chatbot
   * console first). Independent of `alerts.slackWebhookSecret`, which posts through a webhook.
   * @default - no Chatbot channel
   */
  readonly slackChannelConfiguration?: SlackChannelOptions;
  /**
   * How long without a successful execution before the dead man's switch alarms. At most 7 days
   * (the longest window a CloudWatch alarm evaluates).
   * @default twice the interval of a `rate(...)` schedule, 2 days for a `cron(...)` schedule
   */
  readonly heartbeatWindow?: Duration;
  /**
   * Longest an execution may run before it times out (and the timed-out alarm fires).
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
   * The repository root: handlers are `lambdas/handlers/*.ts` under it, bundled with its
   * package-lock.json.
   * @default the directory above this file's `lib/`
   */
  readonly projectRoot?: string;
}

/** The functions of the watchdog, by role. */
export interface WatchdogFunctions {
  /** Reads every cluster, publishes DaysLeft, lists what is due. Talks to the clusters. */
  readonly check: nodejs.NodejsFunction;
  /** Obtains a certificate through ACME (DNS-01 in Route 53) and saves it in the state. */
  readonly issue: nodejs.NodejsFunction;
  /** Pushes the saved certificate to its cluster. */
  readonly push: nodejs.NodejsFunction;
  /** Checks the cluster holds and serves the pushed certificate. */
  readonly verify: nodejs.NodejsFunction;
  /** Turns findings, renewals and failures into alerts on the topic. */
  readonly notify: nodejs.NodejsFunction;
  /** Posts the topic's alerts to a Slack webhook; only with `alerts.slackWebhookSecret`. */
  readonly slackForwarder?: nodejs.NodejsFunction;
}

export class CertificateWatchdog extends Construct {
  /** Encrypts the state secrets and the alert topic. */
  public readonly key: kms.Key;
  /** Every alert: findings, renewals, failures and the alarms below. */
  public readonly alertTopic: sns.Topic;
  public readonly functions: WatchdogFunctions;
  public readonly stateMachine: sfn.StateMachine;
  public readonly schedule: scheduler.Schedule;
  /** No successful execution within the heartbeat window. */
  public readonly heartbeatAlarm: cloudwatch.Alarm;
  public readonly executionsFailedAlarm: cloudwatch.Alarm;
  public readonly executionsTimedOutAlarm: cloudwatch.Alarm;
  public readonly dashboard: cloudwatch.Dashboard;
  /** Name prefix of the state secrets. */
  public readonly stateSecretPrefix: string;
  private route53ZoneId: string | undefined;

  constructor(scope: Construct, id: string, props: CertificateWatchdogProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { config } = props;
    assertDeployable(config);
    if (config.acme?.eab) {
      Annotations.of(this).addWarningV2(
        'rs-cert-watchdog:eabInBundle',
        'acme.eab.hmacKey is bundled into the Lambda code package (not the template): anyone who may ' +
          'lambda:GetFunction can read it.',
      );
    }
    const aws = configSchema.shape.aws.unwrap().parse(config.aws ?? {});
    const projectRoot = props.projectRoot ?? fileURLToPath(new URL('..', import.meta.url));
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    this.stateSecretPrefix = props.stateSecretPrefix ?? `rs-cert-watchdog/${stack.stackName}`;

    this.key = new kms.Key(this, 'Key', {
      description: `rs-cert-watchdog ${stack.stackName}: state secrets and alert topic`,
      enableKeyRotation: true,
    });
    // CloudWatch alarms publish to the encrypted topic as the CloudWatch service, not as a role.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToUseTheAlertTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    this.alertTopic = new sns.Topic(this, 'AlertTopic', {
      displayName: 'rs-cert-watchdog alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const email of config.alerts.emails) {
      this.alertTopic.addSubscription(new subscriptions.EmailSubscription(email));
    }

    // Functions.
    const configDir = writeBundledConfig(config);
    const vpcPlacement = aws.vpc && this.vpcPlacement(aws.vpc);
    const environment = {
      WATCHDOG_CONFIG_FILE: `/var/task/${BUNDLED_CONFIG_FILE}`,
      STATE_SECRET_PREFIX: this.stateSecretPrefix,
      STATE_KMS_KEY_ID: this.key.keyArn,
      ALERT_TOPIC_ARN: this.alertTopic.topicArn,
    };
    const fn = (name: string, options: FunctionOptions) =>
      this.watchdogFunction(name, { projectRoot, logRetention, configDir, environment, ...options });
    // Reads cluster credentials through the Parameters and Secrets extension: no SDK client in its bundle.
    const check = fn('check', { timeout: Duration.minutes(2), secretsExtension: true, ...vpcPlacement });
    const issue = fn('issue', { timeout: Duration.minutes(5), memorySize: 1769 });
    const push = fn('push', { timeout: Duration.minutes(1), ...vpcPlacement });
    const verify = fn('verify', { timeout: Duration.minutes(1), ...vpcPlacement });
    // Notify reads the cluster too: a push that ran out of 409 retries is reported with the nodes behind.
    const notify = fn('notify', { timeout: Duration.seconds(30), ...vpcPlacement });
    let slackForwarder: nodejs.NodejsFunction | undefined;
    if (config.alerts.slackWebhookSecret) {
      const webhook = config.alerts.slackWebhookSecret;
      slackForwarder = fn('slack-forwarder', {
        timeout: Duration.seconds(30),
        // The webhook URL is the only thing it needs: no config, no state, no topic.
        configDir: undefined,
        // Name or ARN as written in the config: GetSecretValue takes either.
        environment: { SLACK_WEBHOOK_SECRET_ARN: webhook },
      });
      this.grantSecretRead('SlackWebhookSecret', webhook, [slackForwarder]);
      this.alertTopic.addSubscription(new subscriptions.LambdaSubscription(slackForwarder));
    }
    this.functions = { check, issue, push, verify, notify, ...(slackForwarder ? { slackForwarder } : {}) };

    // Permissions. Cluster credentials: the functions that talk to the clusters.
    config.clusters.forEach((cluster, i) => {
      this.grantSecretRead(`ClusterCredentials${i}`, cluster.credentialsSecret as string, [
        check,
        push,
        verify,
        notify,
      ]);
    });
    // State: issue creates the account, the certificate and lock claims; push saves the pushed and
    // previous certificates; verify records verifiedAt; notify reads. Nothing deletes.
    this.grantState(issue, STATE_READ_WRITE);
    this.grantState(push, STATE_READ_WRITE);
    this.grantState(verify, STATE_READ_WRITE);
    this.grantState(notify, STATE_READ);
    this.alertTopic.grantPublish(notify);
    if (config.dns?.provider === 'route53') this.grantAcmeChallenges(issue, config.dns.hostedZoneId);

    // Workflow.
    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', { retention: logRetention });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(
        renewalWorkflow(
          this,
          { check, issue, push, verify, notify },
          { mapConcurrency: aws.mapConcurrency, pushRetry: config.pushRetry },
        ),
      ),
      timeout: props.executionTimeout ?? Duration.hours(2),
      // Errors only, without execution data: outputs carry no secret, but certificates and cluster
      // details need not be copied into another log.
      logs: { destination: logGroup, level: sfn.LogLevel.ERROR, includeExecutionData: false },
      tracingEnabled: false,
    });

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Starts the rs-cert-watchdog check and renewal workflow',
      schedule: scheduler.ScheduleExpression.expression(aws.schedule, TimeZone.of(aws.timeZone)),
      target: new StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
      }),
      timeWindow: scheduler.TimeWindow.off(),
      enabled: props.scheduleEnabled ?? true,
    });

    // Alarms: the workflow itself must not fail silently, nor stop running.
    const alarmAction = new SnsAction(this.alertTopic);
    const heartbeat = heartbeatEvaluation(props.heartbeatWindow ?? defaultHeartbeatWindow(aws.schedule));
    this.heartbeatAlarm = this.stateMachine
      .metricSucceeded({ statistic: cloudwatch.Stats.SUM, period: heartbeat.period })
      .createAlarm(this, 'HeartbeatAlarm', {
        alarmDescription: `rs-cert-watchdog ${stack.stackName}: no successful run within ${heartbeat.window.toHumanString()} (schedule ${aws.schedule}). Certificates are not being watched.`,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        threshold: 1,
        evaluationPeriods: heartbeat.evaluationPeriods,
        datapointsToAlarm: heartbeat.evaluationPeriods,
        // No executions at all is exactly what this alarm is for.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    this.heartbeatAlarm.addAlarmAction(alarmAction);
    this.heartbeatAlarm.addOkAction(alarmAction);
    const countAlarm = (id: string, metric: cloudwatch.Metric, description: string) => {
      const alarm = metric.createAlarm(this, id, {
        alarmDescription: `rs-cert-watchdog ${stack.stackName}: ${description}`,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        threshold: 1,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(alarmAction);
      return alarm;
    };
    const fiveMinutes = { statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) };
    this.executionsFailedAlarm = countAlarm(
      'ExecutionsFailedAlarm',
      this.stateMachine.metricFailed(fiveMinutes),
      'an execution failed (the check itself, or an alert could not be sent). See the state machine.',
    );
    this.executionsTimedOutAlarm = countAlarm(
      'ExecutionsTimedOutAlarm',
      this.stateMachine.metricTimedOut(fiveMinutes),
      'an execution timed out. See the state machine.',
    );

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

    this.dashboard = this.buildDashboard(config.renewBeforeDays);
    this.acknowledgeNagFindings();
  }

  private watchdogFunction(name: string, options: FunctionOptions & FunctionDefaults): nodejs.NodejsFunction {
    const id = pascalCase(name);
    const { configDir } = options;
    return new nodejs.NodejsFunction(this, `${id}Function`, {
      description: `rs-cert-watchdog ${name}`,
      entry: join(options.projectRoot, 'lambdas', 'handlers', `${name}.ts`),
      handler: 'handler',
      projectRoot: options.projectRoot,
      depsLockFilePath: join(options.projectRoot, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: options.memorySize ?? 256,
      ...(options.secretsExtension
        ? {
            paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersion(
              lambda.ParamsAndSecretsVersions.V1_0_103,
              { logLevel: lambda.ParamsAndSecretsLogLevel.WARN },
            ),
          }
        : {}),
      timeout: options.timeout,
      logGroup: new logs.LogGroup(this, `${id}Logs`, { retention: options.logRetention }),
      environment: {
        ...options.environment,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        NODE_OPTIONS: '--enable-source-maps',
      },
      ...(options.vpc
        ? { vpc: options.vpc, vpcSubnets: options.vpcSubnets, securityGroups: options.securityGroups }
        : {}),
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        // ESM bundles have no `require`, which some CommonJS dependencies still call.
        banner:
          "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
        minify: true,
        // Maps for stack traces only (NODE_OPTIONS=--enable-source-maps): without the sources they are a
        // fraction of the size, and Node parses them at every cold start.
        sourceMap: true,
        sourcesContent: false,
        // The AWS SDK is bundled, not taken from the runtime: the versions we test are the versions
        // that run, tree-shaken; leaving it external was measured to gain nothing at load (bench/).
        externalModules: [],
        esbuildArgs: {
          // acme-client loads its deprecated node-forge API eagerly; we never call it (node:crypto instead).
          '--alias:node-forge': join(options.projectRoot, 'lambdas', 'bundling', 'node-forge-unused.cjs'),
        },
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          // The config (4 KB env var limit) and its PEM files travel in the bundle.
          afterBundling: (_inputDir: string, outputDir: string) =>
            configDir ? [`cp -R "${configDir}/." "${outputDir}"`] : [],
        },
      },
    });
  }

  /** Lambda placement for the functions that talk to the clusters, from `aws.vpc`. */
  private vpcPlacement(vpc: NonNullable<WatchdogConfig['aws']>['vpc'] & object): VpcPlacement {
    // Imported by ID: no context lookup, so `cdk synth` needs no credentials.
    // Subnets are given explicitly below: the VPC's own AZ and subnet lists are never read.
    const importedVpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: vpc.vpcId,
      availabilityZones: Fn.getAzs(),
    });
    Validations.of(importedVpc).acknowledge({
      id: 'Annotation::@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
      reason: "The functions' subnets are given by ID; nothing reads the VPC's AZ or subnet lists.",
    });
    const subnets = vpc.subnetIds.map((subnetId) => {
      const subnet = ec2.Subnet.fromSubnetId(this, `Subnet-${subnetId}`, subnetId);
      Validations.of(subnet).acknowledge({
        id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
        reason: 'Lambda placement needs the subnet ID only; its route table is never read.',
      });
      return subnet;
    });
    const securityGroups =
      vpc.securityGroupIds.length > 0
        ? vpc.securityGroupIds.map((sg) =>
            ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup-${sg}`, sg),
          )
        : [
            new ec2.SecurityGroup(this, 'FunctionsSecurityGroup', {
              vpc: importedVpc,
              description: 'rs-cert-watchdog functions: outbound only (cluster APIs, AWS APIs)',
              allowAllOutbound: true,
            }),
          ];
    return { vpc: importedVpc, vpcSubnets: { subnets }, securityGroups };
  }

  /**
   * Reads a secret named in the config by name or ARN. A name or partial ARN is granted as
   * `<arn>-??????` (Secrets Manager appends a random suffix). An ARN that may already end with that
   * suffix is granted both ways: `-abc123` could be the suffix or the end of the name.
   */
  private grantSecretRead(id: string, nameOrArn: string, readers: lambda.IFunction[]): void {
    const imports: secretsmanager.ISecret[] = [];
    if (!nameOrArn.startsWith('arn:')) {
      imports.push(secretsmanager.Secret.fromSecretNameV2(this, id, nameOrArn));
    } else {
      imports.push(secretsmanager.Secret.fromSecretPartialArn(this, id, nameOrArn));
      if (/-[A-Za-z0-9]{6}$/.test(nameOrArn)) {
        imports.push(secretsmanager.Secret.fromSecretCompleteArn(this, `${id}Complete`, nameOrArn));
      }
    }
    for (const reader of readers) for (const secret of imports) secret.grantRead(reader);
  }

  /** The state secrets `${prefix}/*` and the key that encrypts them. No CDK grant covers a name prefix. */
  private grantState(grantee: lambda.IFunction, access: StateAccess): void {
    grantee.addToRolePolicy(
      new iam.PolicyStatement({
        actions: access.secretActions.map((a) => `secretsmanager:${a}`),
        // The trailing * also matches the random 6-character suffix Secrets Manager appends.
        resources: [this.stateSecretArnPattern()],
      }),
    );
    this.key.grant(grantee, ...access.keyActions.map((a) => `kms:${a}`));
  }

  private stateSecretArnPattern(): string {
    return Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${this.stateSecretPrefix}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /** DNS-01 challenges: TXT records named `_acme-challenge.*` in the one configured zone. */
  private grantAcmeChallenges(grantee: lambda.IFunction, hostedZoneId: string): void {
    this.route53ZoneId = hostedZoneId;
    const zoneArn = this.route53Arn('hostedzone', hostedZoneId);
    grantee.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['route53:ChangeResourceRecordSets'],
        resources: [zoneArn],
        conditions: {
          'ForAllValues:StringLike': {
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_acme-challenge.*'],
          },
          'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
        },
      }),
    );
    grantee.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['route53:ListResourceRecordSets'], resources: [zoneArn] }),
    );
    // Change IDs are not known in advance.
    grantee.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['route53:GetChange'],
        resources: [this.route53Arn('change', '*')],
      }),
    );
  }

  private route53Arn(resource: string, resourceName: string): string {
    return Stack.of(this).formatArn({ service: 'route53', region: '', account: '', resource, resourceName });
  }

  private buildDashboard(renewBeforeDays: number): cloudwatch.Dashboard {
    const search = (metricName: string, dimensions: string, statistic: string, period: Duration) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRICS_NAMESPACE},${dimensions}} MetricName="${metricName}"', '${statistic}', ${period.toSeconds()})`,
        usingMetrics: {},
        label: '',
        period,
      });
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(14),
    });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Days left, per cluster and certificate (minimum)',
        width: 24,
        height: 8,
        left: [search('DaysLeft', 'service,Cluster,Certificate', 'Minimum', Duration.hours(1))],
        leftYAxis: { min: 0, showUnits: false },
        leftAnnotations: [
          { value: renewBeforeDays, label: `renewal window (${renewBeforeDays} days)`, color: '#ff7f0e' },
        ],
        legendPosition: cloudwatch.LegendPosition.RIGHT,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Certificates renewed, per cluster',
        width: 8,
        left: [search('CertificatesRenewed', 'service,Cluster', 'Sum', Duration.days(1))],
        leftYAxis: { min: 0, showUnits: false },
      }),
      new cloudwatch.GraphWidget({
        title: 'Renewal failures and unreadable clusters, per cluster',
        width: 8,
        left: [
          search('RenewalFailures', 'service,Cluster', 'Sum', Duration.days(1)),
          search('ClusterCheckFailures', 'service,Cluster', 'Sum', Duration.days(1)),
        ],
        leftYAxis: { min: 0, showUnits: false },
      }),
      new cloudwatch.GraphWidget({
        title: 'Workflow executions',
        width: 8,
        left: [
          this.stateMachine.metricStarted({
            statistic: cloudwatch.Stats.SUM,
            period: Duration.hours(1),
            label: 'started',
          }),
          this.stateMachine.metricSucceeded({
            statistic: cloudwatch.Stats.SUM,
            period: Duration.hours(1),
            label: 'succeeded',
          }),
          this.stateMachine.metricFailed({
            statistic: cloudwatch.Stats.SUM,
            period: Duration.hours(1),
            label: 'failed',
          }),
          this.stateMachine.metricTimedOut({
            statistic: cloudwatch.Stats.SUM,
            period: Duration.hours(1),
            label: 'timed out',
          }),
        ],
        leftYAxis: { min: 0, showUnits: false },
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Watchdog alarms',
        width: 24,
        height: 3,
        alarms: [this.heartbeatAlarm, this.executionsFailedAlarm, this.executionsTimedOutAlarm],
      }),
    );
    return dashboard;
  }

  /**
   * cdk-nag AwsSolutions findings this design accepts, each with its reason. cdk-nag v3 needs each
   * finding acknowledged by its exact ID, which names resources as `<LogicalId.Attribute>`.
   */
  private acknowledgeNagFindings(): void {
    const ack = (scope: Construct, id: string, reason: string) =>
      Validations.of(scope).acknowledge({ id, reason });
    const functions = Object.values(this.functions) as nodejs.NodejsFunction[];
    for (const fn of functions) {
      ack(
        fn,
        'AwsSolutions-L1',
        'Pinned to nodejs22.x on purpose: the runtime the handlers are built (target node22) and tested for.',
      );
      ack(
        fn,
        `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]`,
        'The AWS managed basic execution role only allows writing CloudWatch Logs.',
      );
      if (fn.isBoundToVpc) {
        ack(
          fn,
          'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
          'The AWS managed VPC access role only manages the network interfaces Lambda needs in the VPC.',
        );
      }
    }
    const statePattern = `Resource::${nagReference(this, this.stateSecretArnPattern())}`;
    for (const fn of [
      this.functions.issue,
      this.functions.push,
      this.functions.verify,
      this.functions.notify,
    ]) {
      ack(
        fn,
        `AwsSolutions-IAM5[${statePattern}]`,
        'State secrets are created at run time (one per ACME account, certificate and lock) under the ' +
          "stack's own prefix; the trailing * also matches Secrets Manager's random 6-character suffix.",
      );
    }
    ack(
      this.functions.notify,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      "CDK's grantPublish on the encrypted topic: GenerateDataKey* on the topic's key only.",
    );
    if (this.route53ZoneId !== undefined) {
      ack(
        this.functions.issue,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::change/*]`,
        'route53:GetChange polls the change just submitted; change IDs are not known in advance.',
      );
    }
    for (const fn of [
      this.functions.check,
      this.functions.issue,
      this.functions.push,
      this.functions.verify,
      this.functions.notify,
    ]) {
      ack(
        this.stateMachine,
        `AwsSolutions-IAM5[Resource::<${logicalIdOf(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
        "CDK's LambdaInvoke grant: the function's versions and aliases (function ARN + ':*').",
      );
    }
    ack(
      this.stateMachine,
      'AwsSolutions-IAM5[Resource::*]',
      'Step Functions log delivery (logs:CreateLogDelivery and friends) does not support resource-level permissions.',
    );
    ack(
      this.stateMachine,
      'AwsSolutions-SF1',
      'Logs ERROR events only, without execution data: every failure is logged and alerted; outputs need no copy.',
    );
    ack(
      this.stateMachine,
      'AwsSolutions-SF2',
      'X-Ray is off: a daily workflow of a few Lambda calls; the state machine history already traces each run.',
    );
  }
}

/** Config checks only the AWS deployment needs: nothing secret may reach the template or bundle. */
export function assertDeployable(config: WatchdogConfig): void {
  const problems: string[] = [];
  for (const cluster of config.clusters) {
    const where = `clusters["${cluster.name}"]`;
    if (cluster.password !== undefined)
      problems.push(`${where}.password: not allowed in AWS mode; use credentialsSecret`);
    if (cluster.passwordEnv !== undefined)
      problems.push(`${where}.passwordEnv: not allowed in AWS mode; use credentialsSecret`);
    if (cluster.credentialsSecret === undefined)
      problems.push(
        `${where}.credentialsSecret: required in AWS mode (a Secrets Manager secret name or ARN)`,
      );
  }
  if (config.alerts.slackWebhookUrl !== undefined) {
    problems.push(
      'alerts.slackWebhookUrl: not allowed in AWS mode (it is a credential); use alerts.slackWebhookSecret',
    );
  }
  if (problems.length > 0) {
    throw new Error(`the configuration cannot be deployed:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

interface FunctionDefaults {
  readonly projectRoot: string;
  readonly logRetention: logs.RetentionDays;
  readonly configDir: string | undefined;
  readonly environment: Record<string, string>;
}

type FunctionOptions = Partial<FunctionDefaults> &
  Partial<VpcPlacement> & {
    readonly timeout: Duration;
    readonly memorySize?: number;
    /** Attach the AWS Parameters and Secrets Lambda Extension (GetSecretValue on localhost:2773). */
    readonly secretsExtension?: boolean;
  };

interface VpcPlacement {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroups: ec2.ISecurityGroup[];
}

interface StateAccess {
  readonly secretActions: string[];
  readonly keyActions: string[];
}

const STATE_READ: StateAccess = {
  secretActions: ['GetSecretValue', 'DescribeSecret'],
  keyActions: ['Decrypt'],
};
/**
 * write() and claim() are PutSecretValue, or CreateSecret (tagged) when the secret does not exist
 * yet. Locks are claims of the next generation of a lock secret: nothing is ever deleted.
 */
const STATE_READ_WRITE: StateAccess = {
  secretActions: [...STATE_READ.secretActions, 'PutSecretValue', 'CreateSecret', 'TagResource'],
  keyActions: ['Decrypt', 'Encrypt', 'GenerateDataKey'],
};

/**
 * The dead man's switch window: twice the interval of `rate(N unit)`, so one late or failed run does
 * not alarm but two do; two days for a cron expression (daily runs, by default at 06:00).
 */
export function defaultHeartbeatWindow(schedule: string): Duration {
  const rate = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$/.exec(schedule);
  if (!rate) return Duration.days(2);
  const n = Number(rate[1]);
  const unit = rate[2] as string;
  const interval = unit.startsWith('minute')
    ? Duration.minutes(n)
    : unit.startsWith('hour')
      ? Duration.hours(n)
      : Duration.days(n);
  return Duration.seconds(2 * interval.toSeconds());
}

export interface HeartbeatEvaluation {
  readonly window: Duration;
  readonly period: Duration;
  readonly evaluationPeriods: number;
}

/**
 * Splits the window into CloudWatch alarm periods: one period up to a day, else whole days (every
 * one of them must breach). CloudWatch evaluates at most 7 days (1 day for periods under an hour).
 */
export function heartbeatEvaluation(window: Duration): HeartbeatEvaluation {
  const day = 86_400;
  const seconds = Math.ceil(window.toSeconds() / 60) * 60;
  if (seconds > 7 * day) {
    throw new Error(
      `the heartbeat window (${window.toHumanString()}) is longer than the 7 days a CloudWatch alarm can ` +
        'evaluate: schedule the watchdog at least every 3.5 days, or set heartbeatWindow',
    );
  }
  if (seconds <= day) return { window, period: Duration.seconds(seconds), evaluationPeriods: 1 };
  const evaluationPeriods = Math.ceil(seconds / day);
  return { window: Duration.days(evaluationPeriods), period: Duration.days(1), evaluationPeriods };
}

const bundledConfigDirs: string[] = [];

/**
 * Writes the config as the handlers load it (`loadDeployedConfig`) into a temporary directory, with
 * the PEM files it names copied beside it under fixed names and referenced relatively. The bundling
 * hook copies the directory into every bundle. Removed when the process exits (after synth).
 */
export function writeBundledConfig(config: WatchdogConfig): string {
  const dir = mkdtempSync(join(tmpdir(), 'rs-cert-watchdog-config-'));
  if (bundledConfigDirs.length === 0) {
    process.once('exit', () => {
      for (const d of bundledConfigDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  bundledConfigDirs.push(dir);
  const copyPem = (path: string | undefined, field: string, name: string): string | undefined => {
    if (path === undefined) return undefined;
    writeFileSync(join(dir, name), readPemFile(path, field));
    return name;
  };
  const bundled: WatchdogConfig = {
    ...config,
    $schema: undefined,
    // Only /tmp is writable in Lambda; a path of the machine that ran synth would mean nothing there.
    stateDir: '/tmp/rs-cert-watchdog',
    acme: config.acme && {
      ...config.acme,
      caFile: copyPem(config.acme.caFile, 'acme.caFile', 'acme-ca.pem'),
    },
    clusters: config.clusters.map((c) => ({
      ...c,
      caFile: copyPem(c.caFile, `clusters["${c.name}"].caFile`, `cluster-${c.name}-ca.pem`),
    })),
  };
  const document = { marker: DEPLOYED_CONFIG_MARKER, config: bundled };
  writeFileSync(join(dir, BUNDLED_CONFIG_FILE), `${JSON.stringify(document, null, 2)}\n`);
  return dir;
}

/** The logical ID of a resource, as the template will show it. */
export function logicalIdOf(element: CfnElement): string {
  return Stack.of(element).resolve(element.logicalId) as string;
}

/**
 * A value as cdk-nag names it in finding IDs: tokens resolved, then `Ref` as `<Name>`, `Fn::GetAtt`
 * as `<Name.Attribute>`, `Fn::Join` joined.
 */
export function nagReference(scope: Construct, value: string): string {
  const flatten = (node: unknown): string => {
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
    if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (Array.isArray(o['Fn::Join'])) {
        const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
        return items.map(flatten).join(delimiter);
      }
      if (Array.isArray(o['Fn::GetAtt'])) {
        const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
        return `<${flatten(resource)}.${flatten(attribute)}>`;
      }
      if (o.Ref !== undefined) return `<${flatten(o.Ref)}>`;
    }
    return JSON.stringify(node);
  };
  return flatten(Stack.of(scope).resolve(value));
}

function pascalCase(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _dash, c: string) => c.toUpperCase());
}
