/**
 * Maintenance windows: pushing a certificate drops the connections that use it, so a cluster may
 * say when pushes are welcome. Ordering happens at any time (the certificate and key are saved);
 * the push waits for a window unless the certificate on the cluster would expire before the next
 * one opens, in which case it is pushed at once and the override is alerted.
 *
 * A window is a 5-field cron (minute hour day-of-month month day-of-week) in an IANA time zone,
 * opening at each occurrence for `durationMinutes`. croner evaluates it: no dependencies, IANA
 * zones through Intl, DST handled (a time skipped by a spring-forward runs at the next valid time).
 * On AWS each window also becomes an EventBridge Scheduler schedule (`eventBridgeCron`), so a run
 * starts when it opens: no state machine waits for one.
 */
import { Cron } from 'croner';
import type { ClusterConfig, WatchdogConfig } from '../config/types';

export interface MaintenanceWindow {
  cron: string;
  durationMinutes: number;
  timeZone: string;
}

/** The windows of a cluster: its own list when it has one, else the global list; none means always. */
export function windowsFor(
  config: Pick<WatchdogConfig, 'maintenanceWindows'>,
  cluster: Pick<ClusterConfig, 'maintenanceWindows'>,
): MaintenanceWindow[] {
  return cluster.maintenanceWindows ?? config.maintenanceWindows ?? [];
}

function cronOf(window: MaintenanceWindow): Cron {
  return new Cron(window.cron, { timezone: window.timeZone, paused: true });
}

/** The first opening strictly after `after`, or null when the cron never fires again. */
function nextOpening(window: MaintenanceWindow, after: Date): Date | null {
  return cronOf(window).nextRun(after);
}

export interface WindowState {
  /** Whether `now` is inside a window (always true without windows). */
  inside: boolean;
  /** When the window we are in closes (the latest close of overlapping windows). */
  closesAt: Date | null;
  /** The next opening of any window after `now`; null without windows. */
  nextOpen: Date | null;
}

export function windowState(windows: readonly MaintenanceWindow[], now: Date): WindowState {
  if (windows.length === 0) return { inside: true, closesAt: null, nextOpen: null };
  let closesAt: Date | null = null;
  let nextOpen: Date | null = null;
  for (const w of windows) {
    const ms = w.durationMinutes * 60_000;
    // An opening in (now - duration, now] means we are inside it.
    const opened = nextOpening(w, new Date(now.getTime() - ms));
    if (opened && opened <= now) {
      const closes = new Date(opened.getTime() + ms);
      if (!closesAt || closes > closesAt) closesAt = closes;
    }
    const next = nextOpening(w, now);
    if (next && (!nextOpen || next < nextOpen)) nextOpen = next;
  }
  return { inside: closesAt !== null, closesAt, nextOpen };
}

/**
 * Whether one certificate may be pushed now:
 *  - `push`: no windows, or inside one;
 *  - `wait`: outside every window, and the certificate on the cluster lasts until the next opening;
 *  - `override`: outside every window, but the certificate on the cluster expires before the next
 *    opening (or no window opens again): push now and say so.
 */
export type PushTiming =
  | { decision: 'push'; closesAt: Date | null }
  | { decision: 'wait'; nextOpen: Date }
  | { decision: 'override'; nextOpen: Date | null };

export function pushTiming(
  windows: readonly MaintenanceWindow[],
  now: Date,
  currentNotAfter: string | null,
): PushTiming {
  const state = windowState(windows, now);
  if (state.inside) return { decision: 'push', closesAt: state.closesAt };
  const expires = currentNotAfter ? new Date(currentNotAfter) : null;
  if (!state.nextOpen || !expires || Number.isNaN(expires.getTime()) || expires <= state.nextOpen)
    return { decision: 'override', nextOpen: state.nextOpen };
  return { decision: 'wait', nextOpen: state.nextOpen };
}

