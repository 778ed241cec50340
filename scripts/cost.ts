/**
 * The monthly AWS cost of a fleet: `npm run cost -- --clusters 5000` (or `--clusters 10,500,5000,20000`;
 * `--write` rewrites the README's block). What is deployed is read from the synthesized template
 * (config.example.json, or `--config FILE`): the functions with their memory, the state machine's
 * states, the table, keys, topic and subscriptions, alarms and their metrics, the dashboard (whose
 * SEARCH expressions name the custom metrics and their dimensions), log groups and their retention,
 * buckets, secrets, schedules and their expression. How the fleet uses them is stated below
 * (ASSUMPTIONS), or measured (MEASURED: test/integration/state-usage.test.ts keeps those equal to
 * what the executed state machine does against dynalite and the KMS stand-in). List prices, us-east-1,
 * no free tier (PRICES).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { loadConfig } from '../lambdas/adapters/config-file';
import type { WatchdogConfig } from '../lambdas/domain/config/types';
import { CERTIFICATE_DAYS_LEFT } from '../lambdas/domain/fleet-metrics';
import { RUNS_PREFIX } from '../lambdas/domain/run/objects';
import { measureSchedule } from '../lambdas/domain/schedule';
import { WatchdogStack } from '../lib/watchdog-stack';
import { STATE_NAMES } from '../lib/workflow';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const README = `${ROOT}README.md`;

/** us-east-1 list prices (USD), as published for 2026. Free tiers are left out. */
export const PRICES = {
  lambda: { gbSecondArm: 0.0000133334, perMillionRequests: 0.2 },
  stepFunctions: {
    /** Standard workflows: the parent and the renewals map's children. */
    perThousandTransitions: 0.025,
    /** Express workflows (the check map's shards): per execution, and per GB-second in 64 MB steps of 100 ms. */
    expressPerMillionRequests: 1,
    expressGbSecond: 0.00001667,
  },
  dynamodb: { perMillionWrites: 0.625, perMillionReads: 0.125, gbMonth: 0.25, pitrGbMonth: 0.2 },
  kms: { keyMonth: 1, perTenThousandRequests: 0.03 },
  secretsManager: { secretMonth: 0.4, perTenThousandCalls: 0.05 },
  s3: { gbMonth: 0.023, perThousandPuts: 0.005, perThousandGets: 0.0004 },
  sns: { perMillionPublishes: 0.5, perHundredThousandEmails: 2 },
  cloudWatch: {
    /** Per metric-month, by tier: the first 10,000, the next 240,000, the next 750,000, beyond. */
    metricTiers: [
      [10_000, 0.3],
      [240_000, 0.1],
      [750_000, 0.05],
      [Number.POSITIVE_INFINITY, 0.02],
    ] as Array<[number, number]>,
    alarmMetricMonth: 0.1,
    dashboardMonth: 3,
    logsIngestedGb: 0.5,
    logsStoredGbMonth: 0.03,
  },
  scheduler: { perMillionInvocations: 1 },
} as const;

