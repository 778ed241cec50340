import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/domain/config/schema';
import { ConfigError } from '../../lambdas/domain/errors';
import { versionAtLeast } from '../../lambdas/domain/renewal/push';
import { eventBridgeCron, pushTiming, windowState } from '../../lambdas/domain/renewal/windows';

// Saturdays 22:00 Paris time, for 4 hours. 2026-03-07 is a Saturday; Paris is UTC+1 then.
const saturdayNight = { cron: '0 22 * * 6', durationMinutes: 240, timeZone: 'Europe/Paris' };
const at = (iso: string) => new Date(iso);

describe('maintenance windows', () => {
  it.each([
    ['just before it opens', '2026-03-07T20:59:00Z', false, '2026-03-07T21:00:00.000Z'],
    ['at the opening', '2026-03-07T21:00:00Z', true, '2026-03-14T21:00:00.000Z'],
    ['inside', '2026-03-08T00:30:00Z', true, '2026-03-14T21:00:00.000Z'],
    ['at the close', '2026-03-08T01:00:00Z', false, '2026-03-14T21:00:00.000Z'],
  ])('%s', (_label, now, inside, nextOpen) => {
    const state = windowState([saturdayNight], at(now));
    expect(state.inside).toBe(inside);
    expect(state.nextOpen?.toISOString()).toBe(nextOpen);
    if (inside) expect(state.closesAt?.toISOString()).toBe('2026-03-08T01:00:00.000Z');
  });

  it('follows the time zone across a DST change (Paris moves to UTC+2 on 2026-03-29)', () => {
    expect(windowState([saturdayNight], at('2026-03-29T12:00:00Z')).nextOpen?.toISOString()).toBe(
      '2026-04-04T20:00:00.000Z',
    );
  });

  it('no windows: always push', () => {
    expect(pushTiming([], at('2026-03-07T12:00:00Z'), '2026-03-08T00:00:00Z')).toEqual({
      decision: 'push',
      closesAt: null,
    });
  });

  it.each([
    ['outside, lasts past the next opening: wait', '2026-03-20T00:00:00Z', 'wait'],
    ['outside, expires before the next opening: override', '2026-03-07T20:00:00Z', 'override'],
    ['outside, expires exactly at the opening: override', '2026-03-07T21:00:00Z', 'override'],
    ['outside, expiry unknown: override', null, 'override'],
  ])('%s', (_label, notAfter, decision) => {
    expect(pushTiming([saturdayNight], at('2026-03-07T12:00:00Z'), notAfter).decision).toBe(decision);
  });

  it('the earliest of several windows opens next', () => {
    const daily = { cron: '30 3 * * *', durationMinutes: 30, timeZone: 'UTC' };
    expect(windowState([saturdayNight, daily], at('2026-03-07T12:00:00Z')).nextOpen?.toISOString()).toBe(
      '2026-03-07T21:00:00.000Z',
    );
  });
});

describe('EventBridge schedules of windows', () => {
  it.each([
    ['0 22 * * 6', 'cron(0 22 ? * SAT *)'],
    ['0 22 * * 0,7', 'cron(0 22 ? * SUN *)'],
    ['30 2 * * 1-5', 'cron(30 2 ? * MON-FRI *)'],
    ['0 4 1 * *', 'cron(0 4 1 * ? *)'],
    ['*/15 1 * * *', 'cron(*/15 1 * * ? *)'],
  ])('%s → %s', (cron, expected) => {
    expect(eventBridgeCron(cron)).toBe(expected);
  });

  it('refuses a day range that wraps past Sunday (EventBridge reads FRI-SUN otherwise)', () => {
    expect(() => eventBridgeCron('0 4 * * 5-7')).toThrow(/must not wrap/);
  });

  it('refuses both day fields restricted', () => {
    expect(() => eventBridgeCron('0 4 1 * 1')).toThrow(/either the day of the month or the day of the week/);
  });
});

describe('config', () => {
  const base = {
    clusters: [{ name: 'east', endpoint: 'https://east:9443', username: 'u', password: 'p' }],
  };

  it('defaults pushApi to auto and activeActive to alert; windows are optional', () => {
    const config = parseConfig(base);
    expect(config.clusters[0]).toMatchObject({ pushApi: 'auto', activeActive: 'alert' });
    expect(config.maintenanceWindows).toBeUndefined();
  });

  it.each([
    [{ cron: '0 22 * *', durationMinutes: 60, timeZone: 'UTC' }, /must have 5 fields/],
    [{ cron: '0 0 22 * * 6', durationMinutes: 60, timeZone: 'UTC' }, /must have 5 fields/],
    [{ cron: '0 22 * * 6', durationMinutes: 60, timeZone: 'Mars/Olympus' }, /not an IANA time zone/],
    [{ cron: '0 4 1 * 1', durationMinutes: 60, timeZone: 'UTC' }, /not both/],
    [{ cron: '0 25 * * *', durationMinutes: 60, timeZone: 'UTC' }, /maintenanceWindows\[0\]\.cron/],
  ])('refuses window %j', (window, message) => {
    expect(() => parseConfig({ ...base, maintenanceWindows: [window] })).toThrow(ConfigError);
    expect(() => parseConfig({ ...base, maintenanceWindows: [window] })).toThrow(message);
  });

  it('refuses an unknown pushApi', () => {
    expect(() => parseConfig({ ...base, clusters: [{ ...base.clusters[0], pushApi: 'bulk' }] })).toThrow(
      /pushApi/,
    );
  });
});

describe('RS versions', () => {
  it.each([
    ['7.22.2-14', true],
    ['7.22.10-1', true],
    ['8.0.2-17', true],
    ['7.22.0-28', false],
    ['7.4.6-22', false],
    ['6.99.99', false],
    [null, false],
    ['unknown', false],
  ])('%s is at least 7.22.2: %s', (version, expected) => {
    expect(versionAtLeast(version)).toBe(expected);
  });
});
