/** Issue 11.8: the schedule is checked at synth; the dead man's switch follows it. */
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/adapters/config-file';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import { heartbeatEvaluation } from '../../lib/alarms';
import { analyzeSchedule, assertScheduleSafe, defaultHeartbeatWindow } from '../../lib/schedule';
import { synthesizeWatchdog } from '../support/synthesized-definition';

const example = loadConfig(fileURLToPath(new URL('../../config.example.json', import.meta.url)));
const exampleAws = example.aws as NonNullable<WatchdogConfig['aws']>;
const withSchedule = (schedule: string, timeZone = 'UTC'): WatchdogConfig => ({
  ...example,
  aws: { ...exampleAws, schedule, timeZone },
});

describe('schedule analysis', () => {
  it.each([
    ['rate(1 day)', 86_400, 86_400, 1],
    ['rate(6 hours)', 21_600, 21_600, 4],
    ['cron(0 6 * * ? *)', 86_400, 86_400, 1],
    ['cron(0 6,18 * * ? *)', 43_200, 43_200, 2],
    ['cron(0 6 ? * MON-FRI *)', 86_400, 3 * 86_400, 1],
    ['cron(30 2 L * ? *)', 28 * 86_400, 31 * 86_400, 1],
    ['cron(0 9 ? * 2#1 *)', 28 * 86_400, 35 * 86_400, 1],
    ['cron(0 0/4 * * ? *)', 14_400, 14_400, 6],
  ])('%s: gaps %i..%i s, %i run(s) a day at most', (expression, min, max, perDay) => {
    const facts = analyzeSchedule(expression, 'UTC');
    expect([facts.minGap.toSeconds(), facts.maxGap.toSeconds(), facts.maxRunsPerDay]).toEqual([
      min,
      max,
      perDay,
    ]);
  });

  it('counts a daylight-saving hour against the shortest gap', () => {
    expect(analyzeSchedule('cron(0 6 * * ? *)', 'Europe/Paris').minGap.toSeconds()).toBe(23 * 3600);
    expect(analyzeSchedule('cron(0 6 * * ? *)', 'Asia/Tokyo').minGap.toSeconds()).toBe(24 * 3600);
  });

  it.each([
    ['cron(0 6 * * * *)', 'UTC', /exactly one of day-of-month and day-of-week must be "\?"/],
    ['cron(0 6 * * ?)', 'UTC', /expected 6 fields/],
    ['cron(0 24 * * ? *)', 'UTC', /hours "24": "24" is not in 0-23/],
    ['cron(0 6 ? * FUNDAY *)', 'UTC', /day-of-week "FUNDAY"/],
    ['cron(0 6 ? * MON-FRI 2001)', 'UTC', /runs fewer than twice/],
    ['rate(1 hours)', 'UTC', /write "1 hour"/],
    ['rate(0 minutes)', 'UTC', /whole N of at least 1/],
    ['at(2026-12-01T06:00:00)', 'UTC', /runs once/],
    ['daily', 'UTC', /neither rate\(\.\.\.\) nor cron\(\.\.\.\)/],
    ['cron(0 6 * * ? *)', 'Europe/Pariss', /aws.timeZone: "Europe\/Pariss" is not an IANA time zone/],
  ])('refuses %s in %s', (expression, timeZone, message) => {
    expect(() => analyzeSchedule(expression, timeZone)).toThrow(message);
  });
});

describe('schedule safety', () => {
  it('refuses runs closer together than an execution may last (they would overlap)', () => {
    expect(() => assertScheduleSafe(analyzeSchedule('rate(1 hour)', 'UTC'), Duration.hours(2))).toThrow(
      /starts runs 1 hour apart, less than an execution may last \(2 hours\): runs would overlap/,
    );
    expect(() =>
      assertScheduleSafe(analyzeSchedule('rate(2 hours)', 'UTC'), Duration.hours(2)),
    ).not.toThrow();
  });

  it('takes as many runs a day as do not overlap: the state table has no version quota', () => {
    const hourly = analyzeSchedule('rate(60 minutes)', 'UTC');
    expect(hourly.maxRunsPerDay).toBe(24);
    expect(() => assertScheduleSafe(hourly, Duration.minutes(30))).not.toThrow();
    // (Let's Encrypt refills 200 orders in 2 hours: the order budget follows the schedule.)
    const everyTwoHours = withSchedule('rate(2 hours)');
    expect(() =>
      synthesizeWatchdog({
        ...everyTwoHours,
        acme: { ...(everyTwoHours.acme as NonNullable<WatchdogConfig['acme']>), orderBudget: 200 },
      }),
    ).not.toThrow();
  });

  it('still refuses a schedule that sleeps through the renewal point of the shortest-lived certificate', () => {
    const shortLived: WatchdogConfig = {
      ...withSchedule('cron(0 6 ? * MON *)'),
      acme: { ...(example.acme as NonNullable<WatchdogConfig['acme']>), profile: 'shortlived' },
    };
    expect(() => synthesizeWatchdog(shortLived)).toThrow(/aws\.schedule/);
  });

  it('stops synth on an unsafe schedule, a bad cron or an unknown time zone', () => {
    expect(() => synthesizeWatchdog(withSchedule('rate(30 minutes)'))).toThrow(/runs would overlap/);
    expect(() => synthesizeWatchdog(withSchedule('cron(0 6 * * * *)'))).toThrow(/aws.schedule/);
    expect(() => synthesizeWatchdog(withSchedule('cron(0 6 * * ? *)', 'Mars/Olympus'))).toThrow(
      /aws.timeZone/,
    );
  });
});

