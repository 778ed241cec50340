/**
 * The renewal decision. One pure function, in the manner of cert-manager's
 * pkg/util/pki/renewaltime.go, adapted to the rule this project promises its operators, plus the
 * check that a schedule runs often enough to meet it.
 */
import { ConfigError } from './errors';

export type CertificateStatus = 'ok' | 'expiring' | 'expired' | 'invalid';

export const DEFAULT_RENEW_BEFORE_DAYS = 30;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Below this lifetime the backstop is half of it (Let's Encrypt's advice for its 160-hour certificates). */
export const SHORT_LIFETIME_DAYS = 10;

/** What set a certificate's renewal time. */
export type RenewalBasis = 'ari' | 'renewBeforeDays' | 'two-thirds' | 'half';

export interface RenewalPoint {
  renewalTime: Date;
  basis: RenewalBasis;
}

/**
 * When a certificate should be renewed, without ARI.
 *
 * A certificate renews at whichever comes first: `renewBeforeDays` before it expires, or two
 * thirds through its lifetime (half-way for lifetimes under 10 days). `renewBeforeDays` counts only
 * when it is shorter than the lifetime: a 6-day certificate with the default 30 would otherwise be
 * due the moment it is issued, and renewed on every run. When the CA answers ARI, its window
 * replaces this rule (see ./ari.ts).
 */
export function renewalPoint(
  notBefore: Date,
  notAfter: Date,
  renewBeforeDays = DEFAULT_RENEW_BEFORE_DAYS,
): RenewalPoint {
  // 1. How long the certificate lives. A certificate with notAfter before notBefore is nonsense; treat
  //    its lifetime as zero so that it is due at notAfter.
  const lifetimeMs = Math.max(0, notAfter.getTime() - notBefore.getTime());

  // 2. The backstop: two thirds through the lifetime, half-way for short-lived certificates (Let's
  //    Encrypt's integration guide: renew with a third left, half for certificates under 10 days).
  const short = lifetimeMs < SHORT_LIFETIME_DAYS * DAY_MS;
  const fractionAtMs = notAfter.getTime() - lifetimeMs * (short ? 1 / 2 : 1 / 3);

  // 3. The operator's margin, when it fits in the lifetime; whichever comes first wins.
  const beforeMs = renewBeforeDays * DAY_MS;
  const marginAtMs = beforeMs < lifetimeMs ? notAfter.getTime() - beforeMs : Number.POSITIVE_INFINITY;
  const useMargin = marginAtMs < fractionAtMs;
  const renewAtMs = Math.min(marginAtMs, fractionAtMs);

  // 4. Truncate to the second. X.509 times have second precision and reports print seconds; an
  //    operator who re-runs at the printed renewal time must see the certificate due, not 0.3 s early.
  //    (cert-manager truncates for the same kind of reason: cert-manager/cert-manager#4399.)
  return {
    renewalTime: new Date(Math.floor(renewAtMs / 1000) * 1000),
    basis: useMargin ? 'renewBeforeDays' : short ? 'half' : 'two-thirds',
  };
}

/** The renewal time alone (see renewalPoint). */
export function renewalTime(
  notBefore: Date,
  notAfter: Date,
  renewBeforeDays = DEFAULT_RENEW_BEFORE_DAYS,
): Date {
  return renewalPoint(notBefore, notAfter, renewBeforeDays).renewalTime;
}

export interface RenewalDecision {
  status: Exclude<CertificateStatus, 'invalid'>;
  renewalTime: Date;
  basis: RenewalBasis;
  /** Days until notAfter, negative once expired, rounded to 0.01 day. */
  daysLeft: number;
  /** notAfter − notBefore in days, rounded to 0.01 day. */
  lifetimeDays: number;
}

/**
 * `expired` once notAfter has passed; `expiring` from the renewal time on; `ok` before it. An ARI
 * renewal time (the moment chosen inside the CA's suggested window), when given, overrides the
 * lifetime rule. (`invalid`, for a certificate that does not parse, is decided by the caller.)
 */
