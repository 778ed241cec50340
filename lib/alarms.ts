/**
 * The watchdog watching itself: a dead man's switch on successful executions, and alarms on failed
 * and timed-out executions and on notify errors (an alert that could not be sent ends its
 * iteration quietly in the state machine; this alarm is how someone still hears of it). Every
 * alarm is named with `alarmNamePrefix`, the only alarms the alert topic accepts from CloudWatch.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { POWERTOOLS } from './functions';

/** The metric one deploy publishes: it counts as a heartbeat until the first scheduled run. */
export const DEPLOYED_METRIC = 'WatchdogDeployed';

export interface WatchdogAlarmsProps {
  readonly stateMachine: sfn.StateMachine;
  readonly notify: lambda.IFunction;
  readonly topic: sns.ITopic;
  readonly alarmNamePrefix: string;
  readonly heartbeatWindow: Duration;
  /** For the alarm description. */
  readonly schedule: string;
  readonly logRetention: logs.RetentionDays;
}

export interface WatchdogAlarms {
  readonly heartbeat: cloudwatch.Alarm;
  readonly executionsFailed: cloudwatch.Alarm;
  readonly executionsTimedOut: cloudwatch.Alarm;
  readonly notifyErrors: cloudwatch.Alarm;
  /** Publishes the deploy's heartbeat datapoint (its provider function is a stack singleton). */
  readonly deployedHeartbeat: cr.AwsCustomResource;
}

export function watchdogAlarms(scope: Construct, props: WatchdogAlarmsProps): WatchdogAlarms {
  const stackName = Stack.of(scope).stackName;
  const action = new SnsAction(props.topic);
  const machine = props.stateMachine;
  const heartbeat = heartbeatEvaluation(props.heartbeatWindow);

  // A fresh deploy has no execution yet: without this datapoint, "no data" would page at once,
  // before the first scheduled run. It is published on create, so it counts for the first window only.
  const dimensionsMap = { StateMachineArn: machine.stateMachineArn };
  const deployedHeartbeat = new cr.AwsCustomResource(scope, 'DeployedHeartbeat', {
    onCreate: {
      service: 'CloudWatch',
      action: 'putMetricData',
      parameters: {
        Namespace: POWERTOOLS.metricsNamespace,
        MetricData: [
          {
            MetricName: DEPLOYED_METRIC,
            Dimensions: [{ Name: 'StateMachineArn', Value: machine.stateMachineArn }],
            Value: 1,
            Unit: 'Count',
          },
        ],
      },
      physicalResourceId: cr.PhysicalResourceId.of('deployed-heartbeat'),
    },
    policy: cr.AwsCustomResourcePolicy.fromStatements([
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': POWERTOOLS.metricsNamespace } },
      }),
    ]),
    installLatestAwsSdk: false,
    logGroup: new logs.LogGroup(scope, 'DeployedHeartbeatLogs', { retention: props.logRetention }),
  });
  const sum = { statistic: cloudwatch.Stats.SUM, period: heartbeat.period };
  const heartbeatAlarm = new cloudwatch.MathExpression({
    // SUM over the array: a period with either series counts; a period with neither has no data.
    expression: 'SUM([succeeded, deployed])',
    usingMetrics: {
      succeeded: machine.metricSucceeded(sum),
      deployed: new cloudwatch.Metric({
        namespace: POWERTOOLS.metricsNamespace,
        metricName: DEPLOYED_METRIC,
        dimensionsMap,
        ...sum,
      }),
    },
    period: heartbeat.period,
    label: 'successful executions (and the deploy)',
  }).createAlarm(scope, 'HeartbeatAlarm', {
    alarmName: `${props.alarmNamePrefix}Heartbeat`,
    alarmDescription: `rs-cert-watchdog ${stackName}: no successful run within ${heartbeat.window.toHumanString()} (schedule ${props.schedule}). Certificates are not being watched.`,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    threshold: 1,
    evaluationPeriods: heartbeat.evaluationPeriods,
    datapointsToAlarm: heartbeat.evaluationPeriods,
    // No executions at all is exactly what this alarm is for.
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  });
  heartbeatAlarm.node.addDependency(deployedHeartbeat);
  heartbeatAlarm.addAlarmAction(action);
  heartbeatAlarm.addOkAction(action);

  const countAlarm = (id: string, name: string, metric: cloudwatch.Metric, description: string) => {
    const alarm = metric.createAlarm(scope, id, {
      alarmName: `${props.alarmNamePrefix}${name}`,
      alarmDescription: `rs-cert-watchdog ${stackName}: ${description}`,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(action);
    return alarm;
  };
  const fiveMinutes = { statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) };
  return {
    heartbeat: heartbeatAlarm,
    executionsFailed: countAlarm(
      'ExecutionsFailedAlarm',
      'ExecutionsFailed',
      machine.metricFailed(fiveMinutes),
      'an execution failed (the check itself could not run). See the state machine.',
    ),
    executionsTimedOut: countAlarm(
      'ExecutionsTimedOutAlarm',
      'ExecutionsTimedOut',
      machine.metricTimedOut(fiveMinutes),
      'an execution timed out. See the state machine.',
    ),
    notifyErrors: countAlarm(
      'NotifyErrorsAlarm',
      'NotifyErrors',
      props.notify.metricErrors(fiveMinutes),
      'an alert could not be sent (renewal, failure or findings). See the notify function logs and the state machine.',
    ),
    deployedHeartbeat,
  };
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
