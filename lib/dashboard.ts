/** The CloudWatch dashboard: days left per cluster and certificate, renewals, failures, executions, alarms. */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { POWERTOOLS } from './functions';

export interface WatchdogDashboardProps {
  readonly stateMachine: sfn.StateMachine;
  readonly alarms: cloudwatch.IAlarm[];
  /** Drawn as the renewal window on the days-left graph. */
  readonly renewBeforeDays: number;
}

export function watchdogDashboard(scope: Construct, props: WatchdogDashboardProps): cloudwatch.Dashboard {
  const { stateMachine, renewBeforeDays } = props;
  const search = (metricName: string, dimensions: string, statistic: string, period: Duration) =>
    new cloudwatch.MathExpression({
      expression: `SEARCH('{${POWERTOOLS.metricsNamespace},${dimensions}} MetricName="${metricName}"', '${statistic}', ${period.toSeconds()})`,
      usingMetrics: {},
      label: '',
      period,
    });
  const hourly = (label: string) => ({ statistic: cloudwatch.Stats.SUM, period: Duration.hours(1), label });
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', { defaultInterval: Duration.days(14) });
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
      height: 3,
      alarms: props.alarms,
    }),
  );
  return dashboard;
}
