import type { ObjectStore } from '../domain/ports';
import { batchesOf, type CheckContext, checkAndPlan, rollbackPlan } from '../domain/renewal/steps';
import { summarizeCluster } from '../domain/report';
import { gatherRun } from '../domain/run/gather';
import { shardId } from '../domain/run/objects';
import { planRollbackRun } from '../domain/run/rollback';
import { checkShard, isShardEvent, type ShardEvent, shardClusters } from '../domain/run/shard';
import { awsCheckContext } from '../wiring/check-context';
import { reportStore } from '../wiring/report-store';
import { logClusterReports, logger, publishFleetMetrics, publishRunMetrics } from '../wiring/runtime';
import type { CheckEvent, CheckFunctionEvent, CheckResult, RunSummary, ShardResult } from './events';

/**
 * The check function: a check shard (the check map's child), Gather (the shards as one run), a
 * rollback's plan, or (invoked by hand) a whole-fleet check in one invocation.
 */
export function createCheckHandler(context: () => CheckContext, store: () => ObjectStore = reportStore) {
  return async (event: CheckFunctionEvent = {}): Promise<CheckResult | ShardResult | RunSummary> => {
    if (isShardEvent(event)) return shard(context(), store(), event);
    if ('gather' in event) {
      const summary = await gatherRun(context().config, store(), event.gather, new Date());
      // The fleet metrics, once per run (shards merged): no per-cluster series.
      publishFleetMetrics(summary.fleet);
      logger.info('run gathered', { ...summary, fleet: undefined });
      return summary;
    }
    if ('planRollback' in event) return planRollbackRun(context(), store(), event.planRollback, new Date());
    return wholeFleet(context(), event);
  };
}

async function shard(ctx: CheckContext, store: ObjectStore, event: ShardEvent): Promise<ShardResult> {
  // This shard's inspection memory only: the shards of a run neither read nor overwrite each other's.
  const memory = ctx.inspectionMemoryOf?.(shardId(shardClusters(event)));
  await memory?.load();
  const { result, report } = await checkShard(ctx, store, event);
  await memory
    ?.save()
    .catch((error: unknown) =>
      logger.warn('inspection memory not saved', { error: (error as Error).message }),
    );
  // Unreadable clusters, and one EMF record per certificate (properties, not dimensions): the
  // dashboard's soonest-expiries table.
  logClusterReports(report.clusters);
  logger.info('check shard done', { shard: result.shard, clusters: result.clusters, due: result.due });
  return result;
}

async function wholeFleet(ctx: CheckContext, event: CheckEvent): Promise<CheckResult> {
  // An operator's rollback: no fleet check, the named certificates go back.
  if (event.rollback) return { ...rollbackPlan(ctx, event.rollback), generatedAt: new Date().toISOString() };
  await ctx.inspectionMemory?.load();
  const { report, plan } = await checkAndPlan(ctx, event.force ?? []);
  // Only saves work for the next run: a failure to save is logged, never the check's failure.
  await ctx.inspectionMemory
    ?.save()
    .catch((error: unknown) =>
      logger.warn('inspection memory not saved', { error: (error as Error).message }),
    );
  publishRunMetrics(report);
  logger.info('check done', { report, due: plan.due.length, findings: plan.findings.length });
  return {
    generatedAt: report.generatedAt,
    clusters: report.clusters.map(summarizeCluster),
    due: event.dryRun ? [] : plan.due,
    batches: event.dryRun ? [] : batchesOf(plan.due),
    findings: plan.findings,
    hasFindings: plan.findings.length > 0 && !event.dryRun,
  };
}

export const handler = createCheckHandler(awsCheckContext());
