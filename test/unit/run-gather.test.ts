/**
 * Issue 19 part B: Gather (`gatherRun`). Shards checked by the real checkShard against clusters
 * answering RS's API from memory, their results written as Step Functions' ResultWriter writes
 * them, then gathered: the objects written (keys and contents), the order budget spent once over
 * every shard, dry runs, failed and missing shards, ConfigError, missing objects, and the run page's
 * cap on clusters.
 */
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../lambdas/adapters/in-memory';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import { ConfigError } from '../../lambdas/domain/errors';
import { summarizeFleet } from '../../lambdas/domain/fleet-metrics';
import type { Alert } from '../../lambdas/domain/ports';
import type { ClusterBatch } from '../../lambdas/domain/renewal/steps';
import type { ClusterReport } from '../../lambdas/domain/report';
import { causeMessage, gatherRun, HTML_MAX_CLUSTERS } from '../../lambdas/domain/run/gather';
import {
  runKeys,
  type ShardPlan,
  type ShardReport,
  type ShardResult,
  shardId,
} from '../../lambdas/domain/run/objects';
import { checkShard } from '../../lambdas/domain/run/shard';
import {
  type ChildRecord,
  checkContext,
  checkShards,
  clustersOf,
  executionArn,
  expectNoSecrets,
  type FleetCluster,
  fleetConfig,
  json,
  lambdaCause,
  NOW,
  shardEvent,
  writeMapResults,
} from './run-fixtures';

const RUN = 'nightly-2026-07-01';
const EXECUTION = executionArn(RUN);
const KEYS = runKeys(EXECUTION);
const names = (fleet: readonly FleetCluster[]) => fleet.map((c) => c.name);
const batchItems = (batches: ClusterBatch[]) =>
  batches.map((b) => ({ cluster: b.cluster, items: b.items.map((i) => i.certificate) }));

/** Checks `shards` with the real checkShard and writes the check map's results; answers the manifest. */
async function checkedRun(
  fleet: readonly FleetCluster[],
  shards: ReadonlyArray<readonly string[]>,
  options: { acme?: Record<string, unknown>; dryRun?: boolean; extra?: ChildRecord[] } = {},
) {
  const config = fleetConfig(fleet, options.acme);
  const ctx = await checkContext(config, fleet);
  const store = new MemoryObjectStore('rs-cert-watchdog-reports');
  const records = await checkShards(ctx, store, shards, EXECUTION, { dryRun: options.dryRun });
  const manifest = await writeMapResults(store, 'check-map-run-1', [...records, ...(options.extra ?? [])]);
  return { config, store, records, manifest };
}

