/**
 * The renewal, step by step: one implementation for both runners. The CLI's local runner
 * (./runner.ts) calls these in order in one process; on AWS each is a Lambda task of the state
 * machine (lib/workflow.ts), whose handlers only parse the event, call the step and return.
 *
 *   Check → Plan → [per due certificate] Issue → Push (Retry on 409) → Verify → NotifyRenewed
 *                                           └── any failure ──→ NotifyFailed
 *                                           └── lock held / already renewed ──→ LockHeld
 *
 * The certificate's lock is taken by Issue, extended by Push and Verify (each step's lease outlives
 * only that step), and released by NotifyRenewed or NotifyFailed.
 */
import { type CheckDependencies, checkFleet } from '../check';
import type { WatchdogConfig } from '../config/types';
import { type ErrorInfo, NodesNotUpdatedError, SKIPPED_ERRORS, VerificationError } from '../errors';
import type { Alert } from '../ports';
import type { FleetReport } from '../report';
import { lockLeaseMs } from '../retry';
import type { LockHandle, StateStore } from '../state';
import {
  clusterByName,
  type DueCertificate,
  type RenewalContext,
  renewalSettings,
  withCluster,
} from './context';
import { obtainCertificate } from './obtain';
import { failedAlert, renewedAlert } from './outcome';
import { planRenewals, type RenewalPlan, validateForce } from './plan';
import { describeHalfUpdate, pushSavedCertificate } from './push';
import { verifyPushed } from './verify';

/** The steps of one certificate's renewal, named as the state machine's states (a test keeps them equal). */
export const RENEWAL_STEPS = {
  issue: 'Issue',
  push: 'Push',
  verify: 'Verify',
  notifyRenewed: 'NotifyRenewed',
  notifyFailed: 'NotifyFailed',
  lockHeld: 'LockHeld',
  /** The renewal happened but its alert could not be sent: still a renewal, never a failure alert. */
  renewedNotReported: 'RenewedNotReported',
  /** The end of the failure path, whether or not its alert could be sent. */
  failureReported: 'FailureReported',
} as const;

/** What flows from Issue to Push to Verify to Notify. Never a key: the state store holds that. */
export interface RenewalStep extends DueCertificate {
  fingerprint256: string;
  notAfter: string;
  serialNumber: string;
  reused: boolean;
  /** This run's hold on the certificate, handed from step to step. */
  lock: LockHandle;
  replacedNotAfter?: string | null;
  verification?: string;
}

export interface CheckContext extends CheckDependencies {
  config: WatchdogConfig;
  /** Only the keyless pending markers are read (the check function may not read keys). */
  state: Pick<StateStore, 'pending'>;
}

/**
 * Check and Plan: read every cluster, then decide. An unknown `force` name is a ConfigError before
 * any cluster is read, from the command line and from an execution input alike.
 */
export async function checkAndPlan(
  ctx: CheckContext,
  force: readonly string[],
): Promise<{ report: FleetReport; plan: RenewalPlan }> {
  validateForce(ctx.config, force);
  const report = await checkFleet(ctx.config, ctx);
  const plan = await planRenewals(report.clusters, force, (c, n) => ctx.state.pending(c, n));
  return { report, plan };
}

/** Issue: take the lock, then reuse the saved certificate or order (and save) a new one. */
export async function issue(ctx: RenewalContext, item: DueCertificate): Promise<RenewalStep> {
  renewalSettings(clusterByName(ctx.config, item.cluster), item.certificate);
  const lock = await ctx.state.lock(item.cluster, item.certificate, {
    owner: ctx.lockOwner,
    leaseMs: lockLeaseMs('issue'),
    now: ctx.now(),
    ...(ctx.ownerAlive ? { ownerAlive: ctx.ownerAlive } : {}),
  });
  try {
    const { certificate, reused } = await obtainCertificate(ctx, item);
    return {
      ...item,
      fingerprint256: certificate.fingerprint256,
      notAfter: certificate.notAfter,
      serialNumber: certificate.serialNumber,
      reused,
      lock,
    };
  } catch (error) {
    await ctx.state.unlock(lock).catch(() => undefined);
    throw error;
  }
}

