/**
 * One check shard: a batch of the cluster list (the check map's ItemBatcher), read and planned as
 * `check` reads the whole fleet, written to the report bucket, answered with counts and keys. The
 * order budget is not spent here: Gather spends it once over every shard's due list.
 */
import { ConfigError } from '../errors';
import { summarizeFleet } from '../fleet-metrics';
import type { ObjectStore } from '../ports';
import { validateForce } from '../renewal/plan';
import { type CheckContext, checkAndPlan } from '../renewal/steps';
import type { FleetReport } from '../report';
import {
  type ClusterListItem,
  runKeys,
  type ShardPlan,
  type ShardReport,
  type ShardResult,
  shardId,
} from './objects';

/** What the check map hands each child execution (Step Functions' ItemBatcher shape). */
export interface ShardEvent {
  Items: ClusterListItem[];
  BatchInput?: {
    /** The parent execution (its ARN): the run's objects are kept under its name. */
    execution?: string;
    /** The execution's input: `force` and `dryRun` as for a whole-fleet check. */
    input?: { force?: string[]; dryRun?: boolean };
  };
}

export function isShardEvent(event: unknown): event is ShardEvent {
  return typeof event === 'object' && event !== null && Array.isArray((event as ShardEvent).Items);
}

/** The shard's cluster names, as listed. */
export function shardClusters(event: ShardEvent): string[] {
  return event.Items.map((item) => {
    if (typeof item?.cluster !== 'string' || item.cluster === '')
      throw new ConfigError(
        'a check shard item has no cluster name (the cluster list in S3 is not as deployed)',
        {
          hint: 'redeploy the stack: it writes config/clusters.json from the bundled config',
        },
      );
    return item.cluster;
  });
}

export async function checkShard(
  ctx: CheckContext,
  store: ObjectStore,
  event: ShardEvent,
): Promise<{ result: ShardResult; report: FleetReport }> {
  const names = shardClusters(event);
  const force = event.BatchInput?.input?.force ?? [];
  // Against the whole fleet: a name no cluster has is the operator's mistake, in every shard alike.
  validateForce(ctx.config, force);
  const byName = new Map(ctx.config.clusters.map((c) => [c.name, c]));
  const unknown = names.filter((n) => !byName.has(n));
  if (unknown.length > 0)
    throw new ConfigError(
      `the cluster list names ${unknown.length} cluster(s) the deployed config does not have (${unknown.slice(0, 3).join(', ')})`,
      { hint: 'the list and the config are deployed together: redeploy the stack' },
    );
  const config = {
    ...ctx.config,
    clusters: names.map((n) => byName.get(n) as (typeof ctx.config.clusters)[number]),
  };
  // The force entries that name something in this shard (the others are another shard's).
  const shardForce = force.filter((entry) => {
    try {
      validateForce(config, [entry]);
      return true;
    } catch {
      return false;
    }
  });
  const { report, plan } = await checkAndPlan({ ...ctx, config }, shardForce, { orderBudget: false });
  const id = shardId(names);
  const keys = runKeys(event.BatchInput?.execution ?? 'manual').shard(id);
  const part: ShardReport = { generatedAt: report.generatedAt, clusters: report.clusters };
  const planned: ShardPlan = { due: plan.due, findings: plan.findings };
  await store.put(keys.report, JSON.stringify(part), 'application/json');
  await store.put(keys.plan, JSON.stringify(planned), 'application/json');
  const fleet = summarizeFleet(report.clusters, new Date(report.generatedAt));
  return {
    report,
    result: {
      shard: id,
      clusters: report.clusters.length,
      clustersUnreadable: report.clusters.filter((c) => c.error !== null).length,
      certificates: fleet.certificatesChecked,
      due: plan.due.length,
      findings: plan.findings.length,
      report: keys.report,
      plan: keys.plan,
      fleet,
    },
  };
}
