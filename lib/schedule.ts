/**
 * The schedule, checked at synth. EventBridge Scheduler would accept a schedule that starts runs
 * faster than they finish, or faster than the state secrets can take new versions; both fail
 * later, quietly. So the expression is parsed here, its firings over two years enumerated (wall
 * clock, in its time zone), and three limits applied:
 * 1. runs must not overlap: the shortest gap between two runs is at least the state machine's
 *    maximum duration;
 * 2. Secrets Manager keeps about 100 versions per secret and removes unlabelled ones only once they
 *    are 24 hours old (PutSecretValue documentation: more than one put per 10 minutes, sustained,
 *    reaches the quota). One run writes at most STATE_VERSIONS_PER_RUN versions of any one state
 *    secret; scheduled runs may use half the daily quota, the other half is left to hand-started runs;
 * 3. the dead man's switch must be able to watch it: its longest gap, doubled, fits in the 7 days a
 *    CloudWatch alarm evaluates.
 */
import { Duration } from 'aws-cdk-lib';

/** Versions Secrets Manager keeps per secret before it must have removed some (quota). */
export const SECRET_VERSION_QUOTA = 100;
/**
 * Versions one run writes to one state secret, at most: a renewal saves the certificate when issued,
 * when pushed and when verified (3); the lock is claimed and released (2); the account once.
 */
export const STATE_VERSIONS_PER_RUN = 3;
/** The share of the daily version quota that scheduled runs may use. */
export const SCHEDULED_SHARE_OF_QUOTA = 0.5;
/** Scheduled runs per 24 hours that the state secrets can take. */
export const MAX_RUNS_PER_DAY = Math.floor(
  (SECRET_VERSION_QUOTA * SCHEDULED_SHARE_OF_QUOTA) / STATE_VERSIONS_PER_RUN,
);

export interface ScheduleFacts {
  readonly expression: string;
  /** Shortest gap between two runs, DST shifts taken against it. */
  readonly minGap: Duration;
  /** Longest gap between two runs, on the wall clock. */
  readonly maxGap: Duration;
  /** Most runs within any 24 hours. */
  readonly maxRunsPerDay: number;
}

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86_400;

/** Parses and checks a schedule; every problem is thrown as one message naming the field. */
export function analyzeSchedule(expression: string, timeZone: string): ScheduleFacts {
  assertTimeZone(timeZone);
  const dst = hasDaylightSaving(timeZone) ? HOUR : 0;
  const rate = /^rate\((.*)\)$/.exec(expression);
  if (rate) {
    const seconds = parseRate(rate[1] as string, expression);
    return {
      expression,
      minGap: Duration.seconds(seconds),
      maxGap: Duration.seconds(seconds),
      maxRunsPerDay: Math.ceil(DAY / seconds),
    };
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) {
    const firings = cronFirings(parseCron(cron[1] as string, expression), expression);
    return {
      expression,
      minGap: Duration.seconds(Math.max(0, firings.minGap - dst)),
      // Not widened by DST: the heartbeat counts whole days, and an hour once a season is absorbed.
      maxGap: Duration.seconds(firings.maxGap),
      maxRunsPerDay: firings.maxPerDay,
    };
  }
  if (expression.startsWith('at(')) {
    throw new Error(
      `aws.schedule: ${expression} runs once; the watchdog needs a rate(...) or cron(...) schedule`,
    );
  }
  throw new Error(`aws.schedule: "${expression}" is neither rate(...) nor cron(...)`);
}

