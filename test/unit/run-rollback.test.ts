/**
 * Issue 19 part B: a rollback execution's plan (`planRollbackRun`): no fleet check; the named
 * certificates are written as the run's due list (one batch per cluster) and answered as Gather
 * answers, so the renewals map and NotifyDigest read it alike.
 */
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../lambdas/adapters/in-memory';
import { ConfigError } from '../../lambdas/domain/errors';
import type { ClusterBatch } from '../../lambdas/domain/renewal/steps';
import { digestRun } from '../../lambdas/domain/run/digest-run';
import { runKeys } from '../../lambdas/domain/run/objects';
import { planRollbackRun } from '../../lambdas/domain/run/rollback';
import { clustersOf, executionArn, fleetConfig, json, NOW } from './run-fixtures';

const EXECUTION = executionArn('rollback-2026-07-03');
const KEYS = runKeys(EXECUTION);
const config = fleetConfig(clustersOf(3, [60]));

describe('planRollbackRun', () => {
  it('writes the named certificates as the due list, empty findings and a report, and answers a RunSummary', async () => {
    const store = new MemoryObjectStore('reports');
    const requests = [
      { cluster: 'rs-001', certificate: 'proxy' },
      { cluster: 'rs-002', certificate: 'api' },
      { cluster: 'rs-001', certificate: 'api' },
    ];
    const summary = await planRollbackRun({ config }, store, { requests, execution: EXECUTION }, NOW);
    expect(store.keys()).toEqual([KEYS.due, KEYS.findings, KEYS.report].sort());
    const due = await json<ClusterBatch[]>(store, KEYS.due);
    expect(due.map((b) => ({ cluster: b.cluster, items: b.items.map((i) => i.certificate) }))).toEqual([
      { cluster: 'rs-001', items: ['proxy', 'api'] },
      { cluster: 'rs-002', items: ['api'] },
    ]);
    expect(due.flatMap((b) => b.items).every((i) => i.rollback === true && i.forced === true)).toBe(true);
    expect(await store.getText(KEYS.findings)).toBe('[]');
    expect(await json(store, KEYS.report)).toMatchObject({ run: EXECUTION, rollback: requests, parts: [] });
    expect(summary).toMatchObject({
      run: EXECUTION,
      generatedAt: NOW.toISOString(),
      dryRun: false,
      report: { key: KEYS.report },
      due: { key: KEYS.due, batches: 2, certificates: 3 },
      findings: { key: KEYS.findings, count: 0, immediate: 0 },
      hasFindings: false,
      clusters: 0,
      failedShards: 0,
      ordersDeferred: 0,
    });
    expect(summary.report).not.toHaveProperty('html');
    // NotifyDigest reads it as it reads a checked run (the map failed: each rollback is said failed).
    const { alerts, digest } = await digestRun(store, {
      ...summary,
      renewDueError: { Error: 'States.Runtime' },
    });
    expect(alerts).toBe(3);
    expect(digest.report).toEqual({ bucket: 'reports', key: KEYS.report });
  });

  it('refuses a cluster the config does not have, an empty or malformed request, and writes nothing', async () => {
    const store = new MemoryObjectStore('reports');
    for (const requests of [[{ cluster: 'gone', certificate: 'api' }], [], [{ cluster: 'rs-000' }]])
      await expect(
        planRollbackRun({ config }, store, { requests: requests as never, execution: EXECUTION }, NOW),
      ).rejects.toThrow(ConfigError);
    expect(store.keys()).toEqual([]);
  });
});
