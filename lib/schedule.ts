/**
 * The schedule, checked at synth. EventBridge Scheduler would accept a schedule that starts runs
 * faster than they finish; that fails later, quietly. So the expression is measured
 * (lambdas/domain/schedule.ts, the one reader, which enumerates its firings over two years on the
 * wall clock of its time zone), and limits applied:
 * 1. runs must not overlap: the shortest gap between two runs is at least the state machine's
 *    maximum duration;
 * 2. the dead man's switch must be able to watch it: its longest gap, doubled, fits in the 7 days a
 *    CloudWatch alarm evaluates.
 * (The state table takes any number of writes: the limit on runs a day that Secrets Manager's
 * version quota imposed on earlier versions is gone with the secrets. Whether the schedule keeps up
 * with the certificates' renewal points is checked beside this, by policy.ts scheduleGapProblem.)
 */
import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { WatchdogConfig } from '../lambdas/domain/config/types';
import { ConfigError } from '../lambdas/domain/errors';
import { configuredLifetimes } from '../lambdas/domain/policy';
import { eventBridgeCron, type MaintenanceWindow } from '../lambdas/domain/renewal/windows';
import { measureSchedule } from '../lambdas/domain/schedule';

export { assertTimeZone, parseCron } from '../lambdas/domain/schedule';

export interface ScheduleFacts {
  readonly expression: string;
  /** Shortest gap between two runs, DST shifts taken against it. */
  readonly minGap: Duration;
  /** Longest gap between two runs, on the wall clock. */
  readonly maxGap: Duration;
  /** Longest gap with a DST shift added (the renewal-point check uses it). */
  readonly maxGapWithDst: Duration;
  /** Most runs within any 24 hours. */
  readonly maxRunsPerDay: number;
}

/** Parses and measures a schedule; every problem is thrown as one ConfigError naming the field. */
export function analyzeSchedule(expression: string, timeZone: string): ScheduleFacts {
  const m = measureSchedule(expression, timeZone);
  return {
    expression,
    minGap: Duration.seconds(m.minGapSeconds),
    // Not widened by DST: the heartbeat counts whole days, and an hour once a season is absorbed.
    maxGap: Duration.seconds(m.maxGapSeconds),
    maxGapWithDst: Duration.seconds(m.maxGapWithDstSeconds),
    maxRunsPerDay: m.maxRunsPerDay,
  };
}

/** Limit 1 of the module comment. */
export function assertScheduleSafe(facts: ScheduleFacts, maxExecution: Duration): void {
  const { expression } = facts;
  if (facts.minGap.toSeconds() < maxExecution.toSeconds()) {
    throw new ConfigError(
      `aws.schedule: ${expression} starts runs ${facts.minGap.toHumanString()} apart, less than an execution may ` +
        `last (${maxExecution.toHumanString()}): runs would overlap. Schedule less often or lower executionTimeout.`,
    );
  }
}

/**
 * The dead man's switch window: twice the longest gap between runs, so one late or failed run does
 * not alarm but two do (two days for a daily schedule; six for a weekday one, over the weekend).
 */
export function defaultHeartbeatWindow(facts: ScheduleFacts): Duration {
  return Duration.seconds(2 * facts.maxGap.toSeconds());
}

/**
 * The MinDaysLeft alarm's default threshold: 7 days, or a quarter of the shortest lifetime the
 * configuration promises when that is shorter (a fleet of 6-day certificates always has one with
 * under 7 days left; under a quarter of its life left means its half-way renewal was missed).
 */
export function defaultMinDaysLeftThreshold(config: Pick<WatchdogConfig, 'acme' | 'clusters'>): number {
  const lifetimes = configuredLifetimes(config).map((l) => l.lifetimeDays);
  const shortest = lifetimes.length ? Math.min(...lifetimes) : Number.POSITIVE_INFINITY;
  return Math.round(Math.min(7, shortest / 4) * 100) / 100;
}

/**
 * The runs: one on the configured schedule, and one at each maintenance window's opening (same time
 * zone), so a push waiting for a window never waits for a run that falls outside every window, and
 * no execution waits for days.
 */