export function decideRenewal(
  validity: { notBefore: Date; notAfter: Date },
  now: Date,
  renewBeforeDays = DEFAULT_RENEW_BEFORE_DAYS,
  ari?: { renewAt: Date },
): RenewalDecision {
  const point: RenewalPoint = ari
    ? { renewalTime: ari.renewAt, basis: 'ari' }
    : renewalPoint(validity.notBefore, validity.notAfter, renewBeforeDays);
  const round = (ms: number) => Math.round((ms / DAY_MS) * 100) / 100;
  const status =
    now.getTime() >= validity.notAfter.getTime() ? 'expired' : now >= point.renewalTime ? 'expiring' : 'ok';
  return {
    status,
    renewalTime: point.renewalTime,
    basis: point.basis,
    daysLeft: round(validity.notAfter.getTime() - now.getTime()),
    lifetimeDays: round(Math.max(0, validity.notAfter.getTime() - validity.notBefore.getTime())),
  };
}

/**
 * A duration in the unit an operator of that certificate thinks in: "36 hours" for a 6-day
 * certificate, "12 days" for a 90-day one. Alerts use it so "expiring" reads at the right scale.
 */
export function humanDuration(days: number): string {
  const abs = Math.abs(days);
  if (abs < 2) {
    const hours = Math.round(abs * 24 * 10) / 10;
    return `${days < 0 ? '-' : ''}${hours} hour${hours === 1 ? '' : 's'}`;
  }
  const rounded = Math.round(abs * 10) / 10;
  return `${days < 0 ? '-' : ''}${rounded} days`;
}

// ---- the schedule ----------------------------------------------------------------------------

/** A managed certificate's lifetime, as `check` reads it or as the config promises it. */
export interface ManagedLifetime {
  /** "cluster/certificate", for the message. */
  name: string;
  lifetimeDays: number;
}

export interface ScheduleProblem {
  name: string;
  lifetimeDays: number;
  /** How long the certificate has between its renewal point and its expiry. */
  renewWindowHours: number;
  /** The longest wait between two runs of the schedule. */
  maxGapHours: number;
  message: string;
}

/**
 * Whether a schedule can miss the renewal point of the shortest-lived managed certificate: when
 * the longest gap between two runs is at least the time from its renewal point to its expiry, one
 * run can fall just before that point and the next after the certificate expired. Pure: `check`
 * calls it with the lifetimes it reads, the CDK app (synth) with those the configuration promises.
 * Null when every lifetime is covered (or there is none).
 */
export function scheduleProblem(
  schedule: string,
  lifetimes: readonly ManagedLifetime[],
  renewBeforeDays = DEFAULT_RENEW_BEFORE_DAYS,
): ScheduleProblem | null {
  if (lifetimes.length === 0) return null;
  return scheduleGapProblem(schedule, maxScheduleGapMs(schedule), lifetimes, renewBeforeDays);
}

/**
 * The same decision for a longest gap measured elsewhere (lib/schedule.ts's analyzeSchedule, which
 * enumerates firings in the schedule's time zone, DST included): what the CDK app calls at synth.
 */
export function scheduleGapProblem(
  schedule: string,
  gapMs: number,
  lifetimes: readonly ManagedLifetime[],
  renewBeforeDays = DEFAULT_RENEW_BEFORE_DAYS,
): ScheduleProblem | null {
  if (lifetimes.length === 0) return null;
  const shortest = lifetimes.reduce((a, b) => (b.lifetimeDays < a.lifetimeDays ? b : a));
  const lifetimeMs = shortest.lifetimeDays * DAY_MS;
  const t0 = new Date(0);
  const point = renewalPoint(t0, new Date(lifetimeMs), renewBeforeDays);
  const windowMs = lifetimeMs - point.renewalTime.getTime();
  if (gapMs < windowMs) return null;
  const hours = (ms: number) => Math.round((ms / HOUR_MS) * 10) / 10;
  return {
    name: shortest.name,
    lifetimeDays: shortest.lifetimeDays,
    renewWindowHours: hours(windowMs),
    maxGapHours: hours(gapMs),
    message:
      `the schedule ${schedule} can leave ${hours(gapMs)} hours between runs, but ${shortest.name} ` +
      `(a ${humanDuration(shortest.lifetimeDays)} certificate) has only ${hours(windowMs)} hours from its ` +
      `renewal point to its expiry: run at least every ${Math.max(1, Math.floor(hours(windowMs) / 2))} hours (aws.schedule)`,
  };
}

