/**
 * The renewal, step by step: one implementation for both runners. The CLI's local runner
 * (./runner.ts) calls these in order in one process; on AWS each is a Lambda task of the state
 * machine (lib/workflow.ts), whose handlers only parse the event, call the step and return.
 *
 *   Check → Plan → [per cluster: every certificate due on it] Issue → Push (Retry on 409) → Verify
 *        → ActiveActive (own Retry; Catch → NotifyRenewed with the error) → NotifyRenewed
 *                                           └── Issue/Push/Verify/NotifyRenewed failure ──→ NotifyFailed
 *
 * One cluster's certificates go in ONE push (PUT /v1/cluster/certificates, RS 7.22.2+), recorded as
 * one push in the state store. Each certificate's lock is taken by Issue, extended by Push, Verify
 * and ActiveActive (each step's lease outlives only that step), and released by NotifyRenewed or
 * NotifyFailed. A rollback (`{"rollback": [...]}`, `rs-cert-watchdog rollback`) is the same path
 * with the kept previous certificate staged by Issue.
 */
import { createHash } from 'node:crypto';
import { databaseUid, kindOf } from '../certificate-kinds';
import { type CheckDependencies, checkFleet } from '../check';
import type { WatchdogConfig } from '../config/types';
import { longestPropagationMs } from '../dns-settings';
import {
  type ErrorInfo,
  NodesNotUpdatedError,
  SKIPPED_ERRORS,
  toErrorInfo,
  VerificationError,
} from '../errors';
import type { InspectionMemoryStore } from '../inspection-memory-records';
import type { Alert } from '../ports';
import type { FleetReport } from '../report';
import { issueTimeoutMs, lockLeaseMs } from '../retry';
import type { CertificateRecord, LockHandle, PushRecord, StateStore } from '../state';
import { ACTIVE_ACTIVE_CERTIFICATES, activeActiveFailedAlert, followUpActiveActive } from './active-active';
import { pushClientCertificate, verifyClientCertificate } from './client-certificate';
import {
  clusterByName,
  type DueCertificate,
  type RenewalContext,
  renewalSettings,
  withCluster,
} from './context';
import { pushDatabaseCertificate, verifyDatabaseCertificate } from './database';
import { obtainCertificate, orderDeferred, savedCertificateFits } from './obtain';
import { deferredAlert, failedAlert, renewedAlert } from './outcome';
import { planRenewals, type RenewalPlan, validateForce, withOrderBudget } from './plan';
import { type BatchPushResult, describeHalfUpdate, type PushApi, pushSavedCertificates } from './push';
import { keptForRollback, type RollbackRequest, rollbackItems, stageRollback } from './rollback';
import { type VerificationResult, verifyPushed } from './verify';
import { pushTiming, windowsFor } from './windows';

/** The steps of one cluster's renewal, named as the state machine's states (a test keeps them equal). */
export const RENEWAL_STEPS = {
  issue: 'Issue',
  push: 'Push',
  verify: 'Verify',
  activeActive: 'ActiveActive',
  notifyRenewed: 'NotifyRenewed',
  notifyFailed: 'NotifyFailed',
  /** Ends an iteration after NotifyFailed (even when that alert could not be sent). */
  failureReported: 'FailureReported',
  /** Ends an iteration whose renewal happened but whose alert could not be sent. */
  renewedNotReported: 'RenewedNotReported',
} as const;

/** What flows for one certificate from Issue to Push to Verify to Notify. Never a key: the state store holds that. */
export interface RenewalStep extends DueCertificate {
  fingerprint256: string;
  notAfter: string;
  serialNumber: string;
  reused: boolean;
  /** This run's hold on the certificate, handed from step to step. */
  lock: LockHandle;
  replacedNotAfter?: string | null;
  replacedFingerprint256?: string | null;
  verification?: string;
}

export interface CertificateFailure {
  item: DueCertificate | RenewalStep;
  error: ErrorInfo;
}

/**
 * The Map item: every certificate due on ONE cluster in this run, pushed in one call. Issue fills
 * `steps` (and `failures` for those it could not order); Push sends the steps that may go now
 * (maintenance windows) and moves the others to `waiting`; Verify keeps the verified ones.
 */
