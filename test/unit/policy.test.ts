import { describe, expect, it } from 'vitest';
import { decideRenewal, renewalTime } from '../../lambdas/domain/policy';

const DAY = 86_400_000;
const t0 = new Date('2026-01-01T00:00:00.000Z');
const days = (n: number) => new Date(t0.getTime() + n * DAY);

describe('renewalTime', () => {
  it.each([
    // lifetime, renewBeforeDays, expected renewal day (from notBefore)
    { lifetime: 90, before: 30, renewAt: 60, why: '30 days is exactly a third of 90' },
    { lifetime: 365, before: 30, renewAt: 335, why: 'long certificate: the configured window' },
    { lifetime: 45, before: 30, renewAt: 30, why: '45-day certificate: capped at a third (15 days)' },
    { lifetime: 6, before: 30, renewAt: 4, why: '6-day certificate: capped at a third (2 days)' },
    { lifetime: 64, before: 10, renewAt: 54, why: 'a window shorter than a third is kept' },
  ])('$why', ({ lifetime, before, renewAt }) => {
    expect(renewalTime(t0, days(lifetime), before).toISOString()).toBe(days(renewAt).toISOString());
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

  it('does not renew a 6-day certificate on every daily run', () => {
    const short = { notBefore: t0, notAfter: days(6) };
    expect(decideRenewal(short, days(1), 30).status).toBe('ok');
    expect(decideRenewal(short, days(3), 30).status).toBe('ok');
    expect(decideRenewal(short, days(4), 30).status).toBe('expiring');
  });
});
