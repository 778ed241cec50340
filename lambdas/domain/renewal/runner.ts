/**
 * The local runner: the CLI's `renew` drives the same steps as the state machine (./steps.ts), in
 * the same order, with the same retry policies and the same error-to-alert mapping as
 * lib/workflow.ts. The certificates due on one cluster go together, in one push; clusters go side
 * by side up to `concurrency`.
 */
import { mapWithConcurrency } from '../concurrency';
import { type ErrorInfo, SKIPPED_ERRORS, toErrorInfo } from '../errors';
import type { Alert } from '../ports';
import type { CertificateReport, FleetReport } from '../report';
import {
  ACTIVE_ACTIVE_RETRY,
  type PushRetryPolicy,
  pushRetry,
  type RetryPolicy,
  retryDelayMs,
} from '../retry';
import { activeActiveFailedAlert } from './active-active';
import type { RenewalContext } from './context';
import * as steps from './steps';
import { batchesOf, batchKind, type ClusterBatch, RENEWAL_STEPS } from './steps';

export interface RenewOptions {
  dryRun: boolean;
  /** `NAME` (every cluster that manages it) or `CLUSTER/NAME`. */
  force: string[];
  pushRetry: PushRetryPolicy;
  /** Where the runner reports what it cannot alert (an alert that could not be sent). */
  warn?: (line: string) => void;
}

export interface RenewReport extends FleetReport {
  dryRun: boolean;
  alerts: Alert[];
}

/**
 * The states the runner passes through for one cluster's batch: the item processor of
 * lib/workflow.ts's Map has exactly these (test/cdk/one-path.test.ts).
 */
export const RUNNER_STATES = Object.values(RENEWAL_STEPS);

export async function renewFleet(ctx: RenewalContext, options: RenewOptions): Promise<RenewReport> {
  const sent: Alert[] = [];
  const recording = recordingContext(ctx, sent, options.dryRun);
  const { report, plan } = await steps.checkAndPlan(ctx, options.force);
  for (const cluster of report.clusters)
    for (const cert of cluster.certificates) if (cert.plan === 'alert-only') cert.action = 'alert-only';
  await steps.notifyFindings(recording, plan.findings);
  if (!options.dryRun) {
    await mapWithConcurrency(batchesOf(plan.due), ctx.config.concurrency, async (batch) => {
      recordBatch(report, await renewBatch(recording, batch, options.pushRetry, options.warn));
    });
  }
  return {
    generatedAt: ctx.now().toISOString(),
    dryRun: options.dryRun,
    clusters: report.clusters,
    alerts: sent,
  };
}

/** A context whose notifier also records what it sent (and sends nothing on a dry run). */
export function recordingContext(ctx: RenewalContext, sent: Alert[], dryRun = false): RenewalContext {
  return {
    ...ctx,
    notifier: {
      send: async (alert) => {
        sent.push(alert);
        if (!dryRun) await ctx.notifier.send(alert);
      },
    },
  };
}

export interface BatchOutcome {
  batch: ClusterBatch;
  /** Set when the batch failed as a whole (NotifyFailed ran). */
  error?: ErrorInfo;
  /** Set when the ActiveActive step itself failed (after its Retry): the certificates stay renewed. */
  activeActiveError?: ErrorInfo;
  alerts: Alert[];
}

/**
 * One cluster's batch through Issue → Push → Verify → ActiveActive → NotifyRenewed, or NotifyFailed,
 * with the state machine's Retry and Catch of each state.
 */