describe('gatherRun: the check map’s shards as one run', () => {
  // rs-000: 2 days, rs-001: 5, rs-002: 9, rs-003: 60 (fine), rs-004: unreadable, rs-005: 2 …
  const FLEET = clustersOf(10, [2, 5, 9, 60, 'unreadable']);
  const SHARDS = [names(FLEET).slice(0, 4), names(FLEET).slice(4, 8), names(FLEET).slice(8)];

  it('writes the due list, the findings, the report and its page, and answers counts and keys', async () => {
    const { config, store, records, manifest } = await checkedRun(FLEET, SHARDS);
    const before = store.keys();
    const summary = await gatherRun(config, store, { manifest, execution: EXECUTION, input: {} }, NOW);

    // Exactly the run's four objects are added, beside the shards' parts and the map's results.
    expect(store.keys().filter((k) => !before.includes(k))).toEqual(
      [KEYS.due, KEYS.findings, KEYS.html, KEYS.report].sort(),
    );
    expect(before).toEqual(
      [
        ...SHARDS.flatMap((s) => [
          runKeys(EXECUTION).shard(shardId(s)).plan,
          runKeys(EXECUTION).shard(shardId(s)).report,
        ]),
        'runs/results/check-map-run-1/SUCCEEDED_0.json',
        'runs/results/check-map-run-1/SUCCEEDED_1.json',
        'runs/results/check-map-run-1/manifest.json',
      ].sort(),
    );

    // The due list: one batch per cluster, the shards' due certificates in the map's order.
    const due = await json<ClusterBatch[]>(store, KEYS.due);
    expect(batchItems(due)).toEqual(
      ['rs-000', 'rs-001', 'rs-002', 'rs-005', 'rs-006', 'rs-007'].map((cluster) => ({
        cluster,
        items: ['api', 'proxy'],
      })),
    );
    expect(due.flatMap((b) => b.items).every((i) => i.deferOrder === undefined)).toBe(true);
    expect(due[0]?.items[0]).toMatchObject({ status: 'expiring', currentNotAfter: expect.any(String) });

    const findings = await json<Alert[]>(store, KEYS.findings);
    expect(findings.map((f) => [f.kind, 'cluster' in f ? f.cluster : null])).toEqual([
      ['cluster-unreachable', 'rs-004'],
      ['cluster-unreachable', 'rs-009'],
    ]);

    // The report: the fleet's numbers (as if one check had read every cluster) and where each part is.
    const clusters: ClusterReport[] = [];
    for (const s of SHARDS)
      clusters.push(
        ...(await json<ShardReport>(store, runKeys(EXECUTION).shard(shardId(s)).report)).clusters,
      );
    const fleet = summarizeFleet(clusters, NOW);
    const report = await json<Record<string, unknown>>(store, KEYS.report);
    expect(report).toEqual({
      generatedAt: NOW.toISOString(),
      run: EXECUTION,
      dryRun: false,
      fleet,
      failedShards: 0,
      orders: {
        budget: { newOrders: 250, replacesOrders: null },
        granted: { new: 12, replaces: 0 },
        deferred: 0,
      },
      parts: records.map((r) => {
        const result = r.output as ShardResult;
        return { shard: result.shard, report: result.report, plan: result.plan, clusters: result.clusters };
      }),
    });
    expect(fleet).toMatchObject({
      clustersChecked: 10,
      clustersUnreadable: 2,
      certificatesChecked: 32,
      minDaysLeft: 2,
    });

    // The page: every cluster of a fleet this size.
    const page = store.object(KEYS.html);
    expect(page?.contentType).toBe('text/html; charset=utf-8');
    const html = page?.body.toString('utf8') ?? '';
    expect(html).toMatch(/<title>Certificate report: /);
    expect(html).not.toContain('most urgent');
    expect(html).toContain('by <code>renew</code>');
    expect(shownClusters(html)).toEqual(names(FLEET));

    expect(summary).toEqual({
      run: EXECUTION,
      generatedAt: NOW.toISOString(),
      dryRun: false,
      bucket: 'rs-cert-watchdog-reports',
      report: { key: KEYS.report, html: KEYS.html },
      due: { bucket: 'rs-cert-watchdog-reports', key: KEYS.due, batches: 6, certificates: 12 },
      findings: {
        bucket: 'rs-cert-watchdog-reports',
        key: KEYS.findings,
        count: 2,
        // An unreachable cluster waits for the digest (immediateAlerts): it is no page at 3 a.m.
        immediate: 0,
      },
      hasFindings: true,
      clusters: 10,
      clustersUnreadable: 2,
      failedShards: 0,
      ordersDeferred: 0,
      fleet,
    });
    expect(KEYS.due).toBe(`runs/${RUN}/due.json`);
    expectNoSecrets(store);
  });

  it('spends the order budget once over every shard: the most urgent certificates of the fleet get it', async () => {
    // Each shard holds 4 due certificates, within a budget of 4: only a fleet-wide budget defers any.
    const fleet: FleetCluster[] = [
      { name: 'a-9d', expiry: 9 },
      { name: 'a-2d', expiry: 2 },
      { name: 'b-5d', expiry: 5 },
      { name: 'b-2d', expiry: 2 },
      { name: 'c-9d', expiry: 9 },
      { name: 'c-5d', expiry: 5 },
    ];
    const shards = [
      ['a-9d', 'a-2d'],
      ['b-5d', 'b-2d'],
      ['c-9d', 'c-5d'],
    ];
    const { config, store, records, manifest } = await checkedRun(fleet, shards, {
      acme: { orderBudget: 4 },
    });
    for (const r of records) {
      const plan = await json<ShardPlan>(store, (r.output as ShardResult).plan);
      expect(plan.due).toHaveLength(4);
      expect(plan.due.some((d) => d.deferOrder)).toBe(false);
    }
    const summary = await gatherRun(config, store, { manifest, execution: EXECUTION }, NOW);
    const due = (await json<ClusterBatch[]>(store, KEYS.due)).flatMap((b) => b.items);
    expect(due).toHaveLength(12);
    const granted = due.filter((d) => !d.deferOrder).map((d) => `${d.cluster}/${d.certificate}`);
    expect(granted.sort()).toEqual(['a-2d/api', 'a-2d/proxy', 'b-2d/api', 'b-2d/proxy']);
    expect(due.filter((d) => d.deferOrder === true)).toHaveLength(8);
    expect(summary.ordersDeferred).toBe(8);
    expect(summary.due).toMatchObject({ batches: 6, certificates: 12 });
    expect((await json<{ orders: unknown }>(store, KEYS.report)).orders).toEqual({
      budget: { newOrders: 4, replacesOrders: null },
      granted: { new: 4, replaces: 0 },
      deferred: 8,
    });
  });

  it('a dry run writes an empty due list and says it has no findings', async () => {
    const { config, store, manifest } = await checkedRun(FLEET, SHARDS, {
      acme: { orderBudget: 1 },
      dryRun: true,
    });
    const summary = await gatherRun(
      config,
      store,
      { manifest, execution: EXECUTION, input: { dryRun: true } },
      NOW,
    );
    expect(await store.getText(KEYS.due)).toBe('[]');
    expect(summary).toMatchObject({
      dryRun: true,
      hasFindings: false,
      ordersDeferred: 0,
      due: { key: KEYS.due, batches: 0, certificates: 0 },
      // The findings are still written and counted: the report shows them.
      findings: { key: KEYS.findings, count: 2 },
      clusters: 10,
    });
    expect(await json<Alert[]>(store, KEYS.findings)).toHaveLength(2);
    expect(await json<{ dryRun: boolean }>(store, KEYS.report)).toMatchObject({ dryRun: true });
    expect(store.object(KEYS.html)?.body.toString('utf8')).toContain('by <code>renew --dry-run</code>');
    expectNoSecrets(store);
  });

  it('a failed shard’s clusters are findings (CheckShardError with the shard’s error), the others go on', async () => {
    const failed = shardEvent(SHARDS[1] as string[], EXECUTION);
    const notRun = shardEvent(SHARDS[2] as string[], EXECUTION);
    const config = fleetConfig(FLEET);
    const ctx = await checkContext(config, FLEET);
    const store = new MemoryObjectStore('reports');
    const { result } = await checkShard(ctx, store, shardEvent(SHARDS[0] as string[], EXECUTION));
    const manifest = await writeMapResults(store, 'check-map-run-2', [
      { status: 'SUCCEEDED', input: shardEvent(SHARDS[0] as string[], EXECUTION), output: result },
      {
        status: 'FAILED',
        input: failed,
        error: 'InternalError',
        cause: lambdaCause('InternalError', 'socket hang up'),
      },
      { status: 'PENDING', input: notRun },
    ]);
    const summary = await gatherRun(config, store, { manifest, execution: EXECUTION }, NOW);
    const findings = await json<Alert[]>(store, KEYS.findings);
    const hint = "the check function's log has the shard's error; the next run reads the cluster again";
    expect(findings).toEqual([
      ...['rs-004', 'rs-005', 'rs-006', 'rs-007'].map((cluster) => ({
        kind: 'cluster-unreachable',
        cluster,
        error: {
          name: 'CheckShardError',
          message: 'the check shard that reads this cluster failed (InternalError: socket hang up)',
          hint,
        },
      })),
      ...['rs-008', 'rs-009'].map((cluster) => ({
        kind: 'cluster-unreachable',
        cluster,
        error: {
          name: 'CheckShardError',
          message: 'the check shard that reads this cluster failed (NotRun)',
          hint,
        },
      })),
    ]);
    expect(summary).toMatchObject({
      failedShards: 2,
      clusters: 10,
      clustersUnreadable: 6,
      hasFindings: true,
      findings: { count: 6 },
      due: { batches: 3, certificates: 6 },
    });
    expect(summary.fleet).toMatchObject({
      clustersChecked: 10,
      clustersUnreadable: 6,
      certificatesChecked: 16,
    });
    const report = await json<{ failedShards: number; parts: unknown[] }>(store, KEYS.report);
    expect(report.failedShards).toBe(2);
    expect(report.parts).toHaveLength(1);
  });

  it('a child that succeeded without a shard’s result is a failed shard', async () => {
    const config = fleetConfig(FLEET);
    const store = new MemoryObjectStore('reports');
    const manifest = await writeMapResults(store, 'check-map-run-3', [
      { status: 'SUCCEEDED', input: shardEvent(names(FLEET).slice(0, 5), EXECUTION), output: null },
      {
        status: 'SUCCEEDED',
        input: shardEvent(names(FLEET).slice(5), EXECUTION),
        rawOutput: 'Task timed out',
      },
    ]);
    const summary = await gatherRun(config, store, { manifest, execution: EXECUTION }, NOW);
    const findings = await json<Array<Extract<Alert, { kind: 'cluster-unreachable' }>>>(store, KEYS.findings);
    expect(findings.map((f) => f.cluster)).toEqual(names(FLEET));
    expect(new Set(findings.map((f) => f.error.message))).toEqual(
      new Set(['the check shard that reads this cluster failed (no output)']),
    );
    expect(summary).toMatchObject({ failedShards: 2, clustersUnreadable: 10, due: { batches: 0 } });
  });

  it('a cluster no shard reported on is a finding, never silently unchecked', async () => {
    // The cluster list in S3 is older than the config: rs-008 and rs-009 are in no shard.
    const { config, store, manifest } = await checkedRun(FLEET, SHARDS.slice(0, 2));
    const summary = await gatherRun(config, store, { manifest, execution: EXECUTION }, NOW);
    const findings = await json<Array<Extract<Alert, { kind: 'cluster-unreachable' }>>>(store, KEYS.findings);
    expect(findings.slice(-2)).toEqual(
      ['rs-008', 'rs-009'].map((cluster) => ({
        kind: 'cluster-unreachable',
        cluster,
        error: {
          name: 'CheckShardError',
          message: 'no check shard read this cluster (the cluster list in S3 does not name it)',
          hint: 'redeploy the stack: it writes config/clusters.json from the bundled config',
        },
      })),
    );
    expect(summary).toMatchObject({ failedShards: 0, clusters: 10, clustersUnreadable: 3 });
  });

  it('a shard failing with ConfigError fails the run with its message, and writes nothing', async () => {
    const message = 'force "rs-999/api": there is no cluster "rs-999" in the configuration';
    const config = fleetConfig(FLEET);
    const store = new MemoryObjectStore('reports');
    const manifest = await writeMapResults(
      store,
      'check-map-run-4',
      SHARDS.map((s) => ({
        status: 'FAILED' as const,
        input: shardEvent(s, EXECUTION, { force: ['rs-999/api'] }),
        error: 'ConfigError',
        cause: lambdaCause('ConfigError', message),
      })),
    );
    const error = await gatherRun(config, store, { manifest, execution: EXECUTION }, NOW).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.name).toBe('ConfigError');
    expect(error.message).toBe(message);
    expect(store.keys(`runs/${RUN}/`)).toEqual([]);
  });

  it('one ConfigError among shards that succeeded still fails the run', async () => {
    const { config, store, records } = await checkedRun(FLEET, SHARDS.slice(0, 2));
    const manifest = await writeMapResults(store, 'check-map-run-5', [
      ...records,
      {
        status: 'FAILED',
        input: shardEvent(SHARDS[2] as string[], EXECUTION),
        error: 'ConfigError',
        cause: 'not JSON: a cause as it is',
      },
    ]);
    await expect(gatherRun(config, store, { manifest, execution: EXECUTION }, NOW)).rejects.toThrow(
      new ConfigError('not JSON: a cause as it is'),
    );
    expect(await store.getText(KEYS.due)).toBeNull();
  });

  describe('a missing object is an error that names it', () => {
    it('the manifest', async () => {
      const store = new MemoryObjectStore('reports');
      await expect(
        gatherRun(
          fleetConfig(FLEET),
          store,
          { manifest: { Bucket: 'reports', Key: 'runs/results/gone/manifest.json' }, execution: EXECUTION },
          NOW,
        ),
      ).rejects.toThrow("the map run's manifest runs/results/gone/manifest.json is not in reports");
    });

    it('a result file the manifest names', async () => {
      const store = new MemoryObjectStore('reports');
      const { manifest } = await checkedRun(FLEET, SHARDS);
      await store.put(
        manifest.Key,
        JSON.stringify({
          DestinationBucket: 'reports',
          MapRunArn: 'arn:aws:states:eu-west-1:123456789012:mapRun:RsCertWatchdog/check:1',
          ResultFiles: {
            FAILED: [],
            PENDING: [],
            SUCCEEDED: [{ Key: 'runs/results/check-map-run-1/SUCCEEDED_7.json', Size: 10 }],
          },
        }),
        'application/json',
      );
      await expect(
        gatherRun(fleetConfig(FLEET), store, { manifest, execution: EXECUTION }, NOW),
      ).rejects.toThrow(
        "the map run's result file runs/results/check-map-run-1/SUCCEEDED_7.json is not in reports",
      );
    });

    it('a shard’s plan', async () => {
      const { config, records } = await checkedRun(FLEET, SHARDS);
      const store = new MemoryObjectStore('other-bucket');
      const manifest = await writeMapResults(store, 'check-map-run-6', records);
      const plan = ((records[0] as ChildRecord).output as ShardResult).plan;
      await expect(gatherRun(config, store, { manifest, execution: EXECUTION }, NOW)).rejects.toThrow(
        `a check shard's plan ${plan} is not in other-bucket`,
      );
      expect(store.keys(`runs/${RUN}/`)).toEqual([]);
    });
  });
});

