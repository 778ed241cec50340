/**
 * Issue 19 part B: one check shard (`checkShard`), run against clusters that answer RS's API from
 * memory. What it writes (keys and contents), what it answers, how `force` is split between shards
 * and checked against the whole fleet, and the names its keys are made of (runName, shardId).
 */
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../lambdas/adapters/in-memory';
import { ConfigError } from '../../lambdas/domain/errors';
import { summarizeFleet } from '../../lambdas/domain/fleet-metrics';
import type { DueCertificate } from '../../lambdas/domain/renewal/context';
import {
  CLUSTER_LIST_KEY,
  clusterList,
  runKeys,
  runName,
  type ShardPlan,
  type ShardReport,
  shardId,
} from '../../lambdas/domain/run/objects';
import { checkShard, isShardEvent, shardClusters } from '../../lambdas/domain/run/shard';
import {
  checkContext,
  clustersOf,
  executionArn,
  expectNoSecrets,
  fleetConfig,
  json,
  NOW,
  shardEvent,
} from './run-fixtures';

// rs-000: 2 days, rs-001: 5, rs-002: 9, rs-003: 60 (fine), rs-004: unreadable (401), rs-005: 2 …
const FLEET = clustersOf(8, [2, 5, 9, 60, 'unreadable']);
const NAMES = FLEET.map((c) => c.name);
const EXECUTION = executionArn('run-2026-07-01');

const dueNames = (due: DueCertificate[]) => due.map((d) => `${d.cluster}/${d.certificate}`);

