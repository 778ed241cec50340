/**
 * The renewal decision. One pure function, in the manner of cert-manager's
 * pkg/util/pki/renewaltime.go, adapted to the rule this project promises its operators, plus the
 * check that a schedule runs often enough to meet it.
 */
import type { WatchdogConfig } from './config/types';
import { measureSchedule } from './schedule';

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

/**
 * The lifetime backstop: two thirds through the lifetime, half-way under 10 days (Let's Encrypt's
 * advice: renew with a third of the lifetime left, half for short-lived certificates). It is the last
 * safe point before expiry, what is left after it being the time to renew, retry and, failing that,
 * reach a person before the certificate expires. Without ARI a certificate renews at it or earlier
 * (renewBeforeDays); ARI (./ari.ts) may move a renewal earlier or later than renewBeforeDays, but
 * never past this point.
 */
export function lifetimeBackstop(
  notBefore: Date,
  notAfter: Date,
): { at: Date; basis: 'two-thirds' | 'half' } {
  const lifetimeMs = Math.max(0, notAfter.getTime() - notBefore.getTime());
  const short = lifetimeMs < SHORT_LIFETIME_DAYS * DAY_MS;
  const atMs = notAfter.getTime() - lifetimeMs * (short ? 1 / 2 : 1 / 3);
  return { at: new Date(Math.floor(atMs / 1000) * 1000), basis: short ? 'half' : 'two-thirds' };
}

export interface RenewalDecision {
  status: Exclude<CertificateStatus, 'invalid'>;
  renewalTime: Date;
  basis: RenewalBasis;
  /**
   * Set when the ARI moment given was after the lifetime backstop: the decision used the backstop
   * instead (its basis is `two-thirds` or `half`), and this is the moment ARI asked for.
   */
  ariIgnored?: { renewAt: Date; backstop: Date };
  /** Days until notAfter, negative once expired, rounded to 0.01 day. */
  daysLeft: number;
  /** notAfter − notBefore in days, rounded to 0.01 day. */
  lifetimeDays: number;
}

/**
 * `expired` once notAfter has passed; `expiring` from the renewal time on; `ok` before it. An ARI
 * renewal time (the moment chosen inside the CA's suggested window), when given, overrides the
 * lifetime rule, earlier or later, but never past the lifetime backstop (lifetimeBackstop): a window
 * that would renew after it is ignored, the backstop decides, and `ariIgnored` says so. A CA's
 * window is advice about its own load and incidents; a certificate 12 hours from expiry renews now,
 * whatever the window says. (`invalid`, for a certificate that does not parse, is decided by the caller.)
 */
export function decideRenewal(
  validity: { notBefore: Date; notAfter: Date },
  now: Date,
  renewBeforeDays = DEFAULT_RENEW_BEFORE_DAYS,
  ari?: { renewAt: Date },
): RenewalDecision {
  let point: RenewalPoint = renewalPoint(validity.notBefore, validity.notAfter, renewBeforeDays);
  let ariIgnored: RenewalDecision['ariIgnored'];
  if (ari) {
    const backstop = lifetimeBackstop(validity.notBefore, validity.notAfter);
    if (ari.renewAt.getTime() > backstop.at.getTime()) {
      point = { renewalTime: backstop.at, basis: backstop.basis };
      ariIgnored = { renewAt: ari.renewAt, backstop: backstop.at };
    } else {
      point = { renewalTime: ari.renewAt, basis: 'ari' };
    }
  }
  const round = (ms: number) => Math.round((ms / DAY_MS) * 100) / 100;
  const status =
    now.getTime() >= validity.notAfter.getTime() ? 'expired' : now >= point.renewalTime ? 'expiring' : 'ok';
  return {
    status,
    renewalTime: point.renewalTime,
    basis: point.basis,
    daysLeft: round(validity.notAfter.getTime() - now.getTime()),
    lifetimeDays: round(Math.max(0, validity.notAfter.getTime() - validity.notBefore.getTime())),
    ...(ariIgnored ? { ariIgnored } : {}),
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
  timeZone = 'UTC',
): ScheduleProblem | null {
  if (lifetimes.length === 0) return null;
  const gapMs = measureSchedule(schedule, timeZone).maxGapWithDstSeconds * 1000;
  return scheduleGapProblem(schedule, gapMs, lifetimes, renewBeforeDays);
}

/**
 * The decision for a longest gap already measured (./schedule.ts measureSchedule, the one reader of
 * schedules, which enumerates firings in the schedule's time zone, DST included): what the CDK app
 * calls at synth, with the lifetimes the configuration promises (configuredLifetimes).
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
 * Lifetimes a profile is known to issue (Let's Encrypt's, as of its profiles page): `shortlived` is
 * 160 hours, `tlsserver` 45 days. Any other profile, or none, is taken at the shortest default a
 * public CA is heading for (45 days, Let's Encrypt from 2028-02-16), which every schedule the
 * watchdog accepts covers.
 */
export const PROFILE_LIFETIME_DAYS: Readonly<Record<string, number>> = {
  shortlived: 160 / 24,
  tlsserver: 45,
};
export const DEFAULT_ACME_LIFETIME_DAYS = 45;

/**
 * The lifetimes the configuration promises for its managed certificates, before any is issued: a
 * private CA's `validityDays`, an ACME profile's known lifetime. What the CDK app checks the schedule
 * against at synth; `check` uses the lifetimes it reads (report.ts managedLifetimes).
 */
export function configuredLifetimes(config: Pick<WatchdogConfig, 'acme' | 'clusters'>): ManagedLifetime[] {
  return config.clusters.flatMap((cluster) =>
    [
      ...Object.entries(cluster.certificates ?? {}),
      // RS 8.x: databases (bdb:<uid>) and the client certificate renew on the same schedule.
      ...Object.entries(cluster.databases ?? {}).map(([uid, s]) => [`bdb:${uid}`, s] as const),
      ...(cluster.clientCertificate?.issuer
        ? [['client', { issuer: cluster.clientCertificate.issuer, profile: undefined }] as const]
        : []),
    ].map(([name, settings]) => {
      const issuer = settings.issuer;
      const profile = settings.profile ?? config.acme?.profile;
      const lifetimeDays =
        typeof issuer === 'object'
          ? issuer.validityDays
          : ((profile === undefined ? undefined : PROFILE_LIFETIME_DAYS[profile]) ??
            DEFAULT_ACME_LIFETIME_DAYS);
      return { name: `${cluster.name}/${name}`, lifetimeDays };
    }),
  );
}
