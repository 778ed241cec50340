/**
 * The metrics state and text (domain/metrics.ts) and the HTML renderer's purity (domain/report-html.ts),
 * as pure functions: what one run does to the kept state, how a label value is escaped, and that the
 * renderer needs nothing from Node (a Lambda will call it).
 */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_METRICS_STATE,
  escapeLabelValue,
  type MetricsState,
  nextMetricsState,
  parseMetricsState,
  renderMetrics,
} from '../../lambdas/domain/metrics';
import type { CertificateReport, ClusterReport, FleetReport } from '../../lambdas/domain/report';
import { renderHtmlReport } from '../../lambdas/domain/report-html';
import { parseMetrics } from '../support/prometheus-text';

const T0 = new Date('2026-06-01T00:00:00.000Z');
const DAY = 86_400_000;
const at = (days: number) => new Date(T0.getTime() + days * DAY);

function cert(name: string, over: Partial<CertificateReport> = {}): CertificateReport {
  return {
    name,
    status: 'ok',
    action: 'none',
    managed: true,
    notBefore: at(-30).toISOString(),
    notAfter: at(60).toISOString(),
    renewalTime: at(30).toISOString(),
    daysLeft: 60,
    subject: null,
    dnsNames: [],
    issuer: null,
    serialNumber: null,
    fingerprint256: null,
    keyType: null,
    keySize: null,
    keyMatches: null,
    chainLength: 1,
    error: null,
    ...over,
  };
}

const report = (clusters: ClusterReport[], now = T0): FleetReport => ({
  generatedAt: now.toISOString(),
  clusters,
});
const cluster = (name: string, certificates: CertificateReport[]): ClusterReport => ({
  name,
  error: null,
  certificates,
});

function run(previous: MetricsState, command: 'check' | 'renew', fleet: FleetReport | undefined, now = T0) {
  return nextMetricsState(previous, {
    command,
    clusters: ['a'],
    startedAt: new Date(now.getTime() - 1500),
    finishedAt: now,
    ...(fleet ? { report: fleet } : {}),
  });
}

describe('the metrics state', () => {
  it('marks a failed renewal until a renewal succeeds or the certificate is no longer due; a run held elsewhere changes nothing', () => {
    const failed = run(
      EMPTY_METRICS_STATE,
      'renew',
      report([cluster('a', [cert('proxy', { action: 'failed' })])]),
    );
    expect(failed.clusters[0]!.certificates[0]!.renewalFailed).toBe(true);
    expect(failed.clusters[0]!.renewalFailures).toBe(1);
    const checked = run(failed, 'check', report([cluster('a', [cert('proxy')])]));
    expect(checked.clusters[0]!.certificates[0]!.renewalFailed).toBe(true);
    const skipped = run(checked, 'renew', report([cluster('a', [cert('proxy', { action: 'skipped' })])]));
    expect(skipped.clusters[0]!.certificates[0]!.renewalFailed).toBe(true);
    const waiting = run(skipped, 'renew', report([cluster('a', [cert('proxy', { action: 'waiting' })])]));
    expect(waiting.clusters[0]!.certificates[0]!.renewalFailed).toBe(false);
    expect(waiting.clusters[0]!.renewalFailures).toBe(1);
    expect(waiting.runs.find((r) => r.command === 'renew')).toMatchObject({
      renewals: 0,
      renewalFailures: 0,
    });
  });

  it('keeps a cluster it could not read, with each status as of now', () => {
    const read = run(
      EMPTY_METRICS_STATE,
      'check',
      report([
        cluster('a', [
          cert('proxy'),
          cert('bad', { status: 'invalid', notAfter: null, notBefore: null, renewalTime: null }),
        ]),
      ]),
    );
    const unreachable: ClusterReport = {
      name: 'a',
      error: { name: 'ClusterNetworkError', message: 'x' },
      certificates: [],
    };
    const later = run(read, 'check', report([unreachable], at(45)), at(45));
    expect(later.clusters[0]).toMatchObject({ up: false, lastSeen: T0.toISOString() });
    expect(later.clusters[0]!.certificates.map((c) => [c.name, c.status])).toEqual([
      ['proxy', 'expiring'],
      ['bad', 'invalid'],
    ]);
    const expired = run(later, 'check', undefined, at(61));
    expect(expired.clusters[0]!.certificates[0]!.status).toBe('expired');
    expect(expired.runs[0]).toMatchObject({
      succeeded: false,
      lastSuccess: at(45).toISOString(),
      lastRun: at(61).toISOString(),
    });
  });

  it('drops clusters no longer configured, and starts again from a state it cannot read', () => {
    const state = run(EMPTY_METRICS_STATE, 'check', report([cluster('a', [cert('proxy')])]));
    const gone = nextMetricsState(state, {
      command: 'check',
      clusters: [],
      startedAt: T0,
      finishedAt: T0,
      report: report([]),
    });
    expect(gone.clusters).toEqual([]);
    for (const text of [
      null,
      '',
      '{',
      'null',
      '[]',
      '{"version":2,"runs":[],"clusters":[]}',
      '{"version":1,"runs":[],"clusters":[{"certificates":[]}]}',
    ])
      expect(parseMetricsState(text)).toEqual(EMPTY_METRICS_STATE);
    expect(parseMetricsState(JSON.stringify(state))).toEqual(state);
  });

  it('lists RS versions as numbers order them, oldest first', () => {
    const state = run(
      EMPTY_METRICS_STATE,
      'check',
      report([
        { ...cluster('a', []), softwareVersions: ['7.22.2-14', null, '7.4.6-22', '7.22.2-14', '8.0.2-17'] },
      ]),
    );
    expect(state.clusters[0]!.rsVersions).toEqual(['7.4.6-22', '7.22.2-14', '8.0.2-17']);
  });
});

describe('the metrics text', () => {
  it('escapes label values as the format requires, and a parser reads back the exact name', () => {
    expect(escapeLabelValue('a"b\\c\nd\re')).toBe('a\\"b\\\\c\\nd\re');
    const name = 'x"}\n# TYPE evil counter\nevil{a="1"} 1\n\\';
    const text = renderMetrics(run(EMPTY_METRICS_STATE, 'check', report([cluster('a', [cert(name)])])));
    expect(text).not.toMatch(/^evil/m);
    expect(text).not.toMatch(/^# TYPE evil/m);
    const names = new Set(
      parseMetrics(text).flatMap((s) => (s.labels.certificate ? [s.labels.certificate] : [])),
    );
    expect([...names]).toEqual([name]);
  });

  it('writes nothing for a state with nothing in it', () => {
    expect(renderMetrics(EMPTY_METRICS_STATE)).toBe('');
  });
});

describe('the HTML renderer', () => {
  const fleet = report([
    cluster('a', [cert('proxy'), cert('api', { status: 'expired', notAfter: at(-1).toISOString() })]),
  ]);

  it('is a function of the report alone: the same page whenever it is rendered', async () => {
    const first = renderHtmlReport(fleet);
    await new Promise((r) => setTimeout(r, 20));
    expect(renderHtmlReport(structuredClone(fleet))).toBe(first);
  });

  it('needs nothing from Node: it bundles for a neutral platform with no import left', async () => {
    const result = await build({
      entryPoints: ['lambdas/domain/report-html.ts'],
      bundle: true,
      platform: 'neutral',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/\bimport\b[^(]/);
    expect(code).not.toMatch(/\brequire\(/);
  });
});