export interface ClusterBatch {
  cluster: string;
  items: DueCertificate[];
  steps?: RenewalStep[];
  failures?: CertificateFailure[];
  /** Ordered and saved, left for the next maintenance window; their locks are released by Notify. */
  waiting?: Array<{ certificate: string; nextOpen: string; lock: LockHandle }>;
  push?: {
    id: string;
    /**
     * The cluster's certificates API; `database` for POST /v1/bdbs/{uid}/certificates (RS 8.x, a
     * database's batch); `client` for the watchdog's own client certificate, written to `target`.
     */
    api: PushApi | 'database' | 'client';
    fellBack?: string;
    certificates: string[];
    windowOverride?: { nextOpen: string | null; expires: string | null; certificates: string[] };
    /** `client`: where the new certificate was written (files or a secret version). */
    target?: string;
  };
  activeActive?: Extract<Alert, { kind: 'active-active' }> | null;
}

/** The Check step's answer to an operator's rollback: the named certificates, one batch per cluster. */
export function rollbackPlan(ctx: Pick<RenewalContext, 'config'>, requests: readonly RollbackRequest[]) {
  const due = rollbackItems(ctx, requests);
  return { clusters: [], due, batches: batchesOf(due), findings: [] as Alert[], hasFindings: false };
}

/**
 * Groups due certificates into batches, in order of first appearance: a cluster's own certificates
 * in one batch (one push), and each database certificate (`bdb:<uid>`, its own POST) and the client
 * certificate (written, never pushed) in a batch of its own, so that one database's refusal fails
 * that database alone and each order stays within one Issue step's time.
 */
export function batchesOf(due: readonly DueCertificate[]): ClusterBatch[] {
  const batches: ClusterBatch[] = [];
  const byCluster = new Map<string, ClusterBatch>();
  for (const item of due) {
    if (kindOf(item.certificate) !== 'cluster') {
      batches.push({ cluster: item.cluster, items: [item] });
      continue;
    }
    const batch = byCluster.get(item.cluster);
    if (batch) batch.items.push(item);
    else {
      const created = { cluster: item.cluster, items: [item] };
      byCluster.set(item.cluster, created);
      batches.push(created);
    }
  }
  return batches;
}

/** What a batch holds: the cluster's own certificates, one database, or the client certificate. */
export function batchKind(batch: Pick<ClusterBatch, 'items'>): ReturnType<typeof kindOf> {
  return kindOf(batch.items[0]?.certificate ?? '');
}

export interface CheckContext extends CheckDependencies {
  config: WatchdogConfig;
  /**
   * Only the keyless pending markers are read (the check function may not read keys): all at once
   * when the store offers it (one read), else one by one.
   */
  state: Pick<StateStore, 'pending'> & Partial<Pick<StateStore, 'pendingMarkers'>>;
  /** Where the inspection memory lives between runs (the check function: the state table). */
  inspectionMemory?: InspectionMemoryStore;
  /** One check shard's inspection memory (kept apart from the other shards'), by the shard's id. */
  inspectionMemoryOf?: (scope: string) => InspectionMemoryStore;
}

/**
 * Check and Plan: read every cluster, then decide. An unknown `force` name is a ConfigError before
 * any cluster is read, from the command line and from an execution input alike.
 */
export async function checkAndPlan(
  ctx: CheckContext,
  force: readonly string[],
  /** `false`: a check shard's plan; the run's order budget is spent once, over every shard (domain/run/gather.ts). */
  options: { orderBudget?: boolean } = {},
): Promise<{ report: FleetReport; plan: RenewalPlan }> {
  validateForce(ctx.config, force);
  const report = await checkFleet(ctx.config, ctx);
  // Read on the first question only (a run with nothing to resume may never ask), then all at once.
  let markers: ReturnType<NonNullable<typeof ctx.state.pendingMarkers>> | undefined;
  const planned = await planRenewals(report.clusters, force, async (c, n) => {
    if (!ctx.state.pendingMarkers) return ctx.state.pending(c, n);
    markers ??= ctx.state.pendingMarkers();
    return (await markers)(c, n);
  });
  if (options.orderBudget === false) return { report, plan: planned };
  return { report, plan: withOrderBudget(ctx.config, report.clusters, planned) };
}

