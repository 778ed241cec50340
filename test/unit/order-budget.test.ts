/**
 * Issue 19 item 5 (orders): the run's order budget, decided at plan time by one pure function. The
 * most urgent certificates get it, ARI `replaces` orders are counted apart, resumes, rollbacks and
 * other issuers are not counted, and Let's Encrypt's refill rate bounds the budget of frequent runs.
 */
import { describe, expect, it } from 'vitest';
import { formatAlert } from '../../lambdas/domain/alerts';
import type { ClusterConfig, WatchdogConfig } from '../../lambdas/domain/config/types';
import type { DueCertificate } from '../../lambdas/domain/renewal/context';
import {
  applyOrderBudget,
  byUrgency,
  DEFAULT_ORDER_BUDGET,
  orderBudgetProblem,
  orderLane,
} from '../../lambdas/domain/renewal/order-budget';
import { deferredAlert } from '../../lambdas/domain/renewal/outcome';
import { withOrderBudget } from '../../lambdas/domain/renewal/plan';
import type { ClusterReport } from '../../lambdas/domain/report';

const acme = (extra: Record<string, unknown> = {}) =>
  ({
    directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory',
    email: 'ops@example.com',
    keyType: 'rsa-2048',
    ...extra,
  }) as WatchdogConfig['acme'];

const cluster = (name: string, certificates: ClusterConfig['certificates']): ClusterConfig =>
  ({
    name,
    endpoint: 'https://x.example.com:9443',
    credentialsSecret: `rs/${name}`,
    certificates,
  }) as ClusterConfig;

const managed = { domains: ['x.example.com'], issuer: 'acme' as const };
const privateCa = {
  domains: ['syncer.example.com'],
  issuer: {
    type: 'aws-private-ca' as const,
    certificateAuthorityArn: 'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/abc',
    validityDays: 30,
  },
};

function configWith(acmeExtra: Record<string, unknown> = {}): Pick<WatchdogConfig, 'acme' | 'clusters'> {
  return {
    acme: acme(acmeExtra),
    clusters: ['a', 'b', 'c', 'd'].map((n) =>
      cluster(n, { proxy: managed, api: managed, syncer: privateCa as never }),
    ),
  };
}

const day = (n: number) => new Date(Date.UTC(2026, 10, 1) + n * 86_400_000).toISOString();
const item = (
  clusterName: string,
  certificate: string,
  notAfter: string | null,
  extra: Partial<DueCertificate> = {},
): DueCertificate => ({
  cluster: clusterName,
  certificate,
  status: 'expiring',
  forced: false,
  currentNotAfter: notAfter,
  currentFingerprint256: 'AA',
  ...extra,
});