describe('checkShard', () => {
  it('reads only its clusters and writes their report and plan under the run and the shard', async () => {
    const config = fleetConfig(FLEET, { orderBudget: 1 });
    const ctx = await checkContext(config, FLEET);
    const store = new MemoryObjectStore('reports');
    const names = NAMES.slice(0, 5);
    const { result, report } = await checkShard(ctx, store, shardEvent(names, EXECUTION));

    // Only the shard's clusters were asked.
    expect([...ctx.requests.keys()].sort()).toEqual(names);
    const id = shardId(names);
    const keys = runKeys(EXECUTION).shard(id);
    expect(keys).toEqual({
      report: `runs/run-2026-07-01/shards/${id}/report.json`,
      plan: `runs/run-2026-07-01/shards/${id}/plan.json`,
    });
    expect(store.keys()).toEqual([keys.plan, keys.report]);
    expect(store.object(keys.plan)?.contentType).toBe('application/json');
    expect(store.object(keys.report)?.contentType).toBe('application/json');

    const part = await json<ShardReport>(store, keys.report);
    expect(part.generatedAt).toBe(NOW.toISOString());
    expect(part.clusters.map((c) => c.name)).toEqual(names);
    expect(part.clusters.map((c) => c.error?.name ?? null)).toEqual([
      null,
      null,
      null,
      null,
      'AuthenticationError',
    ]);
    const api = part.clusters[0]?.certificates.find((c) => c.name === 'api');
    expect(api).toMatchObject({ status: 'expiring', daysLeft: 2, managed: true, keyMatches: true });
    expect(part).toEqual(
      JSON.parse(JSON.stringify({ generatedAt: report.generatedAt, clusters: report.clusters })),
    );

    const plan = await json<ShardPlan>(store, keys.plan);
    // api and proxy of the 2-, 5- and 9-day clusters; none of the 60-day one.
    expect(dueNames(plan.due)).toEqual([
      'rs-000/api',
      'rs-000/proxy',
      'rs-001/api',
      'rs-001/proxy',
      'rs-002/api',
      'rs-002/proxy',
    ]);
    // The order budget (1) is not spent in a shard: Gather spends it once over every shard.
    expect(plan.due.filter((d) => d.deferOrder)).toEqual([]);
    expect(plan.findings).toEqual([
      expect.objectContaining({
        kind: 'cluster-unreachable',
        cluster: 'rs-004',
        error: expect.objectContaining({ name: 'AuthenticationError' }),
      }),
    ]);

    expect(result).toEqual({
      shard: id,
      clusters: 5,
      clustersUnreadable: 1,
      certificates: 16,
      due: 6,
      findings: 1,
      report: keys.report,
      plan: keys.plan,
      fleet: summarizeFleet(report.clusters, NOW),
    });
    expect(result.fleet).toMatchObject({
      clustersChecked: 5,
      clustersUnreadable: 1,
      minDaysLeft: 2,
      expiringWithin7Days: 2,
      expiringWithin14Days: 4,
    });
    // The clusters answered their private keys and the watchdog logged in with a password: neither is kept.
    expectNoSecrets(store);
  });

  it('keeps its objects under "manual" when the event names no execution', async () => {
    const ctx = await checkContext(fleetConfig(FLEET), FLEET);
    const store = new MemoryObjectStore('reports');
    const { result } = await checkShard(ctx, store, { Items: [{ cluster: 'rs-003' }] });
    expect(result.report).toBe(`runs/manual/shards/${shardId(['rs-003'])}/report.json`);
    expect(store.keys()).toEqual([result.plan, result.report]);
  });

  describe('force', () => {
    it('renews a forced certificate in the shard that holds its cluster; the others accept the entry', async () => {
      const ctx = await checkContext(fleetConfig(FLEET), FLEET);
      const store = new MemoryObjectStore('reports');
      const force = ['rs-003/api'];
      const first = await checkShard(ctx, store, shardEvent(NAMES.slice(0, 4), EXECUTION, { force }));
      const second = await checkShard(ctx, store, shardEvent(NAMES.slice(4), EXECUTION, { force }));
      const plan1 = await json<ShardPlan>(store, first.result.plan);
      const plan2 = await json<ShardPlan>(store, second.result.plan);
      expect(plan1.due.find((d) => d.cluster === 'rs-003')).toMatchObject({
        certificate: 'api',
        forced: true,
        status: 'ok',
      });
      expect(dueNames(plan1.due)).toContain('rs-003/api');
      expect(dueNames(plan1.due)).not.toContain('rs-003/proxy');
      // rs-005 (2 days) is due in the second shard; rs-003 is not there, and nothing is forced there.
      expect(plan2.due.map((d) => d.forced)).not.toContain(true);
      expect(dueNames(plan2.due)).toEqual([
        'rs-005/api',
        'rs-005/proxy',
        'rs-006/api',
        'rs-006/proxy',
        'rs-007/api',
        'rs-007/proxy',
      ]);
    });

    it('forces a certificate name without a cluster in every shard', async () => {
      const fleet = clustersOf(4, [60]);
      const ctx = await checkContext(fleetConfig(fleet), fleet);
      const store = new MemoryObjectStore('reports');
      const a = await checkShard(
        ctx,
        store,
        shardEvent(['rs-000', 'rs-001'], EXECUTION, { force: ['proxy'] }),
      );
      const b = await checkShard(
        ctx,
        store,
        shardEvent(['rs-002', 'rs-003'], EXECUTION, { force: ['proxy'] }),
      );
      expect(dueNames((await json<ShardPlan>(store, a.result.plan)).due)).toEqual([
        'rs-000/proxy',
        'rs-001/proxy',
      ]);
      expect(dueNames((await json<ShardPlan>(store, b.result.plan)).due)).toEqual([
        'rs-002/proxy',
        'rs-003/proxy',
      ]);
    });

    it.each([
      ['a cluster no one has', 'rs-999/api', /no cluster "rs-999"/],
      ['a certificate no cluster manages', 'rs-003/syncer', /"syncer"/],
      ['a certificate name no cluster manages', 'cm', /"cm"/],
    ])('is a ConfigError in every shard, before any cluster is read, for %s', async (_, entry, message) => {
      const ctx = await checkContext(fleetConfig(FLEET), FLEET);
      const store = new MemoryObjectStore('reports');
      for (const names of [NAMES.slice(0, 4), NAMES.slice(4)]) {
        const error = await checkShard(
          ctx,
          store,
          shardEvent(names, EXECUTION, { force: ['rs-003/api', entry] }),
        ).catch((e) => e);
        expect(error).toBeInstanceOf(ConfigError);
        expect(error.name).toBe('ConfigError');
        expect(error.message).toMatch(message);
      }
      expect(ctx.requests.size).toBe(0);
      expect(store.keys()).toEqual([]);
    });
  });

  describe('the cluster list', () => {
    it('is one item per configured cluster, in the config’s order', () => {
      expect(clusterList(fleetConfig(FLEET))).toEqual(NAMES.map((cluster) => ({ cluster })));
      expect(CLUSTER_LIST_KEY).toBe('config/clusters.json');
    });

    it('naming a cluster the config does not have is a ConfigError, and nothing is read or written', async () => {
      const ctx = await checkContext(fleetConfig(FLEET), FLEET);
      const store = new MemoryObjectStore('reports');
      const error = await checkShard(ctx, store, shardEvent(['rs-000', 'gone-1', 'gone-2'], EXECUTION)).catch(
        (e) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain('2 cluster(s)');
      expect(error.message).toContain('gone-1, gone-2');
      expect(error.hint).toMatch(/redeploy/);
      expect(ctx.requests.size).toBe(0);
      expect(store.keys()).toEqual([]);
    });

    it('an item without a cluster name is a ConfigError', async () => {
      const ctx = await checkContext(fleetConfig(FLEET), FLEET);
      const store = new MemoryObjectStore('reports');
      for (const item of [{}, { cluster: '' }, { cluster: 7 }, null]) {
        const event = { Items: [{ cluster: 'rs-000' }, item] } as never;
        expect(isShardEvent(event)).toBe(true);
        expect(() => shardClusters(event)).toThrow(ConfigError);
        await expect(checkShard(ctx, store, event)).rejects.toThrow(/no cluster name/);
      }
      expect(store.keys()).toEqual([]);
      expect(isShardEvent({ items: [] })).toBe(false);
      expect(isShardEvent(null)).toBe(false);
    });
  });
});

describe('shardId', () => {
  it('is the same for the same clusters, from one run to the next', async () => {
    const names = ['rs-000', 'rs-001', 'rs-002'];
    expect(shardId(names)).toMatch(/^[0-9a-f]{16}$/);
    expect(shardId([...names])).toBe(shardId(names));
    const ctx = await checkContext(fleetConfig(FLEET), FLEET);
    const store = new MemoryObjectStore('reports');
    const monday = await checkShard(ctx, store, shardEvent(names, executionArn('monday')));
    const tuesday = await checkShard(ctx, store, shardEvent(names, executionArn('tuesday')));
    expect(monday.result.shard).toBe(tuesday.result.shard);
    expect(monday.result.report).toBe(`runs/monday/shards/${shardId(names)}/report.json`);
    expect(tuesday.result.report).toBe(`runs/tuesday/shards/${shardId(names)}/report.json`);
  });

  it('differs for other clusters, or the same in another order', () => {
    const ids = new Set([
      shardId(['rs-000', 'rs-001']),
      shardId(['rs-001', 'rs-000']),
      shardId(['rs-000']),
      shardId(['rs-000', 'rs-002']),
      // Names are joined by a newline, which no cluster name holds: no two lists run together.
      shardId(['rs-000rs-001']),
      shardId(['rs-0', '00', 'rs-001']),
    ]);
    expect(ids.size).toBe(6);
  });
});

describe('runName', () => {
  it.each([
    [executionArn('fleet-2026_07.01'), 'fleet-2026_07.01'],
    ['arn:aws:states:us-east-1:123456789012:express:RsCertWatchdog:abc:def', 'def'],
    ['cli-20260701T070000Z', 'cli-20260701T070000Z'],
    ['manual run/2026 07 ../../etc', 'manual_run_2026_07_.._.._etc'],
    ['été#1', '_t__1'],
    ['', 'run'],
    // A "." or ".." segment is no key S3 (or the store's port) accepts.
    ['..', 'run'],
    ['.', 'run'],
    ['a:..', 'run'],
    ['arn:aws:states:eu-west-1:1:execution:M:', 'run'],
  ])('%j → %j', (execution, name) => {
    expect(runName(execution)).toBe(name);
    expect(runKeys(execution).report).toBe(`runs/${name}/report.json`);
  });

  it('keeps every key a single safe path segment, at most 128 characters', () => {
    const long = `x/${'y'.repeat(300)}`;
    expect(runName(long)).toHaveLength(128);
    expect(runName(long)).toMatch(/^[0-9A-Za-z_.-]+$/);
    const keys = runKeys('a/b:c d');
    expect(keys).toMatchObject({
      report: 'runs/c_d/report.json',
      html: 'runs/c_d/report.html',
      findings: 'runs/c_d/findings.json',
      due: 'runs/c_d/due.json',
      alerts: 'runs/c_d/alerts.json',
      digest: 'runs/c_d/digest.json',
    });
    expect(keys.shard('0123456789abcdef')).toEqual({
      report: 'runs/c_d/shards/0123456789abcdef/report.json',
      plan: 'runs/c_d/shards/0123456789abcdef/plan.json',
    });
  });
});
