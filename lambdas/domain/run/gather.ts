/**
 * Gather: the check map's shards as one run. Reads the map's results (ResultWriter) and each
 * shard's plan, spends the order budget once over the whole due list, and writes the run's due list
 * (one batch per item, for the renewals map), its findings, its report and its page. Returns a
 * RunSummary: counts and keys, whatever the fleet's size.
 *
 * A shard that failed is not the run's failure: each of its clusters becomes a finding. A ConfigError
 * is (a `force` naming nothing, a cluster list not as deployed): every shard fails alike, and the
 * execution fails with its message, as a whole-fleet check did.
 */

import { immediateAlerts } from '../digest';
import { CheckShardError, ConfigError, toErrorInfo } from '../errors';
import { emptyFleetSummary, type FleetSummary, mergeFleetSummaries } from '../fleet-metrics';
import type { Alert, ObjectStore } from '../ports';
import type { DueCertificate } from '../renewal/context';
import { applyOrderBudget } from '../renewal/order-budget';
import { batchesOf } from '../renewal/steps';
import { type ClusterReport, needsAttention } from '../report';
import { renderHtmlReport } from '../report-html';
import { type ResultWriterDetails, readMapResults } from './map-results';
import {
  dueListRef,
  type RunSummary,
  runKeys,
  type ShardPlan,
  type ShardReport,
  type ShardResult,
} from './objects';

export interface GatherInput {
  /** The check map's ResultWriterDetails. */
  manifest: ResultWriterDetails;
  /** The execution (its ARN). */
  execution: string;
  /** The execution's input (`dryRun`). */
  input?: { dryRun?: boolean };
}

/**
 * The run's page shows at most this many clusters: every cluster of a fleet this size, else those
 * that need attention, soonest expiry first (a page of 20,000 clusters would be tens of megabytes
 * that no browser renders and no one reads; the run's report.json has them all).
 */
export const HTML_MAX_CLUSTERS = 1_000;

export async function gatherRun(
  config: { clusters: ReadonlyArray<{ name: string }> } & Parameters<typeof applyOrderBudget>[0],
  store: ObjectStore,
  input: GatherInput,
  now: Date,
): Promise<RunSummary> {
  const keys = runKeys(input.execution);
  const dryRun = input.input?.dryRun === true;
  const due: DueCertificate[] = [];
  const findings: Alert[] = [];
  const parts: Array<{ shard: string; report: string; plan: string; clusters: number }> = [];
  const seen = new Set<string>();
  let fleet: FleetSummary = emptyFleetSummary(now);
  let failedShards = 0;
  let configError: ConfigError | undefined;
  const unread = (cluster: string, why: CheckShardError) => {
    findings.push({ kind: 'cluster-unreachable', cluster, error: toErrorInfo(why) });
    fleet = {
      ...fleet,
      clustersChecked: fleet.clustersChecked + 1,
      clustersUnreadable: fleet.clustersUnreadable + 1,
    };
  };

  await readMapResults(store, input.manifest.Key, async (child) => {
    const names = namesOf(child.input);
    const result = child.output as ShardResult | undefined;
    if (child.status === 'SUCCEEDED' && isShardResult(result)) {
      const text = await store.getText(result.plan);
      if (text === null) throw new Error(`a check shard's plan ${result.plan} is not in ${store.bucket}`);
      const plan = JSON.parse(text) as ShardPlan;
      for (const item of plan.due) due.push(item);
      for (const alert of plan.findings) findings.push(alert);
      fleet = mergeFleetSummaries(fleet, result.fleet);
      parts.push({
        shard: result.shard,
        report: result.report,
        plan: result.plan,
        clusters: result.clusters,
      });
      for (const n of names) seen.add(n);
      return;
    }
    failedShards++;
    const message = causeMessage(child.cause);
    if (child.error === 'ConfigError') configError ??= new ConfigError(message);
    const why = new CheckShardError(
      `the check shard that reads this cluster failed (${child.error ?? 'no output'}${message ? `: ${message}` : ''})`,
      { hint: "the check function's log has the shard's error; the next run reads the cluster again" },
    );
    for (const n of names) {
      seen.add(n);
      unread(n, why);
    }
  });
  if (configError) throw configError;
  // A cluster no shard reported on (the list is older than the config): never silently unchecked.
  for (const cluster of config.clusters)
    if (!seen.has(cluster.name))
      unread(
        cluster.name,
        new CheckShardError('no check shard read this cluster (the cluster list in S3 does not name it)', {
          hint: 'redeploy the stack: it writes config/clusters.json from the bundled config',
        }),
      );

  const budgeted = applyOrderBudget(config, due);
  const batches = dryRun ? [] : batchesOf(budgeted.due);
  const json = 'application/json';
  await store.put(keys.due, JSON.stringify(batches), json);
  await store.put(keys.findings, JSON.stringify(findings), json);
  const clusters = fleet.clustersChecked;
  await store.put(
    keys.report,
    JSON.stringify({
      generatedAt: fleet.at,
      run: input.execution,
      dryRun,
      fleet,
      failedShards,
      orders: { budget: budgeted.budget, granted: budgeted.granted, deferred: budgeted.deferred.length },
      parts,
    }),
    json,
  );
  await store.put(
    keys.html,
    await runPage(store, parts, fleet, clusters, dryRun),
    'text/html; charset=utf-8',
  );
  const immediate = immediateAlerts(findings).length;
  return {
    run: input.execution,
    generatedAt: fleet.at,
    dryRun,
    bucket: store.bucket,
    report: { key: keys.report, html: keys.html },
    due: dueListRef(store.bucket, keys.due, batches),
    findings: { bucket: store.bucket, key: keys.findings, count: findings.length, immediate },
    hasFindings: findings.length > 0 && !dryRun,
    clusters,
    clustersUnreadable: fleet.clustersUnreadable,
    failedShards,
    ordersDeferred: dryRun ? 0 : budgeted.deferred.length,
    fleet,
  };
}