/** How a fleet uses what is deployed. Each is a stated assumption, not a measurement. */
export const ASSUMPTIONS = {
  /** RS serves api, cm, proxy, syncer, metrics_exporter and ldap_client: all are checked and reported. */
  certificatesPerCluster: 6,
  /** Managed (renewed) per cluster, renewed together (one Map iteration, one push). */
  managedPerCluster: 2,
  renewalDays: 60,
  daysPerMonth: 30,
  /** Lambda time of one renewal batch's steps (an ACME order waits for Route 53 INSYNC, ~30-60 s). */
  stepSeconds: { issue: 45, push: 2, verify: 8, activeActive: 1, notify: 1, migrateState: 0.3 },
  /** A check's wait on each cluster: two requests, this round trip, `concurrency` at a time. */
  clusterRoundTripMs: 50,
  /** Gather: a fixed part, then per shard its plan and report read back from S3. */
  gatherSeconds: { base: 0.5, perShard: 0.02 },
  /** An Express child's memory as billed: its minimum, 64 MB (it only waits on the check Lambda). */
  expressMemoryMb: 64,
  /**
   * Bytes a run leaves in the report bucket: the shard reports (per certificate), the page (per
   * certificate shown, at most every one), the check map's result records (per shard: its cluster
   * names and ShardResult), and per renewal batch its due item, its child's result record and its alerts.
   */
  reportBytes: { perCertificate: 700, pagePerCertificate: 400, perShard: 3_000, perBatch: 4_000 },
  /** Deploys a month: CDK's BucketDeployment runs only then (about 10 s of its Lambda; one GET, one PUT). */
  deploysPerMonth: 1,
  deploymentSeconds: 10,
  /** With the bucket key, S3 asks KMS about once per invocation (or map run) that reads or writes the bucket. */
  kmsPerS3Session: 1,
  // Alerts: one per renewed certificate (a healthy fleet has no findings); e-mail subscribers from the template.
  /** Log bytes: the check's report per certificate, one EMF datapoint, a step's lines, Lambda's START/END/REPORT. */
  logBytes: { reportPerCertificate: 700, metricDatapoint: 330, perStepInvocation: 1_500, perInvocation: 400 },
  /** CloudWatch Logs stores compressed data: about a sixth of what it ingests. */
  logCompression: 6,
  /** The ARI window of every managed certificate is fetched again at every daily run (Retry-After under a day). */
  ariWritesEveryRun: true,
  /** Custom metrics: each metric that receives data in a month is one metric-month (hourly proration not assumed). */
  metricsProrated: false,
} as const;

/**
 * Measured against the executed state machine (dynalite and the KMS stand-in): the state calls of
 * one run with nothing due, and of one renewal batch of a cluster's two managed certificates, and
 * the table's bytes per cluster. test/integration/state-usage.test.ts fails when these change.
 */
export const MEASURED = {
  /** Per run, whatever the fleet: the migration marker, the pending markers (one Query), the inspection memory. */
  run: { gets: 1, queries: 2 },
  /** Per run, per managed certificate: its ARI window. */
  runPerManaged: { gets: 1 },
  /** One renewal batch (two certificates): DynamoDB calls, and KMS calls for the keys. */
  batch: { gets: 19, queries: 0, puts: 25, deletes: 4, kmsDecrypt: 4, kmsGenerateDataKey: 4 },
  /** Average write units of a put in a renewal (certificate records and sealed keys are 2.5-3 KB). */
  batchWriteUnitsPerPut: 2,
  /** The table's bytes per cluster once renewals run every 60 days (records, 2-3 keys per certificate, pushes). */
  tableBytesPerCluster: 33_000,
  /** The inspection memory's bytes per cluster (6 certificates). */
  inspectionBytesPerCluster: 1_330,
} as const;

export interface Deployment {
  functions: Record<string, { memoryMb: number; timeoutS: number }>;
  /**
   * Standard state transitions of an execution with nothing due (the parent), and of one renewal
   * child execution (a batch).
   */
  transitions: { perRun: number; perBatch: number };
  /** The Distributed Maps: the check's shards and the renewals. */
  maps: {
    check: { itemsPerBatch: number; concurrency: number; express: boolean };
    renewals: { concurrency: number; express: boolean };
  };
  /** Days a run's objects are kept (the report bucket's lifecycle rule on runs/). */
  reportRetentionDays: number;
  /** CDK's BucketDeployment Lambda (it runs at deploy only), if deployed. */
  deploymentMemoryMb: number | undefined;
  tables: Array<{ onDemand: boolean; pitr: boolean }>;
  kmsKeys: number;
  secrets: number;
  buckets: number;
  emailSubscriptions: number;
  alarmMetrics: number;
  dashboards: number;
  logRetentionMonths: number;
  /** Runs a month, from the schedule's expression. */
  runsPerMonth: number;
  /** Custom metrics (dashboard SEARCH expressions): name and dimensions. */
  metrics: Array<{ name: string; dimensions: string[] }>;
  checkConcurrency: number;
}

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