describe('the run page', () => {
  /** Cluster reports as the check wrote them, renamed: one template per expiry. */
  async function templates(): Promise<Record<FleetCluster['expiry'], ClusterReport>> {
    const fleet = clustersOf(5, [2, 5, 9, 60, 'unreadable'], 't');
    const ctx = await checkContext(fleetConfig(fleet), fleet);
    const { report } = await checkShard(ctx, new MemoryObjectStore('t'), shardEvent(names(fleet), EXECUTION));
    const [d2, d5, d9, d60, unreadable] = report.clusters as ClusterReport[];
    return { 2: d2, 5: d5, 9: d9, 60: d60, unreadable } as Record<FleetCluster['expiry'], ClusterReport>;
  }

  /** A fleet of shards written as checkShard writes them, from `layout` (one expiry per cluster). */
  async function bigRun(layout: ReadonlyArray<ReadonlyArray<FleetCluster['expiry']>>) {
    const t = await templates();
    const store = new MemoryObjectStore('reports');
    const all: FleetCluster[] = [];
    const children: ChildRecord[] = [];
    for (const shard of layout) {
      const fleet = shard.map((expiry, i) => ({
        name: `c-${String(all.length + i).padStart(4, '0')}`,
        expiry,
      }));
      all.push(...fleet);
      const clusters = fleet.map((c): ClusterReport => {
        const cluster = { ...structuredClone(t[c.expiry]), name: c.name };
        // The unreadable template's error names its own cluster: this one names the clone.
        if (cluster.error) cluster.error.message = cluster.error.message.replace('"t-004"', `"${c.name}"`);
        return cluster;
      });
      const id = shardId(clusters.map((c) => c.name));
      const keys = runKeys(EXECUTION).shard(id);
      await store.put(
        keys.report,
        JSON.stringify({ generatedAt: NOW.toISOString(), clusters }),
        'application/json',
      );
      await store.put(keys.plan, JSON.stringify({ due: [], findings: [] }), 'application/json');
      const fleetSummary = summarizeFleet(clusters, NOW);
      const result: ShardResult = {
        shard: id,
        clusters: clusters.length,
        clustersUnreadable: clusters.filter((c) => c.error !== null).length,
        certificates: fleetSummary.certificatesChecked,
        due: 0,
        findings: 0,
        report: keys.report,
        plan: keys.plan,
        fleet: fleetSummary,
      };
      children.push({
        status: 'SUCCEEDED',
        input: shardEvent(
          clusters.map((c) => c.name),
          EXECUTION,
        ),
        output: result,
      });
    }
    const manifest = await writeMapResults(store, 'big', children, 100);
    const config = { clusters: all.map((c) => ({ name: c.name })) } as unknown as WatchdogConfig;
    await gatherRun(config, store, { manifest, execution: EXECUTION }, NOW);
    return { store, all, html: store.object(KEYS.html)?.body.toString('utf8') ?? '' };
  }

  const repeat = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);

  it(`shows at most ${HTML_MAX_CLUSTERS} clusters: the unreadable first, then the soonest expiry, and its title says so`, async () => {
    expect(HTML_MAX_CLUSTERS).toBe(1000);
    // 2,500 clusters in 5 shards; 2,050 need attention; the most urgent come last.
    const { all, html } = await bigRun([
      repeat(500, 9),
      repeat(500, 9),
      [...repeat(50, 9), ...repeat(450, 60)],
      repeat(500, 5),
      [...repeat(495, 2), ...repeat(5, 'unreadable')],
    ] as FleetCluster['expiry'][][]);
    expect(all).toHaveLength(2500);
    expect(html).toContain(
      '<title>Certificate report: the 1000 most urgent of the 2050 clusters (of 2500) that need attention: ',
    );
    const expected = all
      .filter((c) => c.expiry === 'unreadable' || c.expiry === 2 || c.expiry === 5)
      .map((c) => c.name);
    expect(expected).toHaveLength(HTML_MAX_CLUSTERS);
    expect(shownClusters(html)).toEqual(expected);
  }, 120_000);

  it('keeps the least urgent out when the unreadable come first in the map’s order', async () => {
    const { all, html } = await bigRun([
      [...repeat(3, 'unreadable'), ...repeat(995, 2)],
      [...repeat(10, 9), ...repeat(990, 60)],
      repeat(2, 2),
    ] as FleetCluster['expiry'][][]);
    expect(html).toContain('the 1000 most urgent of the 1010 clusters (of 2000) that need attention');
    const shown = shownClusters(html);
    expect(shown).toEqual(all.filter((c) => c.expiry === 'unreadable' || c.expiry === 2).map((c) => c.name));
  }, 120_000);

  it('shows only the clusters that need attention in a fleet over the cap, all of them when they fit', async () => {
    const { all, html } = await bigRun([
      [...repeat(600, 60), ...repeat(20, 5)],
      [...repeat(580, 60), ...repeat(1, 'unreadable')],
    ] as FleetCluster['expiry'][][]);
    expect(all).toHaveLength(1201);
    expect(html).toContain('<title>Certificate report: the 21 of 1201 clusters that need attention: ');
    expect(shownClusters(html)).toEqual(all.filter((c) => c.expiry !== 60).map((c) => c.name));
  }, 120_000);

  it(`shows every cluster of a fleet of ${HTML_MAX_CLUSTERS}`, async () => {
    const { all, html } = await bigRun([repeat(999, 60), [2]] as FleetCluster['expiry'][][]);
    expect(html).toMatch(/<title>Certificate report: \d{4}-\d\d-\d\d/);
    expect(shownClusters(html)).toEqual(all.map((c) => c.name));
  }, 120_000);
});

describe('causeMessage', () => {
  it('reads a Lambda error’s message from a Cause, else keeps the cause as it is, at most 500 characters', () => {
    expect(causeMessage(lambdaCause('ConfigError', 'bad force'))).toBe('bad force');
    expect(causeMessage('Task timed out after 900.00 seconds')).toBe('Task timed out after 900.00 seconds');
    expect(causeMessage('{"errorType":"X"}')).toBe('{"errorType":"X"}');
    expect(causeMessage(undefined)).toBe('');
    expect(causeMessage('x'.repeat(900))).toHaveLength(500);
    expect(causeMessage(lambdaCause('E', 'y'.repeat(900)))).toHaveLength(500);
  });
});

/** The cluster names the page shows, sorted and once each. */
function shownClusters(html: string): string[] {
  return [...new Set(html.match(/\b(?:rs|c|t)-\d{3,4}\b/g) ?? [])].sort();
}
