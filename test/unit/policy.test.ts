import { describe, expect, it } from 'vitest';
import {
  decideRenewal,
  humanDuration,
  lifetimeBackstop,
  renewalPoint,
  renewalTime,
  scheduleProblem,
} from '../../lambdas/domain/policy';
import { enumeratedCronFirings, measureSchedule } from '../../lambdas/domain/schedule';

const DAY = 86_400_000;
const t0 = new Date('2026-01-01T00:00:00.000Z');
const days = (n: number) => new Date(t0.getTime() + n * DAY);

describe('renewalTime: whichever comes first of renewBeforeDays and 2/3 of the lifetime (1/2 under 10 days)', () => {
  it.each([
    // lifetime, renewBeforeDays, expected renewal day (from notBefore), what decided
    {
      lifetime: 90,
      before: 30,
      renewAt: 60,
      basis: 'two-thirds',
      why: '90 days: 30 days before is exactly two thirds',
    },
    {
      lifetime: 365,
      before: 30,
      renewAt: 243 + 1 / 3,
      basis: 'two-thirds',
      why: 'a year: two thirds comes before 30 days left',
    },
    {
      lifetime: 45,
      before: 30,
      renewAt: 15,
      basis: 'renewBeforeDays',
      why: '45 days (tlsserver): 30 days left comes first',
    },
    {
      lifetime: 45,
      before: 10,
      renewAt: 30,
      basis: 'two-thirds',
      why: '45 days, renewBeforeDays 10: two thirds comes first',
    },
    {
      lifetime: 64,
      before: 10,
      renewAt: 42 + 2 / 3,
      basis: 'two-thirds',
      why: '64 days (2027): two thirds before 10 days left',
    },
    {
      lifetime: 64,
      before: 30,
      renewAt: 34,
      basis: 'renewBeforeDays',
      why: '64 days, the default 30: 30 days left comes first',
    },
    {
      lifetime: 6,
      before: 30,
      renewAt: 3,
      basis: 'half',
      why: '6 days: renewBeforeDays is longer than the lifetime, so half',
    },
    {
      lifetime: 160 / 24,
      before: 1,
      renewAt: 160 / 48,
      basis: 'half',
      why: '160 hours (shortlived): half, before 1 day left',
    },
    {
      lifetime: 9,
      before: 5,
      renewAt: 4,
      basis: 'renewBeforeDays',
      why: '9 days, renewBeforeDays 5: 5 days left comes first',
    },
    {
      lifetime: 10,
      before: 30,
      renewAt: 20 / 3,
      basis: 'two-thirds',
      why: '10 days is not under 10: two thirds',
    },
  ])('$why', ({ lifetime, before, renewAt, basis }) => {
    const point = renewalPoint(t0, days(lifetime), before);
    const expected = Math.floor(days(renewAt).getTime() / 1000) * 1000;
    expect(point.renewalTime.getTime()).toBe(expected);
    expect(point.basis).toBe(basis);
    expect(renewalTime(t0, days(lifetime), before).getTime()).toBe(expected);
  });

  it('truncates to the second', () => {
    const notAfter = new Date(t0.getTime() + 90 * DAY + 1_500);
    expect(renewalTime(t0, notAfter, 30).getUTCMilliseconds()).toBe(0);
  });

  it('treats a certificate whose notAfter precedes notBefore as due at notAfter', () => {
    expect(renewalTime(days(10), days(5), 30).toISOString()).toBe(days(5).toISOString());
  });
});

describe('decideRenewal', () => {
  const validity = { notBefore: t0, notAfter: days(90) };

  it.each([
    { now: days(59.99), status: 'ok' },
    { now: days(60), status: 'expiring', why: 'at the renewal time exactly' },
    { now: days(89.99), status: 'expiring' },
    { now: days(90), status: 'expired', why: 'at notAfter exactly' },
    { now: days(400), status: 'expired' },
  ])('$now → $status', ({ now, status }) => {
    expect(decideRenewal(validity, now, 30).status).toBe(status);
  });

  it('reports days left, negative once expired', () => {
    expect(decideRenewal(validity, days(81.5), 30).daysLeft).toBe(8.5);
    expect(decideRenewal(validity, days(92), 30).daysLeft).toBe(-2);
  });

  it('does not renew a 6-day certificate on every daily run: it is due half-way', () => {
    const short = { notBefore: t0, notAfter: days(6) };
    expect(decideRenewal(short, days(1), 30).status).toBe('ok');
    expect(decideRenewal(short, days(2.99), 30).status).toBe('ok');
    expect(decideRenewal(short, days(3), 30)).toMatchObject({
      status: 'expiring',
      basis: 'half',
      lifetimeDays: 6,
    });
  });

  it('lets an ARI renewal time move the renewal earlier, or later than renewBeforeDays up to the backstop', () => {
    expect(decideRenewal(validity, days(10), 30, { renewAt: days(9) })).toMatchObject({
      status: 'expiring',
      basis: 'ari',
    });
    // renewBeforeDays 40 renews at day 50; the window's moment at day 55 postpones it, before the backstop (day 60).
    expect(decideRenewal(validity, days(52), 40, { renewAt: days(55) })).toMatchObject({
      status: 'ok',
      basis: 'ari',
    });
    expect(decideRenewal(validity, days(52), 40, { renewAt: days(55) }).ariIgnored).toBeUndefined();
  });

  it('never lets ARI postpone past the lifetime backstop (two thirds; half under 10 days)', () => {
    expect(lifetimeBackstop(t0, days(90))).toEqual({ at: days(60), basis: 'two-thirds' });
    expect(lifetimeBackstop(t0, days(6))).toEqual({ at: days(3), basis: 'half' });
    // A window past the backstop: the backstop decides, and the decision says what ARI asked for.
    expect(decideRenewal(validity, days(70), 30, { renewAt: days(80) })).toMatchObject({
      status: 'expiring',
      basis: 'two-thirds',
      renewalTime: days(60),
      ariIgnored: { renewAt: days(80), backstop: days(60) },
    });
    // 12 hours from expiry, a window three years away: due now, not in three years.
    const inThreeYears = days(90 + 3 * 365);
    expect(decideRenewal(validity, days(89.5), 30, { renewAt: inThreeYears })).toMatchObject({
      status: 'expiring',
      renewalTime: days(60),
      ariIgnored: { renewAt: inThreeYears },
    });
    expect(decideRenewal(validity, days(90), 30, { renewAt: days(95) }).status).toBe('expired');
    // The short-lived backstop: half-way.
    const short = { notBefore: t0, notAfter: days(6) };
    expect(decideRenewal(short, days(3.5), 30, { renewAt: days(5.5) })).toMatchObject({
      status: 'expiring',
      basis: 'half',
      renewalTime: days(3),
    });
  });
});

