import { batchesOf, type CheckContext, checkAndPlan, rollbackPlan } from '../domain/renewal/steps';
import { summarizeCluster } from '../domain/report';
import { awsCheckContext } from '../wiring/check-context';
import { logger, publishRunMetrics } from '../wiring/runtime';
import type { CheckEvent, CheckResult } from './events';

/** Check and Plan: reads every cluster, publishes the fleet metrics, and lists what is due. */
export function createCheckHandler(context: () => CheckContext) {
  return async (event: CheckEvent = {}): Promise<CheckResult> => {
    // An operator's rollback: no fleet check, the named certificates go back.
    if (event.rollback)
      return { ...rollbackPlan(context(), event.rollback), generatedAt: new Date().toISOString() };
    const ctx = context();
    await ctx.inspectionMemory?.load();
    const { report, plan } = await checkAndPlan(ctx, event.force ?? []);
    // Only saves work for the next run: a failure to save is logged, never the check's failure.
    await ctx.inspectionMemory
      ?.save()
      .catch((error: unknown) =>
        logger.warn('inspection memory not saved', { error: (error as Error).message }),
      );
    // The fleet metrics of this run (part of issue 19: once per run, no per-cluster series).
    publishRunMetrics(report);
    // The full report goes to the log (it holds no secret); the state machine gets a summary.
    logger.info('check done', { report, due: plan.due.length, findings: plan.findings.length });
    return {
      generatedAt: report.generatedAt,
      clusters: report.clusters.map(summarizeCluster),
      due: event.dryRun ? [] : plan.due,
      batches: event.dryRun ? [] : batchesOf(plan.due),
      findings: plan.findings,
      hasFindings: plan.findings.length > 0 && !event.dryRun,
    };
  };
}

export const handler = createCheckHandler(awsCheckContext());
