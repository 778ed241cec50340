/**
 * The local runner: the CLI's `renew` drives the same steps as the state machine (./steps.ts), in
 * the same order, with the same retry policies and the same error-to-alert mapping as
 * lib/workflow.ts. Certificates of one cluster go one at a time (a push is cluster-wide); clusters
 * go side by side up to `concurrency`.
 */
import { mapWithConcurrency } from '../concurrency';
import { SKIPPED_ERRORS, toErrorInfo } from '../errors';
import type { Alert } from '../ports';
import type { CertificateReport, FleetReport } from '../report';
import { type PushRetryPolicy, pushRetry, type RetryPolicy, retryDelayMs } from '../retry';
import type { DueCertificate, RenewalContext } from './context';
import { failedAlert } from './outcome';
import * as steps from './steps';
import { RENEWAL_STEPS, type RenewalStep } from './steps';

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
 * The states the runner passes through for one certificate: the item processor of lib/workflow.ts's
 * Map has exactly these (test/cdk/one-path.test.ts).
 */
export const RUNNER_STATES = Object.values(RENEWAL_STEPS);

export type Outcome =
  | { kind: 'renewed'; step: RenewalStep; alert: Alert | null }
  | { kind: 'failed'; alert: Alert | null }
  | { kind: 'skipped'; reason: string };

export async function renewFleet(ctx: RenewalContext, options: RenewOptions): Promise<RenewReport> {
  const sent: Alert[] = [];
  const recording: RenewalContext = {
    ...ctx,
    notifier: {
      send: async (alert) => {
        sent.push(alert);
        if (!options.dryRun) await ctx.notifier.send(alert);
      },
    },
  };
  const { report, plan } = await steps.checkAndPlan(ctx, options.force);
  for (const cluster of report.clusters)
    for (const cert of cluster.certificates) if (cert.plan === 'alert-only') cert.action = 'alert-only';
  await steps.notifyFindings(recording, plan.findings);
  if (!options.dryRun) {
    const byCluster = new Map<string, DueCertificate[]>();
    for (const item of plan.due) byCluster.set(item.cluster, [...(byCluster.get(item.cluster) ?? []), item]);
    await mapWithConcurrency([...byCluster.values()], ctx.config.concurrency, async (items) => {
      for (const item of items)
        record(reportOf(report, item), await renewOne(recording, item, options.pushRetry, options.warn));
    });
  }
  return {
    generatedAt: ctx.now().toISOString(),
    dryRun: options.dryRun,
    clusters: report.clusters,
    alerts: sent,
  };
}

/**
 * One certificate through Issue → Push → Verify → NotifyRenewed, with the state machine's Catches:
 * "another run has it" → LockHeld, any other failure → NotifyFailed → FailureReported, and a
 * NotifyRenewed that cannot send → RenewedNotReported.
 */
export async function renewOne(
  ctx: RenewalContext,
  item: DueCertificate,
  policy: PushRetryPolicy,
  warn: (line: string) => void = () => undefined,
): Promise<Outcome> {
  let step: RenewalStep | undefined;
  try {
    step = await steps.issue(ctx, item);
    const issued = step;
    step = await retrying(ctx, pushRetry(policy), () => steps.push(ctx, issued));
    step = await steps.verify(ctx, step);
  } catch (error) {
    const info = toErrorInfo(error);
    if ((SKIPPED_ERRORS as readonly string[]).includes(info.name))
      return { kind: 'skipped', reason: info.message }; // LockHeld
    const alert = await steps.notifyFailed(ctx, step ?? item, info).catch((e: unknown) => {
      warn(`${RENEWAL_STEPS.notifyFailed}: ${toErrorInfo(e).message}`); // FailureReported without its alert
      return failedAlert(item, info);
    });
    return { kind: 'failed', alert };
  }
  const done = step;
  const alert = await steps.notifyRenewed(ctx, done).catch((e: unknown) => {
    warn(`${RENEWAL_STEPS.renewedNotReported}: ${toErrorInfo(e).message}`);
    return null;
  });
  return { kind: 'renewed', step: done, alert };
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

function reportOf(report: FleetReport, item: DueCertificate): CertificateReport | undefined {
  return report.clusters
    .find((c) => c.name === item.cluster)
    ?.certificates.find((c) => c.name === item.certificate);
}

function record(cert: CertificateReport | undefined, outcome: Outcome): void {
  if (!cert) return;
  if (outcome.kind === 'renewed') {
    cert.action = 'renewed';
    cert.renewed = {
      notAfter: outcome.step.notAfter,
      serialNumber: outcome.step.serialNumber,
      fingerprint256: outcome.step.fingerprint256,
    };
  } else if (outcome.kind === 'skipped') {
    cert.action = 'skipped';
    cert.skipped = outcome.reason;
  } else {
    cert.action = 'failed';
    if (outcome.alert?.kind === 'renewal-failed') cert.error = outcome.alert.error;
  }
}