describe('the order budget', () => {
  it('gives the budget to the certificates closest to expiry, and defers the rest with a flag', () => {
    const due = [
      item('a', 'proxy', day(20)),
      item('b', 'proxy', day(-1), { status: 'expired' }),
      item('c', 'proxy', day(5)),
      item('d', 'proxy', null, { status: 'invalid' }),
      item('a', 'api', day(12)),
    ];
    const result = applyOrderBudget(configWith({ orderBudget: 3 }), due);
    // Unreadable first (no expiry known), then expired, then the soonest.
    expect(result.deferred.map((d) => `${d.cluster}/${d.certificate}`)).toEqual(['a/api', 'a/proxy']);
    expect(result.granted).toEqual({ new: 3, replaces: 0 });
    // The same items in the same order: nothing dropped, the deferred ones flagged.
    expect(result.due.map((d) => `${d.cluster}/${d.certificate}:${d.deferOrder === true}`)).toEqual([
      'a/proxy:true',
      'b/proxy:false',
      'c/proxy:false',
      'd/proxy:false',
      'a/api:true',
    ]);
  });

  it('defaults to 250 new orders a run, under Let’s Encrypt’s 300 per 3 hours', () => {
    expect(DEFAULT_ORDER_BUDGET).toBe(250);
    const due = Array.from({ length: 300 }, (_, i) =>
      item(['a', 'b', 'c', 'd'][i % 4] as string, `c${i}`, day(i)),
    );
    const config = configWith();
    // Make every name a managed ACME certificate of its cluster.
    for (const c of config.clusters)
      for (let i = 0; i < 300; i++) (c.certificates as Record<string, unknown>)[`c${i}`] = managed;
    const result = applyOrderBudget(config, due);
    expect(result.granted.new).toBe(250);
    expect(result.deferred).toHaveLength(50);
    expect(result.deferred[0]?.currentNotAfter).toBe(day(250));
  });

  it('counts ARI `replaces` orders apart, uncapped unless acme.replacesOrderBudget is set', () => {
    const due = [
      item('a', 'proxy', day(3), { ariCertId: 'aa.01' }),
      item('b', 'proxy', day(4), { ariCertId: 'bb.01' }),
      item('c', 'proxy', day(5)),
      item('d', 'proxy', day(6)),
    ];
    expect(applyOrderBudget(configWith({ orderBudget: 1 }), due)).toMatchObject({
      granted: { new: 1, replaces: 2 },
      deferred: [{ cluster: 'd' }],
    });
    expect(applyOrderBudget(configWith({ orderBudget: 1, replacesOrderBudget: 1 }), due)).toMatchObject({
      granted: { new: 1, replaces: 1 },
      deferred: [{ cluster: 'b' }, { cluster: 'd' }],
    });
    // With acme.ari false no order names what it replaces: every order is a new one.
    expect(orderLane(configWith({ ari: false }), due[0] as DueCertificate)).toBe('new');
  });

  it('does not count what orders nothing: resumes, rollbacks, other issuers', () => {
    const due = [
      item('a', 'proxy', day(1), { resume: 'pushed' }),
      item('b', 'proxy', day(1), { rollback: true }),
      item('c', 'syncer', day(1)),
      item('d', 'proxy', day(9)),
    ];
    const result = applyOrderBudget(configWith({ orderBudget: 1 }), due);
    expect(result.granted).toEqual({ new: 1, replaces: 0 });
    expect(result.deferred).toEqual([]);
    expect(applyOrderBudget(configWith({ orderBudget: 0 }), due).deferred.map((d) => d.cluster)).toEqual([
      'd',
    ]);
  });

  it("counts the ACME orders of RS 8.x database certificates (bdb:<uid>) like the cluster's own", () => {
    const config = configWith({ orderBudget: 1 });
    const withDatabases = {
      ...config,
      clusters: config.clusters.map((c) => ({
        ...c,
        databases: { '12': managed, '14': privateCa as never },
      })),
    };
    const due = [item('a', 'bdb:12', day(3)), item('b', 'bdb:14', day(1)), item('c', 'proxy', day(5))];
    expect(orderLane(withDatabases, due[0] as DueCertificate)).toBe('new');
    expect(orderLane(withDatabases, due[1] as DueCertificate)).toBeNull();
    const result = applyOrderBudget(withDatabases, due);
    expect(result.granted).toEqual({ new: 1, replaces: 0 });
    expect(result.deferred.map((d) => `${d.cluster}/${d.certificate}`)).toEqual(['c/proxy']);
  });

  it('ranks alike whatever order the due list comes in', () => {
    const due = [item('b', 'proxy', day(2)), item('a', 'proxy', day(2)), item('a', 'api', day(2))];
    const sorted = [...due].sort(byUrgency).map((d) => `${d.cluster}/${d.certificate}`);
    expect(sorted).toEqual(['a/api', 'a/proxy', 'b/proxy']);
    expect(
      [...due]
        .reverse()
        .sort(byUrgency)
        .map((d) => `${d.cluster}/${d.certificate}`),
    ).toEqual(sorted);
  });

  it('records the lane or the deferral on the report, and the deferral alert says what to do', () => {
    const config = configWith({ orderBudget: 1 });
    const report = (name: string): ClusterReport => ({
      name,
      error: null,
      certificates: [{ name: 'proxy', status: 'expiring' } as ClusterReport['certificates'][number]],
    });
    const clusters = [report('a'), report('b')];
    const plan = withOrderBudget(config, clusters, {
      due: [
        item('a', 'proxy', day(3), { ariCertId: 'aa.01' }),
        item('b', 'proxy', day(4)),
        item('a', 'x', day(30)),
      ],
      findings: [],
    });
    expect(clusters.map((c) => c.certificates[0]?.orderBudget)).toEqual(['replaces', 'new']);
    expect(plan.orders?.granted).toEqual({ new: 1, replaces: 1 });
    const alert = deferredAlert(config, item('b', 'proxy', day(-2), { status: 'expired' }));
    expect(alert).toMatchObject({ kind: 'order-deferred', lane: 'new', budget: 1 });
    const formatted = formatAlert(alert);
    expect(formatted.severity).toBe('critical');
    expect(formatted.subject).toBe('[rs-cert-watchdog] Renewal of proxy on b deferred (order budget)');
    expect(formatted.text).toMatch(/acme\.orderBudget: 1 new orders/);
  });
});

describe("the budget of frequent runs (Let's Encrypt refills 100 orders an hour)", () => {
  it('fits a daily run, and refuses more than 100 × the gap for runs under 3 hours apart', () => {
    expect(orderBudgetProblem(configWith(), 24)).toBeNull();
    expect(orderBudgetProblem(configWith(), 2.5)).toBeNull();
    expect(orderBudgetProblem(configWith(), 2)).toMatchObject({
      maxBudget: 200,
      message: expect.stringMatching(/Set acme\.orderBudget to 200 or less/),
    });
    expect(orderBudgetProblem(configWith({ orderBudget: 200 }), 2)).toBeNull();
    // Never more than the bucket holds, however far apart the runs.
    expect(orderBudgetProblem(configWith({ orderBudget: 301 }), 24)).toMatchObject({ maxBudget: 300 });
  });

  it('leaves other CAs alone (their limits are theirs)', () => {
    const other = { acme: acme({ directoryUrl: 'https://acme.example.com/dir', orderBudget: 5000 }) };
    expect(orderBudgetProblem(other, 1)).toBeNull();
    expect(orderBudgetProblem({}, 1)).toBeNull();
  });
});