/** The strings of a CloudFormation value, intrinsic functions flattened (enough to read structure). */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(flatten).join('');
  if (value && typeof value === 'object') {
    const join = (value as Record<string, unknown>)['Fn::Join'] as [string, unknown[]] | undefined;
    if (join) return join[1].map(flatten).join(join[0]);
    return 'X';
  }
  return String(value);
}

interface AslMap {
  ItemProcessor?: Asl & { ProcessorConfig?: { Mode?: string; ExecutionType?: string } };
  ItemBatcher?: { MaxItemsPerBatch?: number };
  MaxConcurrency?: number;
}

interface Asl {
  StartAt: string;
  States: Record<string, { Type: string; Next?: string; Default?: string; End?: boolean } & AslMap>;
}

/** States entered along the path an execution takes when nothing is found (Choice: Default). */
function happyPath(asl: Asl): Asl['States'][string][] {
  const path: Asl['States'][string][] = [];
  for (let name: string | undefined = asl.StartAt; name; ) {
    const state: Asl['States'][string] | undefined = asl.States[name];
    if (!state) break;
    path.push(state);
    name = state.Type === 'Choice' ? state.Default : state.Next;
  }
  return path;
}

/** What the template deploys, as the cost model needs it. */
export function deploymentOf(template: Template, config: WatchdogConfig): Deployment {
  const resources = Object.values(template.Resources);
  const of = (type: string) => resources.filter((r) => r.Type === type);
  const functions: Deployment['functions'] = {};
  for (const fn of of('AWS::Lambda::Function')) {
    const description = String(fn.Properties?.Description ?? '');
    const name = /^rs-cert-watchdog ([a-z-]+)/.exec(description)?.[1];
    if (name)
      functions[name] = {
        memoryMb: Number(fn.Properties?.MemorySize),
        timeoutS: Number(fn.Properties?.Timeout),
      };
  }
  const machine = of('AWS::StepFunctions::StateMachine')[0];
  const asl = JSON.parse(flatten(machine?.Properties?.DefinitionString)) as Asl;
  const run = happyPath(asl);
  const mapOf = (name: string) => {
    const map = asl.States[name];
    if (map?.ItemProcessor?.ProcessorConfig?.Mode !== 'DISTRIBUTED')
      throw new Error(`the definition has no Distributed Map ${name}`);
    return map;
  };
  const checkMap = mapOf(STATE_NAMES.checkFleet);
  const renewMap = mapOf(STATE_NAMES.renewDue);
  const express = (map: AslMap) => map.ItemProcessor?.ProcessorConfig?.ExecutionType === 'EXPRESS';
  const expiry = of('AWS::S3::Bucket')
    .flatMap(
      (b) =>
        ((b.Properties?.LifecycleConfiguration as { Rules?: unknown[] })?.Rules ?? []) as Array<{
          Prefix?: string;
          ExpirationInDays?: number;
        }>,
    )
    .find((r) => r.Prefix === RUNS_PREFIX && r.ExpirationInDays !== undefined);
  const deployment = of('Custom::CDKBucketDeployment')[0];
  const deploymentHandler = (deployment?.Properties?.ServiceToken as { 'Fn::GetAtt'?: [string, string] })?.[
    'Fn::GetAtt'
  ]?.[0];
  // At most this many runs a day, every day: an upper bound for a weekday schedule.
  const runsPerMonth = of('AWS::Scheduler::Schedule')
    .map((s) => s.Properties ?? {})
    .map((p) => measureSchedule(String(p.ScheduleExpression), String(p.ScheduleExpressionTimezone ?? 'UTC')))
    .reduce((sum, m) => sum + m.maxRunsPerDay * ASSUMPTIONS.daysPerMonth, 0);
  const dashboardText = of('AWS::CloudWatch::Dashboard')
    .map((d) => flatten(d.Properties?.DashboardBody))
    .join('\n');
  const searched = [
    ...dashboardText.matchAll(/SEARCH\('\{[^,}]+,([^}]*)\} MetricName=\\?"([A-Za-z]+)\\?"/g),
  ].map((m) => ({
    name: m[2] as string,
    dimensions: (m[1] as string).split(',').filter((d) => d !== 'service'),
  }));
  // The dashboard's metric widgets: each a series of the namespace with the service dimension only.
  const graphed = [
    ...new Set(
      [...dashboardText.matchAll(/\\?"RsCertWatchdog\\?",\\?"([A-Za-z0-9]+)\\?",\\?"service\\?"/g)].map(
        (m) => m[1] as string,
      ),
    ),
  ].map((name) => ({ name, dimensions: [] as string[] }));
  // The per-certificate EMF record's value: one series too (its cluster and certificate are properties).
  const metrics = [...searched, ...graphed, { name: CERTIFICATE_DAYS_LEFT, dimensions: [] }].filter(
    (m, i, all) => all.findIndex((o) => o.name === m.name) === i,
  );
  const retention = of('AWS::Logs::LogGroup').map((g) => Number(g.Properties?.RetentionInDays ?? 3653));
  return {
    functions,
    transitions: {
      perRun: run.length,
      perBatch: renewMap.ItemProcessor ? happyPath(renewMap.ItemProcessor).length : 0,
    },
    maps: {
      check: {
        itemsPerBatch: checkMap.ItemBatcher?.MaxItemsPerBatch ?? 1,
        concurrency: checkMap.MaxConcurrency ?? 1000,
        express: express(checkMap),
      },
      renewals: { concurrency: renewMap.MaxConcurrency ?? 1000, express: express(renewMap) },
    },
    // Without a lifecycle rule objects stay: count ten years.
    reportRetentionDays: expiry?.ExpirationInDays ?? 3653,
    deploymentMemoryMb: deploymentHandler
      ? Number(template.Resources[deploymentHandler]?.Properties?.MemorySize ?? 128)
      : undefined,
    tables: of('AWS::DynamoDB::Table').map((t) => ({
      onDemand: t.Properties?.BillingMode === 'PAY_PER_REQUEST',
      pitr: Boolean(
        (t.Properties?.PointInTimeRecoverySpecification as { PointInTimeRecoveryEnabled?: boolean })
          ?.PointInTimeRecoveryEnabled,
      ),
    })),
    kmsKeys: of('AWS::KMS::Key').length,
    secrets: of('AWS::SecretsManager::Secret').length,
    buckets: of('AWS::S3::Bucket').length,
    emailSubscriptions: of('AWS::SNS::Subscription').filter((s) => s.Properties?.Protocol === 'email').length,
    alarmMetrics: of('AWS::CloudWatch::Alarm')
      .map((a) => {
        const math = (a.Properties?.Metrics as Array<{ MetricStat?: unknown }> | undefined) ?? [];
        return Math.max(1, math.filter((m) => m.MetricStat).length);
      })
      .reduce((a, b) => a + b, 0),
    dashboards: of('AWS::CloudWatch::Dashboard').length,
    logRetentionMonths: Math.max(...retention) / ASSUMPTIONS.daysPerMonth,
    runsPerMonth,
    metrics,
    checkConcurrency: config.concurrency,
  };
}

export interface FleetCost {
  clusters: number;
  /** USD per month, by service. */
  lines: Record<CostLine, number>;
  total: number;
  /** Seconds one check shard takes, and whether that fits the check function's timeout. */
  checkSeconds: number;
  checkTimeoutS: number;
  /** Check shards per run, and the seconds the whole check map takes (`concurrency` shards at once). */
  shards: number;
  checkRunSeconds: number;
  /** Keys in one Secrets Manager secret per cluster instead (the option not chosen). */
  keysInSecretsManager: number;
  keysWithKms: number;
}

export const COST_LINES = {
  lambda: 'Lambda (requests, GB-seconds)',
  stepFunctions: 'Step Functions (Standard transitions, Express check shards)',
  dynamodb: 'DynamoDB (requests, storage, point-in-time recovery)',
  kms: 'KMS (the stack key, requests)',
  secretsManager: 'Secrets Manager (reading cluster credentials)',
  s3: 'S3 (report bucket: requests, storage; the cluster list at deploy)',
  sns: 'SNS (publishes, e-mail)',
  metrics: 'CloudWatch custom metrics',
  alarms: 'CloudWatch alarms',
  dashboards: 'CloudWatch dashboard',
  logs: 'CloudWatch Logs (ingestion, storage)',
  scheduler: 'EventBridge Scheduler',
} as const;
export type CostLine = keyof typeof COST_LINES;

function metricMonths(count: number): number {
  let left = count;
  let cost = 0;
  for (const [size, price] of PRICES.cloudWatch.metricTiers) {
    const here = Math.min(left, size);
    cost += here * price;
    left -= here;
    if (left <= 0) break;
  }
  return cost;
}

export function fleetCost(deployment: Deployment, clusters: number, cpuMsPerCluster: number): FleetCost {
  const A = ASSUMPTIONS;
  const runs = deployment.runsPerMonth;
  const managed = clusters * A.managedPerCluster;
  const certificates = clusters * A.certificatesPerCluster;
  // Every cluster renews its certificates every renewalDays, in one batch.
  const batches = (clusters * A.daysPerMonth) / A.renewalDays;
  const renewed = batches * A.managedPerCluster;
  const fn = (name: string) => deployment.functions[name] ?? { memoryMb: 256, timeoutS: 60 };

  // The check runs in shards (the check map's batches), `concurrency` at once; each shard is one
  // invocation whose CPU scales with memory (one vCPU at 1,769 MB) and whose waits overlap
  // `config.concurrency` at a time. Gather then reads every shard's plan and report back.
  const check = fn('check');
  const perShard = deployment.maps.check.itemsPerBatch;
  const shards = Math.ceil(clusters / perShard);
  const shardClusters = Math.min(clusters, perShard);
  const cpuSeconds = (shardClusters * cpuMsPerCluster * (1769 / check.memoryMb)) / 1000;
  const waitSeconds = (shardClusters * 2 * A.clusterRoundTripMs) / deployment.checkConcurrency / 1000;
  const checkSeconds = 1 + Math.max(cpuSeconds, waitSeconds);
  const gatherSeconds = A.gatherSeconds.base + shards * A.gatherSeconds.perShard;
  const checkRunSeconds =
    Math.ceil(shards / deployment.maps.check.concurrency) * checkSeconds + gatherSeconds;
  const gbSeconds = (name: string, seconds: number, count: number) =>
    (fn(name).memoryMb / 1024) * seconds * count;
  const steps = A.stepSeconds;
  const migrate = deployment.functions['migrate-state'] ? 1 : 0;
  const deploys = deployment.deploymentMemoryMb === undefined ? 0 : A.deploysPerMonth;
  const lambdaGbS =
    gbSeconds('check', checkSeconds, runs * shards) +
    gbSeconds('check', gatherSeconds, runs) +
    migrate * gbSeconds('migrate-state', steps.migrateState, runs) +
    // NotifyDigest, once a run.
    gbSeconds('notify', steps.notify, runs) +
    gbSeconds('issue', steps.issue, batches) +
    gbSeconds('push', steps.push, batches) +
    gbSeconds('verify', steps.verify, batches) +
    gbSeconds('active-active', steps.activeActive, batches) +
    gbSeconds('notify', steps.notify, batches) +
    ((deployment.deploymentMemoryMb ?? 0) / 1024) * A.deploymentSeconds * deploys;
  // Per run: MigrateState, the shards, Gather, NotifyDigest; per batch its five steps; per deploy the list's writer.
  const invocations = runs * (migrate + shards + 2) + batches * 5 + deploys;
  const lambda =
    lambdaGbS * PRICES.lambda.gbSecondArm + (invocations / 1e6) * PRICES.lambda.perMillionRequests;

  // Step Functions. The parent (Standard) enters its states, and each child execution a Distributed
  // Map starts is one more transition of it. Renewal children are Standard (their own transitions);
  // check shards are Express: a request each, and their duration (the shard's Lambda) at 64 MB steps.
  const SF = PRICES.stepFunctions;
  const standardTransitions =
    runs * (deployment.transitions.perRun + shards) + batches * (1 + deployment.transitions.perBatch);
  const expressShards = deployment.maps.check.express ? runs * shards : 0;
  const expressGbS =
    expressShards * ((Math.ceil(A.expressMemoryMb / 64) * 64) / 1024) * (Math.ceil(checkSeconds * 10) / 10);
  const stepFunctions =
    (standardTransitions / 1000) * SF.perThousandTransitions +
    (expressShards / 1e6) * SF.expressPerMillionRequests +
    expressGbS * SF.expressGbSecond +
    // Standard shards (were the map not Express) are billed by their own transitions: Check, one each.
    (deployment.maps.check.express ? 0 : (runs * shards * 1 * SF.perThousandTransitions) / 1000);

  // DynamoDB: consistent reads (1 unit per 4 KB), writes (1 unit per KB).
  const M = MEASURED;
  const inspectionBytes = clusters * M.inspectionBytesPerCluster;
  const runReads =
    M.run.gets + M.run.queries + managed * M.runPerManaged.gets + Math.ceil(inspectionBytes / 4096);
  const runWrites = (A.ariWritesEveryRun ? managed : 0) + Math.ceil(inspectionBytes / 1024);
  const batchReads = M.batch.gets + M.batch.queries;
  const batchWrites = M.batch.puts * M.batchWriteUnitsPerPut + M.batch.deletes;
  const tableGb = (clusters * M.tableBytesPerCluster + inspectionBytes) / 1e9;
  const hasTable = deployment.tables.length > 0;
  const dynamodb = hasTable
    ? ((runs * runReads + batches * batchReads) / 1e6) * PRICES.dynamodb.perMillionReads +
      ((runs * runWrites + batches * batchWrites) / 1e6) * PRICES.dynamodb.perMillionWrites +
      tableGb * PRICES.dynamodb.gbMonth +
      (deployment.tables.some((t) => t.pitr) ? tableGb * PRICES.dynamodb.pitrGbMonth : 0)
    : 0;

  // KMS: the key, the functions' own seal/open calls, and DynamoDB's use of the table key (one per invocation).
  const s3Sessions = deployment.buckets === 0 ? 0 : runs * (shards + 2 + 2) + deploys;
  const kmsRequests =
    batches * (M.batch.kmsDecrypt + M.batch.kmsGenerateDataKey) +
    invocations +
    s3Sessions * A.kmsPerS3Session;
  const kms =
    deployment.kmsKeys * PRICES.kms.keyMonth + (kmsRequests / 1e4) * PRICES.kms.perTenThousandRequests;

  // Secrets Manager: the stack creates no secret; each run reads every cluster's credentials, each batch four times.
  const secretCalls = runs * clusters + batches * 4;
  const secretsManager =
    deployment.secrets * PRICES.secretsManager.secretMonth +
    (secretCalls / 1e4) * PRICES.secretsManager.perTenThousandCalls;

  // The report bucket. A run's requests: each shard PUTs its report and plan; the check map's
  // ItemReader GETs the cluster list and its ResultWriter PUTs a manifest and a result file; Gather
  // GETs them and each shard's plan and report, and PUTs the due list, findings, report and page;
  // the renewals map GETs the due list and PUTs its manifest and result file; NotifyDigest GETs the
  // findings, that manifest and file, and PUTs the alert list and the digest. Storage: what a run
  // leaves, kept for the bucket's retention. At deploy, CDK's BucketDeployment GETs its asset and
  // PUTs config/clusters.json.
  const batchesPerRun = batches / runs;
  const puts = runs * (2 * shards + 2 + 4 + 2 + 2) + deploys;
  const gets = runs * (1 + 2 + 2 * shards + 1 + 3) + deploys;
  const R = A.reportBytes;
  const runBytes =
    certificates * (R.perCertificate + R.pagePerCertificate) +
    shards * R.perShard +
    batchesPerRun * R.perBatch;
  const storedGbMonths = (runBytes * runs * (deployment.reportRetentionDays / A.daysPerMonth)) / 1e9;
  const s3 =
    deployment.buckets === 0
      ? 0
      : (puts / 1000) * PRICES.s3.perThousandPuts +
        (gets / 1000) * PRICES.s3.perThousandGets +
        storedGbMonths * PRICES.s3.gbMonth;

  const publishes = renewed;
  const sns =
    (publishes / 1e6) * PRICES.sns.perMillionPublishes +
    ((publishes * deployment.emailSubscriptions) / 1e5) * PRICES.sns.perHundredThousandEmails;

  // Custom metrics: cardinality from the dashboard's dimensions; DaysLeft each run, renewals in a month with one.
  let metricCount = 0;
  let datapoints = 0;
  for (const metric of deployment.metrics) {
    const cardinality = metric.dimensions.includes('Certificate')
      ? certificates
      : metric.dimensions.includes('Cluster')
        ? clusters
        : 1;
    if (/Failure/.test(metric.name)) continue; // a healthy fleet publishes none
    const share = /Renewed/.test(metric.name) ? Math.min(1, A.daysPerMonth / A.renewalDays) : 1;
    metricCount += cardinality * share;
    datapoints += /Renewed/.test(metric.name) ? renewed : cardinality * runs;
  }
  const metrics = metricMonths(metricCount);
  const alarms = deployment.alarmMetrics * PRICES.cloudWatch.alarmMetricMonth;
  const dashboards = deployment.dashboards * PRICES.cloudWatch.dashboardMonth;

  const L = A.logBytes;
  const logBytes =
    runs * certificates * L.reportPerCertificate +
    datapoints * L.metricDatapoint +
    batches * 5 * L.perStepInvocation +
    invocations * L.perInvocation;
  const ingestedGb = logBytes / 1e9;
  const storedGb = (ingestedGb / A.logCompression) * deployment.logRetentionMonths;
  const logs = ingestedGb * PRICES.cloudWatch.logsIngestedGb + storedGb * PRICES.cloudWatch.logsStoredGbMonth;

  const scheduler = (runs / 1e6) * PRICES.scheduler.perMillionInvocations;

  const lines: Record<CostLine, number> = {
    lambda,
    stepFunctions,
    dynamodb,
    kms,
    secretsManager,
    s3,
    sns,
    metrics,
    alarms,
    dashboards,
    logs,
    scheduler,
  };
  const keyCalls = batches * (M.batch.kmsDecrypt + M.batch.kmsGenerateDataKey);
  return {
    clusters,
    lines,
    total: Object.values(lines).reduce((a, b) => a + b, 0),
    checkSeconds,
    checkTimeoutS: check.timeoutS,
    shards,
    checkRunSeconds,
    // One secret per cluster with its keys, read and written where the keys are now opened and sealed.
    keysInSecretsManager:
      clusters * PRICES.secretsManager.secretMonth +
      (keyCalls / 1e4) * PRICES.secretsManager.perTenThousandCalls,
    keysWithKms: (keyCalls / 1e4) * PRICES.kms.perTenThousandRequests,
  };
}

const usd = (n: number) =>
  n >= 1000
    ? `$${Math.round(n).toLocaleString('en-US')}`
    : n >= 0.005 || n === 0
      ? `$${n.toFixed(2)}`
      : '< $0.01';
const count = (n: number) => n.toLocaleString('en-US');

/** The README's table: one column per fleet size. */
export function renderCost(costs: FleetCost[]): string {
  const header = `| Service (per month) | ${costs.map((c) => `${count(c.clusters)} clusters`).join(' | ')} |`;
  const rule = `| --- | ${costs.map(() => '---:').join(' | ')} |`;
  const rows = (Object.keys(COST_LINES) as CostLine[]).map(
    (line) => `| ${COST_LINES[line]} | ${costs.map((c) => usd(c.lines[line])).join(' | ')} |`,
  );
  const total = `| **Total** | ${costs.map((c) => `**${usd(c.total)}**`).join(' | ')} |`;
  const check = `| One check shard (its timeout: ${costs[0]?.checkTimeoutS} s) | ${costs
    .map((c) => `${Math.round(c.checkSeconds)} s${c.checkSeconds > c.checkTimeoutS ? ' (over)' : ''}`)
    .join(' | ')} |`;
  const checkRun = `| The check of one run: shards, and its time | ${costs
    .map((c) => `${count(c.shards)}, ${Math.max(1, Math.round(c.checkRunSeconds))} s`)
    .join(' | ')} |`;
  const keys = `| Keys: KMS envelope in the table (chosen) | ${costs.map((c) => usd(c.keysWithKms)).join(' | ')} |`;
  const secrets = `| Keys: one Secrets Manager secret per cluster | ${costs.map((c) => usd(c.keysInSecretsManager)).join(' | ')} |`;
  return [header, rule, ...rows, total, check, checkRun, keys, secrets].join('\n');
}

/** The check's CPU per cluster on one vCPU, measured by the fleet bench (a new process with the last run's memory). */
export function checkCpuMsPerCluster(): number {
  const bench = JSON.parse(readFileSync(`${ROOT}bench/results/fleet-check.json`, 'utf8')) as {
    data: { rows: Array<{ id: string; clusters: number; cpuMedianMs: number }> };
  };
  const row = bench.data.rows.find((r) => r.id === '500@32-memory');
  if (!row) throw new Error('bench/results/fleet-check.json has no row 500@32-memory');
  return row.cpuMedianMs / row.clusters;
}

/** Synthesizes the stack (no bundling, no credentials) and reads the deployment from its template. */
export function synthesizedDeployment(configFile = `${ROOT}config.example.json`): Deployment {
  const { context } = JSON.parse(readFileSync(`${ROOT}cdk.json`, 'utf8')) as {
    context: Record<string, unknown>;
  };
  const app = new App({ context: { ...context, [cxapi.BUNDLING_STACKS]: [] } });
  const config = loadConfig(configFile);
  const stack = new WatchdogStack(app, 'RsCertWatchdog', { config });
  const template = app.synth().getStackByName(stack.stackName).template as Template;
  return deploymentOf(template, config);
}

export const README_SIZES = [10, 500, 5_000, 20_000];
const BLOCK = /<!-- cost -->\n[\s\S]*?<!-- \/cost -->/;

export function renderReadmeCost(text: string, table: string): string {
  if (!BLOCK.test(text)) throw new Error('README.md has no <!-- cost --> block');
  return text.replace(BLOCK, `<!-- cost -->\n${table}\n<!-- /cost -->`);
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const sizes = (value('--clusters') ?? README_SIZES.join(','))
    .split(',')
    .map((s) => Number(s.replace(/_/g, '')));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    process.stderr.write('usage: npm run cost -- --clusters N[,N...] [--config FILE] [--write]\n');
    process.exit(2);
  }
  const deployment = synthesizedDeployment(value('--config'));
  const cpu = checkCpuMsPerCluster();
  const table = renderCost(sizes.map((n) => fleetCost(deployment, n, cpu)));
  if (args.includes('--write')) writeFileSync(README, renderReadmeCost(readFileSync(README, 'utf8'), table));
  process.stdout.write(`${table}\n`);
}