/**
 * The longest wait between two runs of an EventBridge expression: rate(N unit) or
 * cron(minutes hours day-of-month month day-of-week year), evaluated in UTC over two years.
 * Supports *, ?, lists, ranges, steps, `L` (last day of the month) and `d#n` (n-th weekday);
 * throws on anything else rather than guess.
 */
export function maxScheduleGapMs(expression: string): number {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (rate) {
    const unit = rate[2]!.startsWith('minute') ? 60_000 : rate[2]!.startsWith('hour') ? HOUR_MS : DAY_MS;
    return Number(rate[1]) * unit;
  }
  const cron = /^cron\((.+)\)$/.exec(expression.trim());
  const fields = cron?.[1]?.trim().split(/\s+/);
  if (!fields || fields.length !== 6)
    throw new ConfigError(`cannot read the schedule "${expression}": use rate(N unit) or cron(6 fields)`);
  const [min, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  const minutes = cronSet(min, 0, 59);
  const hours = cronSet(hour, 0, 23);
  const months = cronSet(month, 1, 12, MONTHS);
  const start = Date.UTC(new Date().getUTCFullYear(), 0, 1);
  const years = year === '*' ? null : cronSet(year, 1970, 2199);
  const times: number[] = [];
  for (let d = 0; d < 2 * 366; d++) {
    const day = new Date(start + d * DAY_MS);
    if (!months.has(day.getUTCMonth() + 1)) continue;
    if (years && !years.has(day.getUTCFullYear())) continue;
    if (!dayMatches(day, dom, dow)) continue;
    for (const h of [...hours].sort((a, b) => a - b))
      for (const m of [...minutes].sort((a, b) => a - b))
        times.push(day.getTime() + h * HOUR_MS + m * 60_000);
  }
  if (times.length < 2) return Number.POSITIVE_INFINITY;
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return gap;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function dayMatches(day: Date, dom: string, dow: string): boolean {
  const lastDay = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() + 1, 0)).getUTCDate();
  if (dom !== '?' && dom !== '*') {
    if (dom === 'L') return day.getUTCDate() === lastDay;
    if (!cronSet(dom, 1, 31).has(day.getUTCDate())) return false;
  }
  if (dow !== '?' && dow !== '*') {
    // EventBridge numbers days 1 (SUN) to 7 (SAT).
    const weekday = day.getUTCDay() + 1;
    const nth = /^([1-7]|[A-Z]{3})#([1-5])$/i.exec(dow);
    if (nth) {
      const wanted = /\d/.test(nth[1]!) ? Number(nth[1]) : DAYS.indexOf(nth[1]!.toUpperCase()) + 1;
      return weekday === wanted && Math.ceil(day.getUTCDate() / 7) === Number(nth[2]);
    }
    if (!cronSet(dow, 1, 7, DAYS).has(weekday)) return false;
  }
  return true;
}

function cronSet(field: string, lo: number, hi: number, names?: readonly string[]): Set<number> {
  const value = (s: string): number => {
    const named = names?.indexOf(s.toUpperCase()) ?? -1;
    const n = named >= 0 ? named + 1 : Number(s);
    if (!Number.isInteger(n) || n < lo || n > hi)
      throw new ConfigError(`cannot read the cron field "${field}"`);
    return n;
  };
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new ConfigError(`cannot read the cron field "${field}"`);
    let from: number;
    let to: number;
    if (range === '*' || range === '?') [from, to] = [lo, hi];
    else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      [from, to] = [value(a), value(b)];
    } else {
      from = value(range);
      to = stepText === undefined ? from : hi;
    }
    for (let n = from; n <= to; n += step) out.add(n);
  }
  return out;
}