/** What is wrong with a window, for the config validation; undefined when nothing. */
export function windowProblem(window: MaintenanceWindow): string | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone: window.timeZone });
  } catch {
    return `timeZone "${window.timeZone}" is not an IANA time zone (e.g. "Europe/Paris", "UTC")`;
  }
  const fields = window.cron.trim().split(/\s+/);
  if (fields.length !== 5)
    return `cron "${window.cron}" must have 5 fields: minute hour day-of-month month day-of-week`;
  try {
    if (!nextOpening(window, new Date())) return `cron "${window.cron}" never fires again`;
  } catch (error) {
    return `cron "${window.cron}": ${(error as Error).message}`;
  }
  try {
    eventBridgeCron(window.cron);
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/**
 * The EventBridge (Scheduler) form of a 5-field cron: `cron(min hour dom month dow *)`. EventBridge
 * wants `?` in one of the two day fields and numbers days of the week 1-7 from Sunday, where cron
 * uses 0-6 (and 7) from Sunday: days are written as names, which both read alike.
 */
export function eventBridgeCron(cron: string): string {
  const [minute, hour, dom, month, dow] = cron.trim().split(/\s+/) as [
    string,
    string,
    string,
    string,
    string,
  ];
  const anyDom = dom === '*' || dom === '?';
  const anyDow = dow === '*' || dow === '?';
  if (!anyDom && !anyDow)
    throw new Error(
      `cron "${cron}": restrict either the day of the month or the day of the week, not both (EventBridge cannot schedule both)`,
    );
  const days = anyDow ? '?' : dayNames(dow, cron);
  return `cron(${minute} ${hour} ${anyDom && !anyDow ? '?' : dom} ${month} ${days} *)`;
}

function dayNames(field: string, cron: string): string {
  const parts = field.split(',').map((part) => {
    if (!/^[0-7A-Za-z]{1,3}(-[0-7A-Za-z]{1,3})?$/.test(part))
      throw new Error(
        `cron "${cron}": write the day of the week as days, ranges or lists (e.g. "6", "1-5", "SAT,SUN"), without steps`,
      );
    const days = part.split('-').map((d) => {
      if (/^\d$/.test(d)) return DAY_NAMES[Number(d) % 7] as string;
      const name = d.toUpperCase();
      if (!DAY_NAMES.includes(name)) throw new Error(`cron "${cron}": unknown day of the week "${d}"`);
      return name;
    });
    if (days.length === 2 && DAY_NAMES.indexOf(days[1]!) < DAY_NAMES.indexOf(days[0]!))
      throw new Error(`cron "${cron}": a day-of-week range must not wrap past Sunday; list the days instead`);
    return days.join('-');
  });
  return [...new Set(parts)].join(',');
}

/** One line for reports: "2026-03-07 22:00 Europe/Paris (2026-03-07T21:00:00.000Z)". */
export function describeOpening(at: Date, windows: readonly MaintenanceWindow[]): string {
  const zone = windows[0]?.timeZone ?? 'UTC';
  const local = new Intl.DateTimeFormat('sv-SE', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).format(at);
  return `${local} ${zone} (${at.toISOString()})`;
}

/**
 * Marks each due, managed certificate of a cluster report with its push timing (`check`, `renew
 * --dry-run`): when it waits, the report shows the next window opening.
 */
export function annotateWindows(
  report: {
    certificates: Array<{ status: string; managed: boolean; notAfter: string | null; window?: unknown }>;
  },
  windows: readonly MaintenanceWindow[],
  now: Date,
): void {
  if (windows.length === 0) return;
  for (const cert of report.certificates) {
    if (!cert.managed || cert.status === 'ok') continue;
    const timing = pushTiming(windows, now, cert.notAfter);
    cert.window = {
      decision: timing.decision,
      nextOpen:
        'nextOpen' in timing
          ? (timing.nextOpen?.toISOString() ?? null)
          : (windowState(windows, now).nextOpen?.toISOString() ?? null),
      closesAt: timing.decision === 'push' ? (timing.closesAt?.toISOString() ?? null) : null,
    };
  }
}