describe("humanDuration: alerts speak at the certificate's scale", () => {
  it.each([
    [1.5, '36 hours'],
    [0.25, '6 hours'],
    [6, '6 days'],
    [12.34, '12.3 days'],
    [-0.5, '-12 hours'],
  ])('%s days → %s', (value, text) => {
    expect(humanDuration(value)).toBe(text);
  });
});

describe('the schedule against the shortest-lived managed certificate', () => {
  const H = 3_600_000;
  it.each([
    ['rate(1 day)', 24 * H],
    ['rate(6 hours)', 6 * H],
    ['rate(30 minutes)', 0.5 * H],
    ['cron(0 6 * * ? *)', 24 * H],
    ['cron(0 6,18 * * ? *)', 12 * H],
    ['cron(0 2,5 * * ? *)', 21 * H],
    ['cron(15 */4 * * ? *)', 4 * H],
    ['cron(0 6 ? * MON *)', 7 * 24 * H],
    ['cron(0 6 ? * MON-FRI *)', 3 * 24 * H],
    ['cron(0 6 1 * ? *)', 31 * 24 * H],
  ])('%s: longest gap', (expression, gap) => {
    expect(measureSchedule(expression).maxGapSeconds * 1000).toBe(gap);
  });

  it.each([
    '0 6 * * ? *',
    '0 6,18 * * ? *',
    '0 2,5 * * ? *',
    '15 */4 * * ? *',
    '0,30 23 * * ? *',
    '*/7 * * * ? *',
    '59 0,23 * * ? *',
    '0 0 ? * * *',
  ])(
    'cron(%s) fires the same times every day: measured from one day as the two-year walk measures it',
    (body) => {
      const measure = measureSchedule(`cron(${body})`);
      const walked = enumeratedCronFirings(body);
      expect({
        min: measure.minGapSeconds,
        max: measure.maxGapSeconds,
        perDay: measure.maxRunsPerDay,
      }).toEqual({ min: walked.minGap, max: walked.maxGap, perDay: walked.maxPerDay });
    },
  );

  it('measures a schedule once per process (the same frozen measure again)', () => {
    const first = measureSchedule('cron(0 6 ? * MON-FRI *)', 'UTC');
    expect(measureSchedule('cron(0 6 ? * MON-FRI *)', 'UTC')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => measureSchedule('cron(0 6 * * * *)')).toThrow(/exactly one of day-of-month/);
  });

  it('accepts a daily run for 6-day certificates (3 days from renewal point to expiry)', () => {
    expect(scheduleProblem('cron(0 6 * * ? *)', [{ name: 'prod/proxy', lifetimeDays: 6 }], 30)).toBeNull();
  });

  it('refuses a weekly run for 6-day certificates, naming the certificate and the fix', () => {
    const problem = scheduleProblem(
      'cron(0 6 ? * MON *)',
      [
        { name: 'prod/api', lifetimeDays: 90 },
        { name: 'prod/proxy', lifetimeDays: 6 },
      ],
      30,
    );
    expect(problem).toMatchObject({ name: 'prod/proxy', renewWindowHours: 72, maxGapHours: 168 });
    expect(problem?.message).toMatch(/prod\/proxy.*6 days.*72 hours.*aws\.schedule/);
  });

  it('refuses a daily run for a 1-day certificate (12 hours from renewal point to expiry)', () => {
    expect(scheduleProblem('rate(1 day)', [{ name: 'lab/cm', lifetimeDays: 1 }], 30)).not.toBeNull();
    expect(scheduleProblem('rate(6 hours)', [{ name: 'lab/cm', lifetimeDays: 1 }], 30)).toBeNull();
  });

  it('has nothing to say without managed certificates', () => {
    expect(scheduleProblem('cron(0 6 1 * ? *)', [], 30)).toBeNull();
  });
});
