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
    // MigrateState, Check, HasFindings, RenewDue, Done; then Issue, Push, Verify, ActiveActive, NotifyRenewed.
    expect(deployment.transitions).toEqual({ perRun: 5, perBatch: 5 });
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

  it('grows with the fleet, and says when one check no longer fits its timeout', () => {
    const cpu = checkCpuMsPerCluster();
    const [small, large] = [fleetCost(deployment, 10, cpu), fleetCost(deployment, 20_000, cpu)];
    expect(large.total).toBeGreaterThan(small.total);
    expect(small.checkSeconds).toBeLessThan(small.checkTimeoutS);
    expect(large.checkSeconds).toBeGreaterThan(large.checkTimeoutS);
    // Keys sealed with KMS cost requests; a secret per cluster costs $0.40 each, every month.
    expect(large.keysInSecretsManager).toBeGreaterThan(1000 * large.keysWithKms);
  });

  it("is the README's table", () => {
    const text = readFileSync(README, 'utf8');
    const table = renderCost(README_SIZES.map((n) => fleetCost(deployment, n, checkCpuMsPerCluster())));
    expect(renderReadmeCost(text, table)).toBe(text);
  });
});
