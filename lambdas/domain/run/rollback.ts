/**
 * A rollback execution's plan (`{"rollback": [...]}`): no fleet check; the named certificates go
 * back through the same renewals map. Written and answered as Gather does, so the rest of the run
 * is the same.
 */
import { emptyFleetSummary } from '../fleet-metrics';
import type { ObjectStore } from '../ports';
import type { RenewalContext } from '../renewal/context';
import type { RollbackRequest } from '../renewal/rollback';
import { rollbackPlan } from '../renewal/steps';
import { dueListRef, type RunSummary, runKeys } from './objects';

export async function planRollbackRun(
  ctx: Pick<RenewalContext, 'config'>,
  store: ObjectStore,
  input: { requests: readonly RollbackRequest[]; execution: string },
  now: Date,
): Promise<RunSummary> {
  const { batches } = rollbackPlan(ctx, input.requests);
  const keys = runKeys(input.execution);
  const fleet = emptyFleetSummary(now);
  await store.put(keys.due, JSON.stringify(batches), 'application/json');
  await store.put(keys.findings, '[]', 'application/json');
  await store.put(
    keys.report,
    JSON.stringify({
      generatedAt: fleet.at,
      run: input.execution,
      rollback: input.requests,
      fleet,
      parts: [],
    }),
    'application/json',
  );
  return {
    run: input.execution,
    generatedAt: fleet.at,
    dryRun: false,
    bucket: store.bucket,
    report: { key: keys.report },
    due: dueListRef(store.bucket, keys.due, batches),
    findings: { bucket: store.bucket, key: keys.findings, count: 0, immediate: 0 },
    hasFindings: false,
    clusters: 0,
    clustersUnreadable: 0,
    failedShards: 0,
    ordersDeferred: 0,
    fleet,
  };
}