/** The run's page from the shards' report parts: every cluster, or the most urgent of those that need attention. */
async function runPage(
  store: ObjectStore,
  parts: ReadonlyArray<{ report: string }>,
  fleet: FleetSummary,
  clusters: number,
  dryRun: boolean,
): Promise<string> {
  const all = clusters <= HTML_MAX_CLUSTERS;
  const soonest = (c: ClusterReport) =>
    Math.min(
      ...c.certificates.map((cert) => cert.daysLeft ?? Number.NEGATIVE_INFINITY),
      Number.POSITIVE_INFINITY,
    );
  // Unreadable clusters first, then by soonest expiry; only the first HTML_MAX_CLUSTERS are kept as we go.
  const urgency = (c: ClusterReport) => (c.error ? Number.NEGATIVE_INFINITY : soonest(c));
  const byUrgency = (a: ClusterReport, b: ClusterReport) => {
    const x = urgency(a);
    const y = urgency(b);
    return x === y ? 0 : x < y ? -1 : 1;
  };
  let shown: ClusterReport[] = [];
  let attention = 0;
  for (const part of parts) {
    const text = await store.getText(part.report);
    if (text === null) continue;
    for (const cluster of (JSON.parse(text) as ShardReport).clusters) {
      if (!all && !needsAttention({ generatedAt: fleet.at, clusters: [cluster] })) continue;
      attention++;
      shown.push(cluster);
    }
    if (shown.length > 2 * HTML_MAX_CLUSTERS) shown = shown.sort(byUrgency).slice(0, HTML_MAX_CLUSTERS);
  }
  if (!all) shown = shown.sort(byUrgency).slice(0, HTML_MAX_CLUSTERS);
  shown.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const title = all
    ? 'Certificate report'
    : attention > shown.length
      ? `Certificate report: the ${shown.length} most urgent of the ${attention} clusters (of ${clusters}) that need attention`
      : `Certificate report: the ${shown.length} of ${clusters} clusters that need attention`;
  return renderHtmlReport(
    { generatedAt: fleet.at, clusters: shown, dryRun },
    { title, generator: 'rs-cert-watchdog' },
  );
}

function isShardResult(value: unknown): value is ShardResult {
  const v = value as Partial<ShardResult> | undefined;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.plan === 'string' &&
    typeof v.report === 'string' &&
    typeof v.clusters === 'number' &&
    typeof v.fleet === 'object'
  );
}

/** The cluster names of a check shard's input (`{Items: [{cluster}]}`), whatever else it holds. */
function namesOf(input: unknown): string[] {
  const items = (input as { Items?: unknown } | null)?.Items;
  if (!Array.isArray(items)) return [];
  return items.flatMap((i) => (typeof i?.cluster === 'string' ? [i.cluster as string] : []));
}

/** A Lambda error's message from a Step Functions Cause (`{"errorType","errorMessage"}`), else the text. */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage.slice(0, 500);
  } catch {
    // not JSON: the cause as it is
  }
  return cause.slice(0, 500);
}