export async function renewBatch(
  ctx: RenewalContext,
  input: ClusterBatch,
  policy: PushRetryPolicy,
  warn: (line: string) => void = () => undefined,
): Promise<BatchOutcome> {
  // FailureReported even when its alert could not be sent (the state machine's Catch on NotifyFailed).
  const notifyFailed = (batch: ClusterBatch, info: ErrorInfo) =>
    steps.notifyFailed(ctx, batch, info).catch((e: unknown) => {
      warn(`${RENEWAL_STEPS.notifyFailed}: ${toErrorInfo(e).message}`);
      return [] as Alert[];
    });
  let batch = input;
  try {
    batch = await steps.issue(ctx, batch);
    const issued = batch;
    batch = await retrying(ctx, pushRetry(policy), () => steps.push(ctx, issued));
    batch = await steps.verify(ctx, batch);
  } catch (error) {
    const info = toErrorInfo(error);
    return { batch, error: info, alerts: await notifyFailed(batch, info) };
  }
  let activeActiveError: ErrorInfo | undefined;
  try {
    const verified = batch;
    batch = await retrying(ctx, ACTIVE_ACTIVE_RETRY, () => steps.activeActive(ctx, verified));
  } catch (error) {
    activeActiveError = toErrorInfo(error);
  }
  const aa = activeActiveError ? { activeActiveError } : {};
  try {
    return { batch, ...aa, alerts: await steps.notifyRenewed(ctx, batch, aa) };
  } catch (error) {
    // RenewedNotReported: the renewal happened; a failed alert never turns into a failure alert.
    warn(`${RENEWAL_STEPS.renewedNotReported}: ${toErrorInfo(error).message}`);
    return { batch, ...aa, alerts: [] };
  }
}

/** A Step Functions Retry, run locally: the same errors, attempts and (jittered) delays. */
async function retrying<T>(ctx: RenewalContext, policy: RetryPolicy, fn: () => Promise<T>): Promise<T> {
  for (let retry = 1; ; retry++) {
    try {
      return await fn();
    } catch (error) {
      const name = (error as { name?: unknown }).name;
      if (retry > policy.maxAttempts || !policy.errors.includes(String(name))) throw error;
      await ctx.sleep(retryDelayMs(policy, retry));
    }
  }
}

function reportOf(report: FleetReport, cluster: string, certificate: string): CertificateReport | undefined {
  return report.clusters.find((c) => c.name === cluster)?.certificates.find((c) => c.name === certificate);
}

/** What each certificate of a batch came to, on the report. */
function recordBatch(report: FleetReport, outcome: BatchOutcome): void {
  const { batch } = outcome;
  const cluster = report.clusters.find((c) => c.name === batch.cluster);
  // The cluster's one push; a database's POST and the client certificate's write are on their rows.
  if (cluster && batch.push && batchKind(batch) === 'cluster') cluster.push = { ...batch.push };
  for (const step of batch.steps ?? []) {
    const cert = reportOf(report, batch.cluster, step.certificate);
    if (!cert) continue;
    if (outcome.error) {
      // The alert's error: NotifyFailed may have diagnosed it (which nodes a 409 left behind).
      const alert = outcome.alerts.find(
        (a) => a.kind === 'renewal-failed' && a.certificate === step.certificate,
      );
      cert.action = 'failed';
      cert.error = alert?.kind === 'renewal-failed' ? alert.error : outcome.error;
      continue;
    }
    cert.action = 'renewed';
    cert.renewed = {
      notAfter: step.notAfter,
      serialNumber: step.serialNumber,
      fingerprint256: step.fingerprint256,
    };
  }
  for (const waiting of batch.waiting ?? []) {
    const cert = reportOf(report, batch.cluster, waiting.certificate);
    if (cert) cert.action = 'waiting';
  }
  const failures =
    outcome.error && !batch.steps && !batch.failures
      ? batch.items.map((item) => ({ item, error: outcome.error as ErrorInfo }))
      : (batch.failures ?? []);
  for (const failure of failures) {
    const cert = reportOf(report, batch.cluster, failure.item.certificate);
    if (!cert) continue;
    if ((SKIPPED_ERRORS as readonly string[]).includes(failure.error.name)) {
      cert.action = 'skipped';
      cert.skipped = failure.error.message;
    } else if (failure.error.name === 'OrderDeferredError') {
      cert.action = 'deferred';
    } else {
      cert.action = 'failed';
      cert.error = failure.error;
    }
  }
  // The follow-up's outcome, failed included: a failed one needs attention (report.ts needsAttention).
  const followUp =
    batch.activeActive ??
    (outcome.activeActiveError
      ? activeActiveFailedAlert(
          batch.cluster,
          (batch.steps ?? []).map((s) => s.certificate),
          outcome.activeActiveError,
        )
      : undefined);
  if (cluster && followUp) cluster.activeActive = followUp;
}
