/**
 * The renewal decision. One pure function, in the manner of cert-manager's
 * pkg/util/pki/renewaltime.go, adapted to the rule this project promises its operators.
 */

export type CertificateStatus = 'ok' | 'expiring' | 'expired' | 'invalid';

export const DEFAULT_RENEW_BEFORE_DAYS = 30;
const DAY_MS = 86_400_000;

/**
 * When a certificate should be renewed.
 *
 * A certificate renews `renewBeforeDays` before it expires, unless that is more than a third of its
 * total lifetime, in which case it renews with a third of its lifetime left. The cap keeps
 * short-lived certificates (Let's Encrypt's 6-day and 45-day ones) from being due on every run
 * while still leaving two thirds of their life to renew in, which is also Let's Encrypt's backstop
 * advice for clients without ARI.
 */
export function renewalTime(
  notBefore: Date,
  notAfter: Date,
  renewBeforeDays = DEFAULT_RENEW_BEFORE_DAYS,
): Date {
  // 1. How long the certificate lives. A certificate with notAfter before notBefore is nonsense; treat
  //    its lifetime as zero so that it is due at notAfter.
  const lifetimeMs = Math.max(0, notAfter.getTime() - notBefore.getTime());

  // 2. How long before expiry to renew: the configured window, capped at a third of the lifetime.
  const windowMs = Math.min(renewBeforeDays * DAY_MS, lifetimeMs / 3);

  // 3. Truncate to the second. X.509 times have second precision and reports print seconds; an
  //    operator who re-runs at the printed renewal time must see the certificate due, not 0.3 s early.
  //    (cert-manager truncates for the same kind of reason: cert-manager/cert-manager#4399.)
  const renewAtMs = notAfter.getTime() - windowMs;
  return new Date(Math.floor(renewAtMs / 1000) * 1000);
}

export interface RenewalDecision {
  status: Exclude<CertificateStatus, 'invalid'>;
  renewalTime: Date;
  /** Days until notAfter, negative once expired, rounded to 0.01 day. */
  daysLeft: number;
}

/**
 * `expired` once notAfter has passed; `expiring` from the renewal time on; `ok` before it.
 * (`invalid`, for a certificate that does not parse, is decided by the caller, which has no dates.)
 */
export function decideRenewal(
  validity: { notBefore: Date; notAfter: Date },
  now: Date,
  renewBeforeDays = DEFAULT_RENEW_BEFORE_DAYS,
): RenewalDecision {
  const renewAt = renewalTime(validity.notBefore, validity.notAfter, renewBeforeDays);
  const daysLeft = Math.round(((validity.notAfter.getTime() - now.getTime()) / DAY_MS) * 100) / 100;
  const status =
    now.getTime() >= validity.notAfter.getTime() ? 'expired' : now >= renewAt ? 'expiring' : 'ok';
  return { status, renewalTime: renewAt, daysLeft };
}