/**
 * Issue: for each certificate of the cluster, take its lock, then reuse the saved certificate or
 * order (and save) a new one; for a rollback, check and stage the kept previous certificate. A
 * certificate that fails here is set aside in `failures`; the others go on.
 */
export async function issue(ctx: RenewalContext, batch: ClusterBatch): Promise<ClusterBatch> {
  const steps: RenewalStep[] = [];
  const failures: CertificateFailure[] = [];
  for (const item of batch.items) {
    try {
      steps.push(await issueOne(ctx, item));
    } catch (error) {
      failures.push({ item, error: toErrorInfo(error) });
    }
  }
  return { ...batch, steps, failures };
}

async function issueOne(ctx: RenewalContext, item: DueCertificate): Promise<RenewalStep> {
  if (!item.rollback) renewalSettings(clusterByName(ctx.config, item.cluster), item.certificate);
  // Over the order budget and nothing saved to push: deferred, without taking the lock.
  if (item.deferOrder && !(await savedCertificateFits(ctx, item))) throw orderDeferred(ctx, item);
  const lock = await ctx.state.lock(item.cluster, item.certificate, {
    owner: ctx.lockOwner,
    // The lease covers the longest DNS propagation wait the config allows, as the issue timeout does.
    leaseMs: lockLeaseMs('issue', undefined, issueTimeoutMs(longestPropagationMs(ctx.config))),
    now: ctx.now(),
    ...(ctx.ownerAlive ? { ownerAlive: ctx.ownerAlive } : {}),
  });
  try {
    const { certificate, reused } = item.rollback
      ? { certificate: await keptForRollback(ctx, item), reused: true }
      : await obtainCertificate(ctx, item);
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

/**
 * Push: one call with every certificate of the cluster that may go now. Outside every maintenance
 * window a certificate waits (it is saved) unless the one on the cluster would expire before the
 * next window opens: then it goes now and Notify alerts the override. A rollback goes at once. A
 * 409 throws NodesNotUpdatedError for the runner's Retry, which calls this again with the same batch.
 */
export async function push(ctx: RenewalContext, received: ClusterBatch): Promise<ClusterBatch> {
  if ((received.steps ?? []).length === 0) return received;
  const cluster = clusterByName(ctx.config, received.cluster);
  // A rollback's kept certificate is validated with the cluster's trust and staged here (Issue
  // cannot read the cluster's credentials); one that cannot go back is set aside, the others go on.
  const steps: RenewalStep[] = [];
  const refused: CertificateFailure[] = [];
  for (const step of received.steps ?? []) {
    if (!step.rollback) {
      steps.push(step);
      continue;
    }
    try {
      await stageRollback(ctx, step);
      steps.push(step);
    } catch (error) {
      refused.push({ item: step, error: toErrorInfo(error) });
    }
  }
  const batch =
    refused.length > 0 ? { ...received, failures: [...(received.failures ?? []), ...refused] } : received;
  if (steps.length === 0) return { ...batch, steps: [] };
  const windows = windowsFor(ctx.config, cluster);
  const now: RenewalStep[] = [];
  const waiting: NonNullable<ClusterBatch['waiting']> = [];
  const overridden: RenewalStep[] = [];
  let nextOpen: Date | null = null;
  const kind = batchKind(batch);
  for (const step of steps) {
    // The client certificate is written where it is kept, never pushed: no window holds it.
    const timing =
      step.rollback || step.resume || kind === 'client'
        ? { decision: 'push' as const }
        : pushTiming(windows, ctx.now(), step.currentNotAfter);
    if (timing.decision === 'wait')
      waiting.push({
        certificate: step.certificate,
        nextOpen: timing.nextOpen.toISOString(),
        lock: step.lock,
      });
    else now.push(step);
    if (timing.decision === 'override') {
      overridden.push(step);
      nextOpen = timing.nextOpen;
    }
  }
  if (now.length === 0) return { ...batch, steps: [], waiting };

  const locked: RenewalStep[] = [];
  const lease = lockLeaseMs('push', ctx.config.pushRetry);
  for (const step of now) locked.push({ ...step, lock: await extendLock(ctx, step.lock, lease) });
  let target: string | undefined;
  let result: BatchPushResult;
  if (kind === 'client') {
    const written = await pushClientCertificate(ctx, cluster, locked[0] as RenewalStep);
    target = written.target;
    result = written;
  } else if (kind === 'database') {
    result = await withCluster(ctx, cluster, (client) =>
      pushDatabaseCertificate(ctx, client, locked[0] as RenewalStep),
    );
  } else {
    result = await withCluster(ctx, cluster, (client) => pushSavedCertificates(ctx, client, locked));
  }
  const pushed = locked.map((step, i) => ({
    ...step,
    replacedNotAfter: result.results[i]?.replacedNotAfter ?? null,
    replacedFingerprint256: result.results[i]?.replacedFingerprint256 ?? null,
  }));
  const expiries = overridden
    .map((s) => s.currentNotAfter)
    .filter((e): e is string => e !== null)
    .sort();
  const record: PushRecord = {
    id: pushId(batch.cluster, pushed),
    cluster: batch.cluster,
    at: ctx.now().toISOString(),
    api: result.api,
    ...(result.fellBack ? { fellBack: result.fellBack } : {}),
    certificates: pushed.map((s) => ({ name: s.certificate, fingerprint256: s.fingerprint256 })),
    ...(pushed.some((s) => s.rollback) ? { rollback: true } : {}),
    ...(overridden.length ? { windowOverride: { nextOpen: nextOpen?.toISOString() ?? null } } : {}),
  };
  // The push record serves the cluster's one push (and its Active-Active follow-up) only.
  if (kind === 'cluster')
    await ctx.state.savePush({ ...((await ctx.state.push(batch.cluster, record.id)) ?? {}), ...record });
  return {
    ...batch,
    steps: pushed,
    waiting,
    push: {
      id: record.id,
      api: kind === 'cluster' ? result.api : kind,
      ...(target ? { target } : {}),
      ...(result.fellBack ? { fellBack: result.fellBack } : {}),
      certificates: record.certificates.map((c) => c.name),
      ...(overridden.length
        ? {
            windowOverride: {
              nextOpen: nextOpen?.toISOString() ?? null,
              expires: expiries[0] ?? null,
              certificates: overridden.map((s) => s.certificate),
            },
          }
        : {}),
    },
  };
}

/** The same set on the same cluster has the same push id: a retried step finds its own record. */
function pushId(cluster: string, steps: readonly RenewalStep[]): string {
  const set = steps.map((s) => `${s.certificate}:${s.fingerprint256}:${s.rollback ? 'rollback' : ''}`).sort();
  return createHash('sha256')
    .update(`${cluster}\n${set.join('\n')}`)
    .digest('hex')
    .slice(0, 24);
}

/** Verify: the cluster holds each pushed certificate and its endpoints serve it; failures are set aside. */
export async function verify(ctx: RenewalContext, batch: ClusterBatch): Promise<ClusterBatch> {
  const steps = batch.steps ?? [];
  if (steps.length === 0) return batch;
  const verified: RenewalStep[] = [];
  const failures = [...(batch.failures ?? [])];
  const cluster = clusterByName(ctx.config, batch.cluster);
  const kind = batchKind(batch);
  const verifyAll = async (check: (saved: CertificateRecord) => Promise<VerificationResult>) => {
    for (const step of steps) {
      try {
        const lock = await extendLock(ctx, step.lock, lockLeaseMs('verify'));
        const saved = await ctx.state.issuedRecord(step.cluster, step.certificate);
        if (!saved || saved.fingerprint256 !== step.fingerprint256) {
          throw new VerificationError(
            `the saved ${step.certificate} certificate of "${step.cluster}" is not the one pushed`,
          );
        }
        const result = await check(saved);
        verified.push({ ...step, lock, verification: result.summary });
      } catch (error) {
        failures.push({ item: step, error: toErrorInfo(error) });
      }
    }
  };
  // The client certificate is verified on connections of its own (the new one, read back).
  if (kind === 'client') await verifyAll((saved) => verifyClientCertificate(ctx, cluster, saved));
  else
    await withCluster(ctx, cluster, (client) =>
      verifyAll((saved) =>
        kind === 'database'
          ? verifyDatabaseCertificate(ctx, client, saved)
          : verifyPushed(ctx, client, saved),
      ),
    );
  return { ...batch, steps: verified, failures };
}

/**
 * ActiveActive: after a verified proxy or syncer push, the cluster's Active-Active databases are
 * listed and either alerted on or force-updated one at a time (config `activeActive`). Its errors
 * are left to the step's own Retry and Catch; the certificates stay renewed either way.
 */
export async function activeActive(ctx: RenewalContext, batch: ClusterBatch): Promise<ClusterBatch> {
  const certificates = (batch.steps ?? []).map((s) => s.certificate);
  if (!certificates.some((c) => ACTIVE_ACTIVE_CERTIFICATES.has(c))) return batch;
  for (const step of batch.steps ?? []) await extendLock(ctx, step.lock, lockLeaseMs('activeActive'));
  const alert = await withCluster(ctx, clusterByName(ctx.config, batch.cluster), (client) =>
    followUpActiveActive(ctx, client, { cluster: batch.cluster, certificates, pushId: batch.push?.id }),
  );
  return { ...batch, activeActive: alert };
}

/**
 * NotifyRenewed: one alert per renewed (or rolled-back) certificate, one for each certificate set
 * aside on the way, the window override and the Active-Active follow-up when there were any; then
 * every lock of the batch is released. `activeActiveError` is what the ActiveActive step's Catch
 * handed over.
 */
export async function notifyRenewed(
  ctx: RenewalContext,
  batch: ClusterBatch,
  options: { activeActiveError?: ErrorInfo } = {},
): Promise<Alert[]> {
  const alerts: Alert[] = [];
  try {
    const pushedWith = describePush(batch);
    for (const step of batch.steps ?? []) {
      const saved = await ctx.state.issuedRecord(step.cluster, step.certificate);
      const verification = step.verification ?? 'not verified';
      alerts.push(
        step.rollback
          ? {
              kind: 'rolled-back',
              cluster: step.cluster,
              certificate: step.certificate,
              notAfter: step.notAfter,
              serialNumber: step.serialNumber,
              fingerprint256: step.fingerprint256,
              replacedFingerprint256: step.replacedFingerprint256 ?? null,
              verification,
              ...(pushedWith ? { pushedWith } : {}),
            }
          : {
              ...renewedAlert(
                step,
                { ...step, domains: saved?.domains ?? [] },
                step.replacedNotAfter ?? step.currentNotAfter,
                verification,
              ),
              ...(pushedWith ? { pushedWith } : {}),
            },
      );
    }
    const override = batch.push?.windowOverride;
    if (override && (batch.steps ?? []).length > 0)
      alerts.push({
        kind: 'window-overridden',
        cluster: batch.cluster,
        certificates: override.certificates,
        expires: override.expires,
        nextOpen: override.nextOpen,
      });
    if (batch.activeActive) alerts.push(batch.activeActive);
    if (options.activeActiveError)
      alerts.push(
        activeActiveFailedAlert(
          batch.cluster,
          (batch.steps ?? []).map((s) => s.certificate),
          options.activeActiveError,
        ),
      );
    for (const failure of batch.failures ?? []) {
      const alert = await failureAlert(ctx, failure.item, failure.error);
      if (alert) alerts.push(alert);
    }
    for (const alert of alerts) await ctx.notifier.send(alert);
    return alerts;
  } finally {
    await releaseAll(ctx, batch);
  }
}

/**
 * NotifyFailed: the batch failed as a whole (the push, or a step that died): one alert per
 * certificate, with the error; the ones set aside earlier keep their own errors. Locks this run
 * holds are released (by owner: a step may have died before handing its lock on). Another run
 * holding a certificate is no failure: nothing is alerted for it.
 */
export async function notifyFailed(
  ctx: RenewalContext,
  batch: ClusterBatch,
  error: ErrorInfo,
  options: { diagnoseWithinMs?: number } = {},
): Promise<Alert[]> {
  const alerts: Alert[] = [];
  try {
    const issued = batch.steps !== undefined || batch.failures !== undefined;
    const failed: CertificateFailure[] = issued
      ? [...(batch.steps ?? []).map((item) => ({ item, error })), ...(batch.failures ?? [])]
      : batch.items.map((item) => ({ item, error }));
    let diagnosed: ErrorInfo | undefined;
    for (const failure of failed) {
      let info = failure.error;
      if (failure.error === error && error.name === 'NodesNotUpdatedError') {
        diagnosed ??= await diagnose(ctx, failure.item, error, options.diagnoseWithinMs ?? 10_000);
        info = diagnosed;
      }
      const alert = await failureAlert(ctx, failure.item, info);
      if (alert) alerts.push(alert);
    }
    for (const alert of alerts) await ctx.notifier.send(alert);
    return alerts;
  } finally {
    await releaseAll(ctx, batch);
  }
}

async function failureAlert(
  ctx: RenewalContext,
  item: DueCertificate,
  error: ErrorInfo,
): Promise<Alert | null> {
  if ((SKIPPED_ERRORS as readonly string[]).includes(error.name)) return null;
  if (error.name === 'OrderDeferredError') return deferredAlert(ctx.config, item);
  return failedAlert(item, error);
}

/**
 * Releases every lock of the batch this run holds: by the handle Issue handed on (on AWS each step
 * is another Lambda, whose own owner id is not the one that took the lock), else by owner (a step
 * that died before handing its lock on; safe for locks never taken).
 */
async function releaseAll(ctx: RenewalContext, batch: ClusterBatch): Promise<void> {
  const handles = new Map<string, LockHandle>();
  for (const step of batch.steps ?? []) handles.set(step.certificate, step.lock);
  for (const f of batch.failures ?? []) if ('lock' in f.item) handles.set(f.item.certificate, f.item.lock);
  for (const w of batch.waiting ?? []) handles.set(w.certificate, w.lock);
  // A deferred order never holds its lock (Issue defers before taking it, or releases it).
  const deferred = new Set(
    (batch.failures ?? [])
      .filter((f) => f.error.name === 'OrderDeferredError')
      .map((f) => f.item.certificate),
  );
  for (const item of batch.items) {
    if (deferred.has(item.certificate)) continue;
    const handle = handles.get(item.certificate);
    await (handle
      ? ctx.state.unlock(handle)
      : ctx.state.releaseIfHeld(item.cluster, item.certificate, ctx.lockOwner.id)
    ).catch(() => undefined);
  }
}

/** "PUT /v1/cluster/certificates, one call with api, proxy" or the update_cert fallback, said plainly. */
export function describePush(batch: ClusterBatch): string | undefined {
  const p = batch.push;
  if (!p) return undefined;
  if (p.api === 'client') return `written to ${p.target ?? 'where it is kept'}`;
  if (p.api === 'database') {
    const name = p.certificates[0] ?? '';
    const uid = databaseUid(name) ?? '?';
    const step = (batch.steps ?? []).find((s) => s.certificate === name);
    return step?.rollback && step.fingerprint256 === ''
      ? `DELETE /v1/bdbs/${uid}/certificates (back to the cluster's default certificate)`
      : `POST /v1/bdbs/${uid}/certificates, validated first with ?dry_run=true`;
  }
  if (p.api === 'certificates')
    return `PUT /v1/cluster/certificates, one call with ${p.certificates.join(', ')}`;
  return `PUT /v1/cluster/update_cert${p.certificates.length > 1 ? ` (${p.certificates.join(', ')})` : ''}${p.fellBack ? `; ${p.fellBack}` : ''}`;
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