describe('dead man’s switch', () => {
  it.each([
    ['rate(1 day)', 2 * 86_400],
    ['rate(6 hours)', 12 * 3_600],
    ['rate(3 hours)', 6 * 3_600],
    ['cron(0 6 * * ? *)', 2 * 86_400],
    ['cron(0 6 ? * MON-FRI *)', 6 * 86_400],
  ])('watches %s over %i seconds (twice its longest gap)', (schedule, seconds) => {
    expect(defaultHeartbeatWindow(analyzeSchedule(schedule, 'UTC')).toSeconds()).toBe(seconds);
  });

  it.each([
    [Duration.hours(12), 43_200, 1],
    [Duration.minutes(10), 600, 1],
    [Duration.seconds(90), 120, 1],
    [Duration.days(1), 86_400, 1],
    [Duration.days(2), 86_400, 2],
    [Duration.hours(60), 86_400, 3],
    [Duration.days(7), 86_400, 7],
  ])('evaluates %s as periods of %i seconds, %i of them', (window, period, evaluationPeriods) => {
    const evaluation = heartbeatEvaluation(window);
    expect(evaluation.period.toSeconds()).toBe(period);
    expect(evaluation.evaluationPeriods).toBe(evaluationPeriods);
  });

  it('refuses windows longer than CloudWatch evaluates', () => {
    expect(() => heartbeatEvaluation(defaultHeartbeatWindow(analyzeSchedule('rate(4 days)', 'UTC')))).toThrow(
      /longer than the 7 days a CloudWatch alarm can evaluate/,
    );
  });
});

describe('the schedule against the shortest-lived certificate the config promises (issue 13)', () => {
  const [east, west] = example.clusters as [
    WatchdogConfig['clusters'][number],
    WatchdogConfig['clusters'][number],
  ];
  /** prod-east/syncer from AWS Private CA with this validity, on this schedule. */
  const withPrivateCa = (validityDays: number, schedule: string, timeZone = 'UTC'): WatchdogConfig => ({
    ...withSchedule(schedule, timeZone),
    clusters: [
      {
        ...east,
        certificates: {
          ...east.certificates,
          syncer: {
            domains: ['syncer.example.com'],
            issuer: {
              type: 'aws-private-ca',
              certificateAuthorityArn:
                'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/11111111-2222-3333-4444-555555555555',
              validityDays,
            },
          },
        },
      },
      west,
    ],
  });

  it('refuses a weekly run for a 6-day certificate at synth, naming it and the fix', () => {
    expect(() => synthesizeWatchdog(withPrivateCa(6, 'cron(0 6 ? * MON *)'))).toThrow(
      /aws\.schedule: the schedule cron\(0 6 \? \* MON \*\) can leave 168 hours between runs, but prod-east\/syncer \(a 6 days certificate\) has only 72 hours .* run at least every 36 hours/,
    );
    expect(() => synthesizeWatchdog(withPrivateCa(6, 'cron(0 6 * * ? *)'))).not.toThrow();
  });

  it('refuses a daily run for an ACME shortlived profile only when its window is shorter than a day', () => {
    const acme = example.acme as NonNullable<WatchdogConfig['acme']>;
    // 160 hours, renewed half-way: 80 hours to spare; a daily run is enough, a weekly one is not.
    const shortlived = (schedule: string) => ({
      ...withSchedule(schedule),
      acme: { ...acme, profile: 'shortlived' },
    });
    expect(() => synthesizeWatchdog(shortlived('cron(0 6 * * ? *)'))).not.toThrow();
    expect(() => synthesizeWatchdog(shortlived('cron(0 6 ? * MON *)'))).toThrow(/a 6\.7 days certificate/);
  });

  it('counts the hour a daylight-saving shift adds to the longest gap', () => {
    // Runs at 00:00, 11:00 and 17:00: 11 hours at most between two, on the wall clock. A 1-day
    // certificate renews half-way, 12 hours before it expires: enough in UTC, not in Paris, where
    // the spring-forward night stretches the 11 hours to 12 of elapsed time.
    const schedule = 'cron(0 0,11,17 * * ? *)';
    expect(() => synthesizeWatchdog(withPrivateCa(1, schedule, 'UTC'))).not.toThrow();
    expect(() => synthesizeWatchdog(withPrivateCa(1, schedule, 'Europe/Paris'))).toThrow(
      /can leave 12 hours between runs, but prod-east\/syncer .* has only 12 hours/,
    );
  });
});
