/**
 * What a run keeps in the report bucket, and the small documents that travel in the state machine's
 * state instead of the fleet's arrays (issue 19: nothing fleet-sized in state).
 *
 *   config/clusters.json                      the cluster list, written at deploy (the check map's ItemReader)
 *   runs/<run>/shards/<shard>/report.json     one check shard's full report (its clusters)
 *   runs/<run>/shards/<shard>/plan.json       its due certificates and findings
 *   runs/<run>/report.json                    the run's report: fleet numbers and where each part is
 *   runs/<run>/report.html                    the page of issue 23 (every certificate's timeline)
 *   runs/<run>/findings.json                  every finding of the check
 *   runs/<run>/due.json                       the due certificates, one batch per item (the renewals map's ItemReader)
 *   runs/<run>/alerts.json                    every alert of the run, findings and outcomes (what the digest summarises)
 *   runs/<run>/digest.json                    the digest as sent
 *   runs/results/<map run>/…                  Step Functions' ResultWriter (manifest.json, SUCCEEDED_0.json, …)
 *
 * No object holds a secret: no key, no password, no response body of the cluster's API (a report
 * holds certificate details, never a PEM).
 */
import { createHash } from 'node:crypto';
import type { FleetSummary } from '../fleet-metrics';
import type { Alert } from '../ports';
import type { DueCertificate } from '../renewal/context';
import type { ClusterBatch } from '../renewal/steps';
import type { ClusterReport, FleetReport } from '../report';

/** Every key a run writes starts with it: the bucket's lifecycle expires them after aws.reportRetentionDays. */
export const RUNS_PREFIX = 'runs/';
/** The cluster list the deployment writes (BucketDeployment), read by the check map's ItemReader. */
export const CLUSTER_LIST_KEY = 'config/clusters.json';
/** Where Step Functions' ResultWriter puts both maps' results (it adds the map run's id). */
export const MAP_RESULTS_PREFIX = `${RUNS_PREFIX}results`;

/** One item of the cluster list: the check map batches them into shards. */
export interface ClusterListItem {
  cluster: string;
}

/** The cluster list as deployed: every configured cluster, in the config's order. */
export function clusterList(config: { clusters: ReadonlyArray<{ name: string }> }): ClusterListItem[] {
  return config.clusters.map((c) => ({ cluster: c.name }));
}

/** A run's name in keys: the execution's name (the last part of its ARN), or the CLI's run id. */
export function runName(execution: string): string {
  const name = execution.split(':').pop() ?? execution;
  // Execution names are [0-9A-Za-z_-]; anything else (a hand-made id) is made safe for a key.
  const safe = name.replace(/[^0-9A-Za-z_.-]/g, '_').slice(0, 128);
  // "" and the path segments "." and ".." are no key's part (S3 and the store port refuse them).
  return /^\.*$/.test(safe) ? 'run' : safe;
}

export const runKeys = (run: string) => {
  const base = `${RUNS_PREFIX}${runName(run)}`;
  return {
    report: `${base}/report.json`,
    html: `${base}/report.html`,
    findings: `${base}/findings.json`,
    due: `${base}/due.json`,
    alerts: `${base}/alerts.json`,
    digest: `${base}/digest.json`,
    shard: (shard: string) => ({
      report: `${base}/shards/${shard}/report.json`,
      plan: `${base}/shards/${shard}/plan.json`,
    }),
  };
};

/**
 * A shard's id: a digest of its cluster names. The same clusters give the same id from one run to
 * the next, so the shard's inspection memory (kept under it) is found again.
 */
export function shardId(clusters: readonly string[]): string {
  return createHash('sha256').update(clusters.join('\n')).digest('hex').slice(0, 16);
}

/** Where an object is. */
export interface ObjectRef {
  bucket: string;
  key: string;
}

/** What a check shard wrote, and its numbers: the child execution's output (ResultWriter keeps it). */
export interface ShardResult {
  shard: string;
  clusters: number;
  clustersUnreadable: number;
  certificates: number;
  due: number;
  findings: number;
  report: string;
  plan: string;
  fleet: FleetSummary;
}

/** A shard's report part. */
export interface ShardReport {
  generatedAt: string;
  clusters: ClusterReport[];
  scheduleProblem?: FleetReport['scheduleProblem'];
}

/** A shard's plan part. */
export interface ShardPlan {
  due: DueCertificate[];
  findings: Alert[];
}

/**
 * What Gather (or a rollback's plan) returns, and what the rest of the run passes on: counts and
 * object keys only, whatever the fleet's size.
 */
export interface RunSummary {
  run: string;
  generatedAt: string;
  dryRun: boolean;
  bucket: string;
  /** The run's report (JSON) and its page. */
  report: { key: string; html?: string };
  /** The due certificates, one batch per item: the renewals map's ItemReader reads them. */
  due: ObjectRef & { batches: number; certificates: number };
  findings: ObjectRef & { count: number; immediate: number };
  hasFindings: boolean;
  clusters: number;
  clustersUnreadable: number;
  /** Check shards that failed (their clusters are findings). */
  failedShards: number;
  /** Orders the order budget deferred to the next run. */
  ordersDeferred: number;
  fleet: FleetSummary;
}

/** Where a run's due list is, with its numbers: Gather's and PlanRollback's `due`. */
export function dueListRef(bucket: string, key: string, batches: readonly ClusterBatch[]): RunSummary['due'] {
  return {
    bucket,
    key,
    batches: batches.length,
    certificates: batches.reduce((n, b) => n + b.items.length, 0),
  };
}

/** The due list's items: what each child execution of the renewals map starts from. */
export type DueBatch = ClusterBatch;
