/**
 * The one reader of EventBridge Scheduler expressions (rate(...) and cron(...) in a time zone), pure:
 * the CDK app checks a schedule at synth with it (lib/schedule.ts), and `check` measures the gap
 * between runs with it (policy.ts scheduleProblem). A cron expression's firings are enumerated over
 * two years on the wall clock of its time zone; a daylight-saving shift can move a run by an hour
 * either way, so the measured gaps are widened (longest) and narrowed (shortest) by it.
 */
import { ConfigError } from './errors';

export interface ScheduleMeasure {
  readonly expression: string;
  /** Shortest gap between two runs, in seconds, DST shifts taken against it. */
  readonly minGapSeconds: number;
  /** Longest gap between two runs on the wall clock, in seconds. */
  readonly maxGapSeconds: number;
  /** The longest gap with a DST shift added: the longest two runs can really be apart. */
  readonly maxGapWithDstSeconds: number;
  /** Most runs within any 24 hours. */
  readonly maxRunsPerDay: number;
}

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86_400;

const fail = (message: string): never => {
  throw new ConfigError(message, {
    hint: 'see "Schedule expressions" in the EventBridge Scheduler user guide: rate(N unit) or cron(6 fields)',
  });
};

/**
 * Measures already made in this process, by time zone, expression and year: a command measures the
 * configured schedule more than once (the config's internode rule, then check's schedule problem),
 * and a cron expression's two years of firings cost a few milliseconds of a command's start
 * (bench/cli). A failed measure is not kept: it throws again.
 */
const measured = new Map<string, ScheduleMeasure>();
const MEASURED_LIMIT = 64;

/** Parses and measures a schedule; every problem is a ConfigError naming the field. */
export function measureSchedule(expression: string, timeZone = 'UTC'): ScheduleMeasure {
  const key = `${timeZone}\0${expression}\0${new Date().getUTCFullYear()}`;
  const known = measured.get(key);
  if (known) return known;
  const measure = Object.freeze(measureAnew(expression, timeZone));
  if (measured.size >= MEASURED_LIMIT) measured.clear();
  measured.set(key, measure);
  return measure;
}

function measureAnew(expression: string, timeZone: string): ScheduleMeasure {
  assertTimeZone(timeZone);
  const dst = hasDaylightSaving(timeZone) ? HOUR : 0;
  const rate = /^rate\((.*)\)$/.exec(expression);
  if (rate) {
    // A rate counts elapsed time: DST does not move it.
    const seconds = parseRate(rate[1] as string, expression);
    return {
      expression,
      minGapSeconds: seconds,
      maxGapSeconds: seconds,
      maxGapWithDstSeconds: seconds,
      maxRunsPerDay: Math.ceil(DAY / seconds),
    };
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) {
    const firings = cronFirings(parseCron(cron[1] as string, expression), expression);
    return {
      expression,
      minGapSeconds: Math.max(0, firings.minGap - dst),
      maxGapSeconds: firings.maxGap,
      maxGapWithDstSeconds: firings.maxGap + dst,
      maxRunsPerDay: firings.maxPerDay,
    };
  }
  if (expression.startsWith('at(')) {
    fail(`aws.schedule: ${expression} runs once; the watchdog needs a rate(...) or cron(...) schedule`);
  }
  return fail(`aws.schedule: "${expression}" is neither rate(...) nor cron(...)`);
}

export function assertTimeZone(timeZone: string): void {
  // The default needs no ICU: a first Intl.DateTimeFormat costs ~18 ms of every command's start (bench/cli).
  if (timeZone === 'UTC') return;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    fail(`aws.timeZone: "${timeZone}" is not an IANA time zone (for example "Europe/Paris" or "UTC")`);
  }
}

/** Whether the zone's UTC offset differs between January and July. */
function hasDaylightSaving(timeZone: string): boolean {
  if (timeZone === 'UTC') return false;
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
    throw new ConfigError(
      `aws.schedule: ${expression}: expected rate(N minutes|hours|days) with a whole N of at least 1`,
    );
  }
  const unit = match[2] as string;
  if ((n === 1) !== !unit.endsWith('s')) {
    throw new ConfigError(
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
  /** Every day of every month of every year: the same times each day (the default schedule's shape). */
  readonly everyDay: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** EventBridge cron: minutes hours day-of-month month day-of-week year, one of the two days `?`. */
export function parseCron(body: string, expression = `cron(${body})`): CronFields {
  const fields = body.trim().split(/\s+/);
  const fail = (what: string): never => {
    throw new ConfigError(`aws.schedule: ${expression}: ${what}`);
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
    everyDay: (dom === '?' || dom === '*') && (dow === '?' || dow === '*') && months.size === 12 && !years,
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

interface Firings {
  minGap: number;
  maxGap: number;
  maxPerDay: number;
}

/**
 * Gaps and density of the firings over two years from January of the current year. A schedule that
 * fires every day at the same times (the default, `cron(0 6 * * ? *)`) is measured from one day:
 * the two years' walk is ~3 ms of every command's start, interpreted (bench/cli), and gives the same
 * numbers (test/unit/policy.test.ts compares the two).
 */
function cronFirings(fields: CronFields, expression: string): Firings {
  return fields.everyDay ? dailyFirings(timesOfDay(fields)) : enumeratedFirings(fields, expression);
}

/** The seconds after midnight of each firing in a day, ascending. */
function timesOfDay(fields: CronFields): number[] {
  return [...fields.hours]
    .sort((a, b) => a - b)
    .flatMap((h) => [...fields.minutes].sort((a, b) => a - b).map((m) => h * HOUR + m * MINUTE));
}

/** The same times every day: the gaps are those within a day and the one across midnight. */
function dailyFirings(times: readonly number[]): Firings {
  let minGap = DAY - (times[times.length - 1] as number) + (times[0] as number);
  let maxGap = minGap;
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i] as number) - (times[i - 1] as number);
    minGap = Math.min(minGap, gap);
    maxGap = Math.max(maxGap, gap);
  }
  // Any 24 hours (the start excluded, as the walk counts) hold each time of day once.
  return { minGap, maxGap, maxPerDay: times.length };
}

/** The walk over two years of days, for any expression (tests compare it with dailyFirings). */
export function enumeratedCronFirings(body: string): Firings {
  return enumeratedFirings(parseCron(body), `cron(${body})`);
}

function enumeratedFirings(fields: CronFields, expression: string): Firings {
  const startYear = new Date().getUTCFullYear();
  const times = timesOfDay(fields);
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
    throw new ConfigError(
      `aws.schedule: ${expression} runs fewer than twice in ${startYear}-${startYear + 1}; the watchdog needs a recurring schedule`,
    );
  }
  return { minGap, maxGap, maxPerDay };
}