/** Push: one PUT of the saved certificate. A 409 throws NodesNotUpdatedError for the runner's Retry. */
export async function push(ctx: RenewalContext, step: RenewalStep): Promise<RenewalStep> {
  const lock = await extendLock(ctx, step.lock, lockLeaseMs('push', ctx.config.pushRetry));
  const result = await withCluster(ctx, clusterByName(ctx.config, step.cluster), (client) =>
    pushSavedCertificate(ctx, client, step),
  );
  return { ...step, lock, replacedNotAfter: result.replacedNotAfter };
}

/** Verify: the cluster holds the pushed certificate and its endpoints serve it. */
export async function verify(ctx: RenewalContext, step: RenewalStep): Promise<RenewalStep> {
  const lock = await extendLock(ctx, step.lock, lockLeaseMs('verify'));
  const saved = await ctx.state.issued(step.cluster, step.certificate);
  if (!saved || saved.fingerprint256 !== step.fingerprint256) {
    throw new VerificationError(
      `the saved ${step.certificate} certificate of "${step.cluster}" is not the one pushed`,
    );
  }
  const result = await withCluster(ctx, clusterByName(ctx.config, step.cluster), (client) =>
    verifyPushed(ctx, client, saved),
  );
  return { ...step, lock, verification: result.summary };
}

/** NotifyRenewed: the alert for a verified renewal; releases the lock. */
export async function notifyRenewed(ctx: RenewalContext, step: RenewalStep): Promise<Alert> {
  try {
    const saved = await ctx.state.issued(step.cluster, step.certificate);
    const alert = renewedAlert(
      step,
      { ...step, domains: saved?.domains ?? [] },
      step.replacedNotAfter ?? step.currentNotAfter,
      step.verification ?? 'not verified',
    );
    await ctx.notifier.send(alert);
    return alert;
  } finally {
    await ctx.state.unlock(step.lock).catch(() => undefined);
  }
}

/**
 * NotifyFailed: the alert for a renewal that failed at any step; releases the lock this run holds
 * (by handle, or by owner when a step died before handing it on). Returns null, and alerts nothing,
 * when the "failure" is another run holding the certificate: that run reports for itself.
 */
export async function notifyFailed(
  ctx: RenewalContext,
  item: DueCertificate | RenewalStep,
  error: ErrorInfo,
  options: { diagnoseWithinMs?: number } = {},
): Promise<Alert | null> {
  if ((SKIPPED_ERRORS as readonly string[]).includes(error.name)) return null;
  try {
    const alert = failedAlert(item, await diagnose(ctx, item, error, options.diagnoseWithinMs ?? 10_000));
    await ctx.notifier.send(alert);
    return alert;
  } finally {
    // A step that failed in our code released nothing yet: the handle says whose lock it is. (A step
    // that died of a timeout before handing the lock on leaves it to its lease, which ends soon.)
    const lock = 'lock' in item ? item.lock : undefined;
    await ctx.state
      .releaseIfHeld(item.cluster, item.certificate, lock?.owner.id ?? ctx.lockOwner.id)
      .catch(() => undefined);
  }
}

/** NotifyFindings: the check's findings (unreachable clusters, certificates ACME does not manage). */
export async function notifyFindings(
  ctx: Pick<RenewalContext, 'notifier'>,
  alerts: Alert[],
): Promise<number> {
  for (const alert of alerts) await ctx.notifier.send(alert);
  return alerts.length;
}

async function extendLock(ctx: RenewalContext, lock: LockHandle, leaseMs: number): Promise<LockHandle> {
  return ctx.state.extend(lock, { leaseMs, now: ctx.now() });
}

/**
 * When the 409 retries ran out, the alert says which nodes are behind. Bounded: the notify task has
 * a short timeout, and an alert without the node list beats no alert.
 */
async function diagnose(
  ctx: RenewalContext,
  item: DueCertificate,
  error: ErrorInfo,
  withinMs: number,
): Promise<ErrorInfo> {
  if (error.name !== 'NodesNotUpdatedError') return error;
  const attempts = ctx.config.pushRetry.maxAttempts + 1;
  const described = withCluster(ctx, clusterByName(ctx.config, item.cluster), (client) =>
    describeHalfUpdate(ctx, client, item, new NodesNotUpdatedError(error.message), attempts),
  );
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), withinMs).unref());
  const result = await Promise.race([described.catch(() => undefined), timeout]);
  if (!result) return error;
  return { name: result.name, message: result.message, ...(result.hint ? { hint: result.hint } : {}) };
}
