/**
 * The fleet alarms: one per fleet metric that needs a person (lambdas/domain/fleet-metrics.ts),
 * each published once per run with no per-cluster dimension, so a dozen series cover any fleet.
 *
 * Missing data is breaching: every run publishes every count (0 included), so "no data" means no
 * run published in the window, i.e. nobody is watching the certificates; MinDaysLeft is missing too
 * when no certificate at all could be read. The window is the schedule's longest gap plus an hour
 * (a run's metrics land a few minutes after it starts), so an on-time schedule always has a
 * datapoint in it. The statistic is the worst of the window (Maximum of the counts, Minimum of
 * MinDaysLeft, Sum of RenewalFailures): a problem stays in ALARM until a run no longer sees it and
 * the last run that saw it leaves the window, at most one schedule gap after the fix.
 *
 * A fresh deploy has no run yet: a datapoint published when these alarms are created stands in for
 * one window (as the heartbeat's), so neither a new stack nor the upgrade that adds these alarms
 * pages before its first run.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { FLEET_METRIC, type FleetMetricName } from '../lambdas/domain/fleet-metrics';
import { POWERTOOLS } from './functions';

/** The metric the creation of these alarms publishes: it stands in for a run for one window. */
export const FLEET_ALARMS_DEPLOYED_METRIC = 'FleetAlarmsDeployed';

/** Every fleet metric carries Powertools' `service` dimension, and no other. */
export const FLEET_DIMENSIONS = { service: POWERTOOLS.serviceName } as const;

export interface FleetAlarmsProps {
  readonly topic: sns.ITopic;
  readonly alarmNamePrefix: string;
  readonly stateMachine: sfn.IStateMachine;
  /** The schedule's longest gap between two runs. */
  readonly maxGap: Duration;
  /** MinDaysLeft alarms below this many days. */
  readonly minDaysLeftThreshold: number;
  readonly logRetention: logs.RetentionDays;
}

export type FleetAlarmKey =
  | 'minDaysLeft'
  | 'expired'
  | 'within7Days'
  | 'within14Days'
  | 'certificatesUnreadable'
  | 'clustersUnreadable'
  | 'renewalFailures';

export interface FleetAlarms {
  readonly alarms: Record<FleetAlarmKey, cloudwatch.Alarm>;
  readonly deployed: cr.AwsCustomResource;
  /** The evaluation window: the schedule's longest gap plus an hour. */
  readonly period: Duration;
}

/** One fleet metric as CloudWatch names it. */
export function fleetMetric(name: FleetMetricName, statistic: string, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: POWERTOOLS.metricsNamespace,
    metricName: name,
    dimensionsMap: { ...FLEET_DIMENSIONS },
    statistic,
    period,
  });
}

/** The window of the fleet alarms: the longest gap between runs plus an hour, in whole minutes. */
export function fleetAlarmPeriod(maxGap: Duration): Duration {
  return Duration.minutes(Math.ceil(maxGap.toSeconds() / 60) + 60);
}

