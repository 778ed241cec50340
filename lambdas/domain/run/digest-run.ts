/**
 * NotifyDigest's reading of a run: the check's findings and the renewals map's outcomes (each child
 * execution's NotifyRenewed or NotifyFailed output, or its error) as one list of alerts, written
 * beside the report (`alerts.json`, the full list behind the digest), and the run's digest.
 *
 * A child that failed without reporting (its execution failed, or its notify step did) still gets
 * its lines: a renewal-failed alert per certificate of its batch, with the error Step Functions
 * recorded. Nothing a run did goes unsaid because the step that would have said it failed.
 */
import { buildDigest, type ReportLocation, type RunDigest } from '../digest';
import type { ErrorInfo } from '../errors';
import type { Alert, ObjectStore } from '../ports';
import { failedAlert, renewedAlert } from '../renewal/outcome';
import type { ClusterBatch } from '../renewal/steps';
import { causeMessage } from './gather';
import { type ResultWriterDetails, readMapResults } from './map-results';
import { type RunSummary, runKeys } from './objects';

/** A Catch's output, as Step Functions shapes it. */
interface Caught {
  Error?: string;
  Cause?: string;
}

/** NotifyDigest's input: the run's summary as the state machine holds it at the end. */
export type DigestRunInput = RunSummary & {
  /** The renewals map's output (its ResultWriterDetails), when it ran. */
  renewals?: { ResultWriterDetails?: ResultWriterDetails };
  /** The renewals map failed as a whole (its Catch). */
  renewDueError?: Caught;
};

/** What each renewal child execution answers (NotifyRenewed, NotifyFailed): its alerts. */
export interface RenewalOutcome {
  sent: number;
  alerts?: Alert[];
}

export async function digestRun(
  store: ObjectStore,
  input: DigestRunInput,
  options: { reportUrl?: (location: { bucket: string; key: string }) => string } = {},
): Promise<{ digest: RunDigest; alerts: number }> {
  const keys = runKeys(input.run);
  const findings = await readJson<Alert[]>(store, input.findings.key);
  const outcomes: Alert[] = [];
  const failedBatch = (batch: unknown, error: ErrorInfo) => {
    const b = batch as Partial<ClusterBatch> | null;
    for (const item of Array.isArray(b?.items) ? b.items : []) outcomes.push(failedAlert(item, error));
  };
  const manifest = input.renewals?.ResultWriterDetails;
  if (manifest) {
    await readMapResults(store, manifest.Key, (child) => {
      const output = child.output as
        | (RenewalOutcome & Partial<ClusterBatch> & { error?: Caught })
        | undefined;
      if (child.status === 'SUCCEEDED' && Array.isArray(output?.alerts)) {
        for (const alert of output.alerts) outcomes.push(alert);
        return;
      }
      // The iteration ended without its alerts: its notify step failed, or the execution did.
      const ended = output as (Partial<ClusterBatch> & { error?: Caught; notifyError?: Caught }) | undefined;
      if (child.status === 'SUCCEEDED' && ended?.notifyError && !ended.error) {
        // RenewedNotReported: pushed and verified, only the telling failed. Renewed, said here.
        for (const step of ended.steps ?? [])
          outcomes.push(
            renewedAlert(
              step,
              { ...step, domains: [] },
              step.replacedNotAfter ?? step.currentNotAfter,
              step.verification ?? 'not verified',
            ),
          );
        return;
      }
      // FailureReported whose NotifyFailed failed, or a child execution that failed as a whole.
      const error = child.status === 'SUCCEEDED' ? ended?.error : { Error: child.error, Cause: child.cause };
      // The batch from the output when it holds one, else from the child's input (an output that is
      // not JSON, or not a batch, must not leave the batch's certificates unsaid).
      const batch = child.status === 'SUCCEEDED' && Array.isArray(ended?.items) ? output : child.input;
      failedBatch(batch, {
        name: error?.Error ?? 'States.Unknown',
        message:
          causeMessage(error?.Cause) || 'the renewal ended without reporting its outcome: check the cluster',
      });
    });
  } else if (input.renewDueError && input.due.batches > 0) {
    // The map itself failed (e.g. it could not read the due list): every due batch is unreported.
    for (const batch of await readJson<ClusterBatch[]>(store, input.due.key))
      failedBatch(batch, {
        name: input.renewDueError.Error ?? 'States.Runtime',
        message: causeMessage(input.renewDueError.Cause) || 'the renewals map failed',
      });
  }
  const alerts = [...findings, ...outcomes];
  await store.put(keys.alerts, JSON.stringify(alerts), 'application/json');
  const count = (kind: Alert['kind']) => outcomes.filter((a) => a.kind === kind).length;
  const location: ReportLocation = { bucket: input.bucket, key: input.report.html ?? input.report.key };
  const url = options.reportUrl?.(location);
  const digest = buildDigest({
    generatedAt: input.generatedAt,
    run: input.run,
    dryRun: input.dryRun,
    fleet: {
      ...input.fleet,
      renewed: count('renewed'),
      renewalFailures: count('renewal-failed'),
      deferred: count('order-deferred'),
    },
    alerts,
    report: url ? { ...location, url } : location,
  });
  await store.put(keys.digest, JSON.stringify(digest), 'application/json');
  return { digest, alerts: alerts.length };
}

async function readJson<T>(store: ObjectStore, key: string): Promise<T> {
  const text = await store.getText(key);
  if (text === null)
    throw new Error(`${key} is not in ${store.bucket} (the run's objects expired or were removed)`);
  return JSON.parse(text) as T;
}
