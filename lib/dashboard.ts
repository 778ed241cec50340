/**
 * The CloudWatch dashboard: the fleet metrics (no per-cluster series: lambdas/domain/fleet-metrics.ts),
 * the soonest expiries from the certificates' log records (a Logs Insights table: one row per
 * certificate whatever the fleet, at no metric cost), renewals, failures, executions and alarms.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { CERTIFICATE_DAYS_LEFT, FLEET_METRIC } from '../lambdas/domain/fleet-metrics';
import { fleetMetric } from './fleet-alarms';

export interface WatchdogDashboardProps {
  readonly stateMachine: sfn.StateMachine;
  readonly alarms: cloudwatch.IAlarm[];
  /** Drawn as the renewal window on the days-left graph. */
  readonly renewBeforeDays: number;
  /** The fleet alarms' window (the schedule's longest gap plus an hour): one datapoint per run in it. */
  readonly fleetPeriod: Duration;
  /** Where the per-certificate records (CertificateDaysLeft) are logged: the check function's log group. */
  readonly certificateLogGroups: logs.ILogGroup[];
}

/** Rows of the soonest-expiries table. */
export const SOONEST_EXPIRIES_ROWS = 50;

/**
 * The Logs Insights query of the soonest expiries: each certificate's latest record in the
 * dashboard's time range, soonest first. `daysLeft` is as of that record's run.
 */
export function soonestExpiriesQuery(rows = SOONEST_EXPIRIES_ROWS): string[] {
  return [
    `filter ispresent(${CERTIFICATE_DAYS_LEFT})`,
    `stats latest(${CERTIFICATE_DAYS_LEFT}) as daysLeft, latest(notAfter) as expires, latest(status) as state, latest(managed) as renewedByWatchdog, latest(@timestamp) as checkedAt by cluster, certificate`,
    'sort daysLeft asc',
    `limit ${rows}`,
  ];
}

export function watchdogDashboard(scope: Construct, props: WatchdogDashboardProps): cloudwatch.Dashboard {
  const { stateMachine, renewBeforeDays } = props;
  // One datapoint per run: a graph period of the run interval shows each run's value as one point.
  const period = props.fleetPeriod;
  const hourly = (label: string) => ({ statistic: cloudwatch.Stats.SUM, period: Duration.hours(1), label });
  const daily = (name: (typeof FLEET_METRIC)[keyof typeof FLEET_METRIC], label: string) =>
    fleetMetric(name, cloudwatch.Stats.SUM, Duration.days(1)).with({ label });
  const worst = (name: (typeof FLEET_METRIC)[keyof typeof FLEET_METRIC], label: string) =>
    fleetMetric(name, cloudwatch.Stats.MAXIMUM, period).with({ label });
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', { defaultInterval: Duration.days(14) });
  dashboard.addWidgets(
    new cloudwatch.SingleValueWidget({
      title: 'The fleet, at its last run',
      width: 24,
      height: 4,
      metrics: [
        fleetMetric(FLEET_METRIC.minDaysLeft, cloudwatch.Stats.MINIMUM, period).with({
          label: 'soonest expiry (days)',
        }),
        worst(FLEET_METRIC.expired, 'expired'),
        worst(FLEET_METRIC.within7Days, 'expiring within 7 days'),
        worst(FLEET_METRIC.within14Days, 'expiring within 14 days'),
        worst(FLEET_METRIC.certificatesUnreadable, 'unreadable certificates'),
        worst(FLEET_METRIC.clustersUnreadable, 'unreadable clusters'),
        worst(FLEET_METRIC.clustersChecked, 'clusters'),
        worst(FLEET_METRIC.certificatesChecked, 'certificates'),
      ],
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.LogQueryWidget({
      title: `Soonest expiries (each certificate's last check; ${SOONEST_EXPIRIES_ROWS} rows)`,
      width: 24,
      height: 10,
      logGroupNames: props.certificateLogGroups.map((g) => g.logGroupName),
      queryLines: soonestExpiriesQuery(),
      view: cloudwatch.LogQueryVisualizationType.TABLE,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Soonest expiry of the fleet (days left, per run)',
      width: 12,
      left: [
        fleetMetric(FLEET_METRIC.minDaysLeft, cloudwatch.Stats.MINIMUM, Duration.hours(1)).with({
          label: 'MinDaysLeft',
        }),
      ],
      leftYAxis: { showUnits: false },
      leftAnnotations: [
        { value: renewBeforeDays, label: `renewal window (${renewBeforeDays} days)`, color: '#ff7f0e' },
      ],
    }),
    new cloudwatch.GraphWidget({
      title: 'Certificates needing attention (per run)',
      width: 12,
      left: [
        fleetMetric(FLEET_METRIC.expired, cloudwatch.Stats.MAXIMUM, Duration.hours(1)).with({
          label: 'expired',
        }),
        fleetMetric(FLEET_METRIC.within7Days, cloudwatch.Stats.MAXIMUM, Duration.hours(1)).with({
          label: 'within 7 days',
        }),
        fleetMetric(FLEET_METRIC.within14Days, cloudwatch.Stats.MAXIMUM, Duration.hours(1)).with({
          label: 'within 14 days',
        }),
        fleetMetric(FLEET_METRIC.certificatesUnreadable, cloudwatch.Stats.MAXIMUM, Duration.hours(1)).with({
          label: 'unreadable',
        }),
        fleetMetric(FLEET_METRIC.clustersUnreadable, cloudwatch.Stats.MAXIMUM, Duration.hours(1)).with({
          label: 'unreadable clusters',
        }),
      ],
      leftYAxis: { min: 0, showUnits: false },
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Renewals, failures and deferred orders, per day',
      width: 12,
      left: [
        daily(FLEET_METRIC.renewed, 'renewed'),
        daily(FLEET_METRIC.renewalFailures, 'failed'),
        daily(FLEET_METRIC.ordersDeferred, 'deferred (order budget)'),
      ],
      leftYAxis: { min: 0, showUnits: false },
    }),
    new cloudwatch.GraphWidget({
      title: 'Workflow executions',
      width: 12,
      left: [
        stateMachine.metricStarted(hourly('started')),
        stateMachine.metricSucceeded(hourly('succeeded')),
        stateMachine.metricFailed(hourly('failed')),
        stateMachine.metricTimedOut(hourly('timed out')),
      ],
      leftYAxis: { min: 0, showUnits: false },
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: 'Watchdog alarms',
      width: 24,
      height: 4,
      alarms: props.alarms,
    }),
  );
  return dashboard;
}