export function watchdogSchedules(
  scope: Construct,
  options: {
    stateMachine: sfn.IStateMachine;
    config: WatchdogConfig;
    /** The config's `aws` section with the schema's defaults. */
    aws: { schedule: string; timeZone: string };
    executionTimeout: Duration;
    enabled: boolean;
    /** Encrypts the dead-letter queue of the schedules (the stack's key). */
    key: kms.IKey;
  },
): { run: scheduler.Schedule; windows: scheduler.Schedule[]; deadLetterQueue: sqs.Queue } {
  const { stateMachine, config, aws, executionTimeout, enabled } = options;
  // A start that EventBridge Scheduler could not make after its retries (the state machine deleted
  // or throttled, its role broken) lands here instead of vanishing; alarmed by the construct.
  const deadLetterQueue = new sqs.Queue(scope, 'ScheduleDeadLetterQueue', {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: options.key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const role = scheduleRole(scope);
  // SendMessage to a queue encrypted with a customer key needs the key as well, through SQS only.
  iam.Grant.addToPrincipal({
    grantee: role,
    actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
    resourceArns: [options.key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `sqs.${Stack.of(scope).region}.amazonaws.com` } },
  });
  const start = (maxEventAge: Duration) =>
    new StepFunctionsStartExecution(stateMachine, {
      input: scheduler.ScheduleTargetInput.fromObject({}),
      role,
      retryAttempts: SCHEDULE_RETRY_ATTEMPTS,
      maxEventAge,
      deadLetterQueue,
    });
  const run = new scheduler.Schedule(scope, 'Schedule', {
    description: 'Starts the rs-cert-watchdog check and renewal workflow',
    schedule: scheduler.ScheduleExpression.expression(aws.schedule, TimeZone.of(aws.timeZone)),
    target: start(Duration.hours(1)),
    timeWindow: scheduler.TimeWindow.off(),
    enabled,
  });
  const windows = distinctWindows(config).map((window, i) => {
    const expression = eventBridgeCron(window.cron);
    try {
      assertScheduleSafe(analyzeSchedule(expression, window.timeZone), executionTimeout);
    } catch (error) {
      const reason = (error as Error).message.replace(/^aws\.schedule: /, '');
      throw new Error(`maintenanceWindows "${window.cron}" (${window.timeZone}) as ${reason}`);
    }
    return new scheduler.Schedule(scope, `WindowSchedule${i + 1}`, {
      description: `Starts rs-cert-watchdog at the opening of the maintenance window "${window.cron}" (${window.timeZone})`,
      schedule: scheduler.ScheduleExpression.expression(expression, TimeZone.of(window.timeZone)),
      target: start(Duration.minutes(Math.min(60, window.durationMinutes))),
      timeWindow: scheduler.TimeWindow.off(),
      enabled,
    });
  });
  return { run, windows, deadLetterQueue };
}

/** Attempts EventBridge Scheduler makes to start a run (with its own backoff) before dead-lettering it. */
export const SCHEDULE_RETRY_ATTEMPTS = 3;

/** The role the schedules start executions with, trusted by EventBridge Scheduler for this account's default group only. */
function scheduleRole(scope: Construct): iam.Role {
  const stack = Stack.of(scope);
  return new iam.Role(scope, 'ScheduleRole', {
    description: 'rs-cert-watchdog schedules: start the workflow, dead-letter a start that failed',
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: {
        StringEquals: {
          'aws:SourceAccount': stack.account,
          'aws:SourceArn': stack.formatArn({
            service: 'scheduler',
            resource: 'schedule-group',
            resourceName: 'default',
          }),
        },
      },
    }),
  });
}

/** Every maintenance window of the config, global and per cluster, once each. */
function distinctWindows(config: WatchdogConfig): MaintenanceWindow[] {
  const all = [
    ...(config.maintenanceWindows ?? []),
    ...config.clusters.flatMap((c) => c.maintenanceWindows ?? []),
  ];
  const seen = new Set<string>();
  return all.filter((w) => {
    const key = `${w.cron}|${w.timeZone}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