/** Limits 1 and 2 of the module comment. */
export function assertScheduleSafe(facts: ScheduleFacts, maxExecution: Duration): void {
  const { expression } = facts;
  if (facts.minGap.toSeconds() < maxExecution.toSeconds()) {
    throw new Error(
      `aws.schedule: ${expression} starts runs ${facts.minGap.toHumanString()} apart, less than an execution may ` +
        `last (${maxExecution.toHumanString()}): runs would overlap. Schedule less often or lower executionTimeout.`,
    );
  }
  if (facts.maxRunsPerDay > MAX_RUNS_PER_DAY) {
    throw new Error(
      `aws.schedule: ${expression} starts up to ${facts.maxRunsPerDay} runs a day; the state secrets take at most ` +
        `${MAX_RUNS_PER_DAY} (each run writes up to ${STATE_VERSIONS_PER_RUN} versions of a secret, and Secrets Manager ` +
        `keeps about ${SECRET_VERSION_QUOTA}, removing unlabelled ones only after 24 hours).`,
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

export function assertTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new Error(
      `aws.timeZone: "${timeZone}" is not an IANA time zone (for example "Europe/Paris" or "UTC")`,
    );
  }
}

/** Whether the zone's UTC offset differs between January and July. */
function hasDaylightSaving(timeZone: string): boolean {
  const offset = (month: number) =>
    new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
      .formatToParts(Date.UTC(2026, month, 1))
      .find((p) => p.type === 'timeZoneName')?.value;
  return offset(0) !== offset(6);
}

function parseRate(body: string, expression: string): number {
  const match = /^(\d+) (minute|minutes|hour|hours|day|days)$/.exec(body);
  const n = Number(match?.[1]);
  if (!match || n < 1) {
    throw new Error(
      `aws.schedule: ${expression}: expected rate(N minutes|hours|days) with a whole N of at least 1`,
    );
  }
  const unit = match[2] as string;
  if ((n === 1) !== !unit.endsWith('s')) {
    throw new Error(
      `aws.schedule: ${expression}: write "${n} ${n === 1 ? unit.replace(/s$/, '') : `${unit.replace(/s$/, '')}s`}"`,
    );
  }
  return n * (unit.startsWith('minute') ? MINUTE : unit.startsWith('hour') ? HOUR : DAY);
}

interface CronFields {
  readonly minutes: Set<number>;
  readonly hours: Set<number>;
  readonly dayOfMonth: (year: number, month: number, day: number) => boolean;
  readonly months: Set<number>;
  readonly dayOfWeek: (year: number, month: number, day: number) => boolean;
  readonly years: Set<number> | null;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** EventBridge cron: minutes hours day-of-month month day-of-week year, one of the two days `?`. */
export function parseCron(body: string, expression = `cron(${body})`): CronFields {
  const fields = body.trim().split(/\s+/);
  const fail = (what: string): never => {
    throw new Error(`aws.schedule: ${expression}: ${what}`);
  };
  if (fields.length !== 6)
    fail(`expected 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`);
  const [min, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) fail('exactly one of day-of-month and day-of-week must be "?"');
  const set = (field: string, name: string, lo: number, hi: number, names: string[] = []) =>
    parseList(field, lo, hi, names, (what) => fail(`${name} "${field}": ${what}`));
  const months = set(month, 'month', 1, 12, MONTHS);
  const years = year === '*' ? null : set(year, 'year', 1970, 2199);
  const daysInMonth = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
  const weekday = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 1;

  let dayOfMonth: CronFields['dayOfMonth'] = () => true;
  if (dom !== '?') {
    const parts = dom.split(',').map((item) => {
      if (item === 'L') return (y: number, m: number, d: number) => d === daysInMonth(y, m);
      const w = /^(\d{1,2})W$/.exec(item);
      if (w) {
        const target = Number(w[1]);
        if (target < 1 || target > 31) fail(`day-of-month "${dom}": ${item} is out of range`);
        return (y: number, m: number, d: number) =>
          nearestWeekday(y, m, target, daysInMonth(y, m), weekday) === d;
      }
      const days = set(item, 'day-of-month', 1, 31);
      return (_y: number, _m: number, d: number) => days.has(d);
    });
    dayOfMonth = (y, m, d) => parts.some((p) => p(y, m, d));
  }
  let dayOfWeek: CronFields['dayOfWeek'] = () => true;
  if (dow !== '?') {
    const nth = /^([1-7]|[A-Z]{3})#([1-5])$/.exec(dow);
    const last = /^([1-7]|[A-Z]{3})L$/.exec(dow);
    if (nth) {
      const day = [...set(nth[1] as string, 'day-of-week', 1, 7, WEEKDAYS)][0] as number;
      const n = Number(nth[2]);
      dayOfWeek = (y, m, d) => weekday(y, m, d) === day && Math.ceil(d / 7) === n;
    } else if (last) {
      const day = [...set(last[1] as string, 'day-of-week', 1, 7, WEEKDAYS)][0] as number;
      dayOfWeek = (y, m, d) => weekday(y, m, d) === day && d + 7 > daysInMonth(y, m);
    } else {
      const days = dow === 'L' ? new Set([7]) : set(dow, 'day-of-week', 1, 7, WEEKDAYS);
      dayOfWeek = (y, m, d) => days.has(weekday(y, m, d));
    }
  }
  return {
    minutes: set(min, 'minutes', 0, 59),
    hours: set(hour, 'hours', 0, 23),
    dayOfMonth,
    months,
    dayOfWeek,
    years,
  };
}

function nearestWeekday(
  y: number,
  m: number,
  target: number,
  days: number,
  weekday: (y: number, m: number, d: number) => number,
): number {
  const d = Math.min(target, days);
  const w = weekday(y, m, d);
  if (w === 7) return d === 1 ? 3 : d - 1; // Saturday: Friday, or Monday the 3rd
  if (w === 1) return d === days ? d - 2 : d + 1; // Sunday: Monday, or Friday before the month ends
  return d;
}

/** `*`, `a`, `a-b`, `*\/n`, `a/n`, `a-b/n`, comma-separated; names allowed where given. */
function parseList(
  field: string,
  lo: number,
  hi: number,
  names: string[],
  fail: (what: string) => never,
): Set<number> {
  const value = (token: string): number => {
    const named = names.indexOf(token.toUpperCase());
    const n = named >= 0 ? named + 1 : /^\d+$/.test(token) ? Number(token) : Number.NaN;
    if (!Number.isInteger(n) || n < lo || n > hi) fail(`"${token}" is not in ${lo}-${hi}`);
    return n;
  };
  const out = new Set<number>();
  for (const item of field.split(',')) {
    const match = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
    if (!match) fail(`"${item}" is not a value, range or step`);
    const [range, step] = [match?.[1] as string, match?.[2] === undefined ? 1 : Number(match[2])];
    if (step < 1) fail(`step "${item}" must be at least 1`);
    let from = lo;
    let to = hi;
    if (range !== '*') {
      const [a, b] = range.split('-') as [string, string | undefined];
      from = value(a);
      to = b === undefined ? (match?.[2] === undefined ? from : hi) : value(b);
      if (to < from) fail(`range "${range}" runs backwards`);
    }
    for (let n = from; n <= to; n += step) out.add(n);
  }
  return out;
}

/** Gaps and density of the firings over two years from January of the current year. */
function cronFirings(
  fields: CronFields,
  expression: string,
): { minGap: number; maxGap: number; maxPerDay: number } {
  const startYear = new Date().getUTCFullYear();
  const times = [...fields.hours]
    .sort((a, b) => a - b)
    .flatMap((h) => [...fields.minutes].sort((a, b) => a - b).map((m) => h * HOUR + m * MINUTE));
  let previous: number | undefined;
  let minGap = Number.POSITIVE_INFINITY;
  let maxGap = 0;
  let maxPerDay = 0;
  const window: number[] = [];
  for (let t = Date.UTC(startYear, 0, 1); t < Date.UTC(startYear + 2, 0, 1); t += DAY * 1000) {
    const date = new Date(t);
    const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    if (fields.years && !fields.years.has(y)) continue;
    if (!fields.months.has(m) || !fields.dayOfMonth(y, m, d) || !fields.dayOfWeek(y, m, d)) continue;
    for (const offset of times) {
      const at = t / 1000 + offset;
      if (previous !== undefined) {
        minGap = Math.min(minGap, at - previous);
        maxGap = Math.max(maxGap, at - previous);
      }
      previous = at;
      window.push(at);
      while ((window[0] as number) <= at - DAY) window.shift();
      maxPerDay = Math.max(maxPerDay, window.length);
    }
  }
  if (!Number.isFinite(minGap)) {
    throw new Error(
      `aws.schedule: ${expression} runs fewer than twice in ${startYear}-${startYear + 1}; the watchdog needs a recurring schedule`,
    );
  }
  return { minGap, maxGap, maxPerDay };
}
