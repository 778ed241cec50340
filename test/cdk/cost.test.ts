/**
 * Issue 20: the cost model reads what is deployed from the synthesized template, and the README's
 * table is its output (`npm run cost -- --write` rewrites it).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkCpuMsPerCluster,
  fleetCost,
  README,
  README_SIZES,
  renderCost,
  renderReadmeCost,
  synthesizedDeployment,
} from '../../scripts/cost';

const deployment = synthesizedDeployment();

describe('the cost model', () => {
  it('reads the deployment from the template: functions, states, table, key, alarms, metrics, schedule', () => {
    expect(Object.keys(deployment.functions).sort()).toEqual(
      ['active-active', 'check', 'issue', 'migrate-state', 'notify', 'push', 'verify'].sort(),
    );
    expect(deployment.functions.issue?.memoryMb).toBe(1769);
    // MigrateState, IsRollback, CheckFleet, Gather, HasFindings, RenewDue, NotifyDigest, Done; then a
    // renewal child's Issue, Push, Verify, ActiveActive, NotifyRenewed.
    expect(deployment.transitions).toEqual({ perRun: 8, perBatch: 5 });
    // Issue 19: the Distributed Maps as the config sets them, and the report bucket's retention.
    expect(deployment.maps).toEqual({
      check: { itemsPerBatch: 50, concurrency: 40, express: true },
      renewals: { concurrency: 4, express: false },
    });
    expect(deployment.reportRetentionDays).toBe(90);
    expect(deployment.buckets).toBe(1);
    // CDK's BucketDeployment handler: billed per deploy, not per run.
    expect(deployment.deploymentMemoryMb).toBe(256);
    expect(deployment.tables).toEqual([{ onDemand: true, pitr: true }]);
    expect(deployment.kmsKeys).toBe(1);
    expect(deployment.secrets).toBe(0);
    expect(deployment.runsPerMonth).toBe(30);
    expect(deployment.metrics.map((m) => `${m.name}:${m.dimensions.join('+')}`).sort()).toEqual([
      // The fleet metrics (one series each) and the per-certificate expiry record's value: no dimension.
      'CertificateDaysLeft:',
      'CertificatesChecked:',
      'CertificatesExpired:',
      'CertificatesExpiringWithin14Days:',
      'CertificatesExpiringWithin7Days:',
      'CertificatesRenewed:',
      'CertificatesUnreadable:',
      'ClustersChecked:',
      'ClustersUnreadable:',
      'MinDaysLeft:',
      'OrdersDeferred:',
      'RenewalFailures:',
    ]);
    expect(deployment.alarmMetrics).toBeGreaterThanOrEqual(4);
  });

  it('grows with the fleet, and says when one check shard no longer fits its timeout', () => {
    const cpu = checkCpuMsPerCluster();
    const [small, large] = [fleetCost(deployment, 10, cpu), fleetCost(deployment, 20_000, cpu)];
    expect(large.total).toBeGreaterThan(small.total);
    // Sharded: a shard holds at most clustersPerShard clusters, whatever the fleet.
    expect(small.shards).toBe(1);
    expect(large.shards).toBe(400);
    expect(large.checkSeconds).toBeLessThan(large.checkTimeoutS);
    expect(large.checkRunSeconds).toBeGreaterThan(small.checkRunSeconds);
    // One shard of 20,000 clusters (an inline check, as before issue 19) would not fit.
    const unsharded = {
      ...deployment,
      maps: { ...deployment.maps, check: { ...deployment.maps.check, itemsPerBatch: 20_000 } },
    };
    expect(fleetCost(unsharded, 20_000, cpu).checkSeconds).toBeGreaterThan(large.checkTimeoutS);
    // Keys sealed with KMS cost requests; a secret per cluster costs $0.40 each, every month.
    expect(large.keysInSecretsManager).toBeGreaterThan(1000 * large.keysWithKms);
  });

  it('counts the report bucket, the Express check shards and the Distributed Maps’ child executions', () => {
    const cpu = checkCpuMsPerCluster();
    const base = fleetCost(deployment, 5_000, cpu);
    // S3: requests grow with the shards, storage with the retention.
    const smallerShards = {
      ...deployment,
      maps: { ...deployment.maps, check: { ...deployment.maps.check, itemsPerBatch: 10 } },
    };
    expect(fleetCost(smallerShards, 5_000, cpu).lines.s3).toBeGreaterThan(base.lines.s3);
    const kept = fleetCost({ ...deployment, reportRetentionDays: 360 }, 5_000, cpu);
    expect(kept.lines.s3).toBeGreaterThan(3 * base.lines.s3);
    expect(fleetCost({ ...deployment, buckets: 0 }, 5_000, cpu).lines.s3).toBe(0);
    // Each child execution is a parent transition: more shards, more Step Functions.
    expect(fleetCost(smallerShards, 5_000, cpu).lines.stepFunctions).toBeGreaterThan(
      base.lines.stepFunctions,
    );
    // Express shards are billed per request and duration, not per transition: the same shards as
    // Standard children cost their transitions instead.
    const standardShards = {
      ...deployment,
      maps: { ...deployment.maps, check: { ...deployment.maps.check, express: false } },
    };
    expect(fleetCost(standardShards, 5_000, cpu).lines.stepFunctions).not.toBeCloseTo(
      base.lines.stepFunctions,
      6,
    );
    // The cluster list's writer runs at deploy only: its cost does not grow with runs.
    const daily = fleetCost(deployment, 10, cpu);
    const hourly = fleetCost({ ...deployment, runsPerMonth: 720 }, 10, cpu);
    const noDeploy = (d: typeof deployment) =>
      fleetCost({ ...d, deploymentMemoryMb: undefined }, 10, cpu).lines.lambda;
    expect(daily.lines.lambda - noDeploy(deployment)).toBeCloseTo(
      hourly.lines.lambda - noDeploy({ ...deployment, runsPerMonth: 720 }),
      12,
    );
    expect(daily.lines.lambda).toBeGreaterThan(noDeploy(deployment));
  });

  it("is the README's table", () => {
    const text = readFileSync(README, 'utf8');
    const table = renderCost(README_SIZES.map((n) => fleetCost(deployment, n, checkCpuMsPerCluster())));
    expect(renderReadmeCost(text, table)).toBe(text);
  });
});