export function fleetAlarms(scope: Construct, props: FleetAlarmsProps): FleetAlarms {
  const stackName = Stack.of(scope).stackName;
  const period = fleetAlarmPeriod(props.maxGap);
  const action = new SnsAction(props.topic);
  const dimensions = [{ Name: 'StateMachineArn', Value: props.stateMachine.stateMachineArn }];
  const deployed = new cr.AwsCustomResource(scope, 'FleetAlarmsDeployed', {
    onCreate: {
      service: 'CloudWatch',
      action: 'putMetricData',
      parameters: {
        Namespace: POWERTOOLS.metricsNamespace,
        MetricData: [
          { MetricName: FLEET_ALARMS_DEPLOYED_METRIC, Dimensions: dimensions, Value: 1, Unit: 'Count' },
        ],
      },
      physicalResourceId: cr.PhysicalResourceId.of('fleet-alarms-deployed'),
    },
    policy: cr.AwsCustomResourcePolicy.fromStatements([
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': POWERTOOLS.metricsNamespace } },
      }),
    ]),
    installLatestAwsSdk: false,
    logGroup: new logs.LogGroup(scope, 'FleetAlarmsDeployedLogs', { retention: props.logRetention }),
  });
  const deployedMetric = new cloudwatch.Metric({
    namespace: POWERTOOLS.metricsNamespace,
    metricName: FLEET_ALARMS_DEPLOYED_METRIC,
    dimensionsMap: { StateMachineArn: props.stateMachine.stateMachineArn },
    statistic: cloudwatch.Stats.SUM,
    period,
  });

  const alarm = (
    key: FleetAlarmKey,
    name: FleetMetricName,
    options: {
      statistic: string;
      comparison: cloudwatch.ComparisonOperator;
      threshold: number;
      /** What the deploy's datapoint stands for: a value that does not breach. */
      standIn: number;
      description: string;
    },
  ) => {
    // The worst value of the window, or the deploy's stand-in when no run published yet. Missing
    // both is breaching: no run published within the window.
    const join = options.standIn > 0 ? 'MIN' : 'MAX';
    const created = new cloudwatch.MathExpression({
      expression: `${join}([value, deployed * 0 + ${options.standIn}])`,
      usingMetrics: { value: fleetMetric(name, options.statistic, period), deployed: deployedMetric },
      period,
      label: name,
    }).createAlarm(scope, `Fleet${name}Alarm`, {
      alarmName: `${props.alarmNamePrefix}${name}`,
      alarmDescription: `rs-cert-watchdog ${stackName}: ${options.description} No data means no run published its fleet metrics within ${period.toHumanString()}: the certificates are not being watched.`,
      comparisonOperator: options.comparison,
      threshold: options.threshold,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    created.node.addDependency(deployed);
    created.addAlarmAction(action);
    created.addOkAction(action);
    return [key, created] as const;
  };
  const atLeastOne = {
    comparison: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    threshold: 1,
    standIn: 0,
  };
  const alarms = Object.fromEntries([
    alarm('minDaysLeft', FLEET_METRIC.minDaysLeft, {
      statistic: cloudwatch.Stats.MINIMUM,
      comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      threshold: props.minDaysLeftThreshold,
      standIn: 36_500,
      description: `the soonest certificate expiry of the fleet is under ${props.minDaysLeftThreshold} days away (MinDaysLeft). The dashboard's soonest-expiries table names it.`,
    }),
    alarm('expired', FLEET_METRIC.expired, {
      ...atLeastOne,
      statistic: cloudwatch.Stats.MAXIMUM,
      description: 'a certificate has expired (CertificatesExpired): its clients are refused now.',
    }),
    alarm('within7Days', FLEET_METRIC.within7Days, {
      ...atLeastOne,
      statistic: cloudwatch.Stats.MAXIMUM,
      description:
        'a certificate expires within 7 days (a share of that for lifetimes under 90 days): a managed one should have been renewed long before; see the renewal failures and the digest.',
    }),
    alarm('within14Days', FLEET_METRIC.within14Days, {
      ...atLeastOne,
      statistic: cloudwatch.Stats.MAXIMUM,
      description: 'a certificate expires within 14 days (a share of that for lifetimes under 90 days).',
    }),
    alarm('certificatesUnreadable', FLEET_METRIC.certificatesUnreadable, {
      ...atLeastOne,
      statistic: cloudwatch.Stats.MAXIMUM,
      description:
        'a cluster returned a certificate that does not parse (CertificatesUnreadable): its expiry is unknown.',
    }),
    alarm('clustersUnreadable', FLEET_METRIC.clustersUnreadable, {
      ...atLeastOne,
      statistic: cloudwatch.Stats.MAXIMUM,
      description:
        'a cluster could not be read (ClustersUnreadable: credentials, network, TLS trust or its REST API): its certificates are neither checked nor renewed.',
    }),
    alarm('renewalFailures', FLEET_METRIC.renewalFailures, {
      ...atLeastOne,
      statistic: cloudwatch.Stats.SUM,
      description:
        'a renewal failed (RenewalFailures): the failure alert and the digest say why; the next run tries again.',
    }),
  ]) as Record<FleetAlarmKey, cloudwatch.Alarm>;
  return { alarms, deployed, period };
}

/**
 * A dead-letter queue's alarm: any message in it. An empty queue sends no metrics after six idle
 * hours, so missing data is not breaching here (nothing dead-lettered).
 */
export function deadLetterAlarm(
  scope: Construct,
  id: string,
  props: {
    queue: { metricApproximateNumberOfMessagesVisible(p?: cloudwatch.MetricOptions): cloudwatch.Metric };
    alarmName: string;
    description: string;
    topic: sns.ITopic;
  },
): cloudwatch.Alarm {
  const alarm = props.queue
    .metricApproximateNumberOfMessagesVisible({
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(5),
    })
    .createAlarm(scope, id, {
      alarmName: props.alarmName,
      alarmDescription: `rs-cert-watchdog ${Stack.of(scope).stackName}: ${props.description}`,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  alarm.addAlarmAction(new SnsAction(props.topic));
  return alarm;
}
