/**
 * The shipped Prometheus rules and Grafana dashboard (observability/): the rules load and pass
 * their unit tests under promtool (Debian package `prometheus`), every dashboard query parses as
 * PromQL, and both use only metrics the watchdog writes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MetricsState, renderMetrics } from '../../lambdas/domain/metrics';

const exec = promisify(execFile);
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const RULES = 'observability/prometheus/rs-cert-watchdog.rules.yml';
const RULES_TEST = 'observability/prometheus/rs-cert-watchdog.rules.test.yml';
const DASHBOARD = 'observability/grafana/rs-cert-watchdog.dashboard.json';

async function promtool(...args: string[]) {
  try {
    const { stdout, stderr } = await exec(PROMTOOL, args);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${PROMTOOL} is not installed (apt-get install prometheus)`);
    return { code: Number(e.code), output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: Array<{ expr: string; refId: string; datasource?: { uid: string } }>;
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown; definition?: string }> };
}

/** Grafana's variables as a query would see them: a regex for $cluster, ranges for the built-ins. */
function withVariables(expr: string): string {
  return expr.replace(/\$\{?cluster\}?/g, '.*').replace(/\$\{?__(rate_interval|interval|range)\}?/g, '5m');
}

/** Every metric name a PromQL expression (or a label_values() query) mentions. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(rs_cert_watchdog_[a-z_]+)\b/g)].map((m) => m[1]!);
}

/** Every family the metrics file can hold: a state with a cluster, a certificate and both commands. */
function writtenFamilies(): Set<string> {
  const at = '2026-01-01T00:00:00.000Z';
  const state: MetricsState = {
    version: 1,
    runs: (['check', 'renew'] as const).map((command) => ({
      command,
      lastRun: at,
      lastSuccess: at,
      succeeded: true,
      durationSeconds: 1,
      renewals: 1,
      renewalFailures: 0,
    })),
    clusters: [
      {
        name: 'c',
        up: true,
        rsVersions: ['7.22.2-14'],
        pushApi: 'certificates',
        lastSeen: at,
        renewals: 1,
        renewalFailures: 1,
        certificates: [
          {
            name: 'proxy',
            status: 'ok',
            managed: true,
            notBefore: at,
            notAfter: at,
            renewalTime: at,
            renewalFailed: false,
            lastSeen: at,
          },
        ],
      },
    ],
  };
  return new Set(
    renderMetrics(state)
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
      .map((l) => l.split(' ')[2]!),
  );
}

describe('Prometheus rules', () => {
  it('load (promtool check rules)', async () => {
    const { code, output } = await promtool('check', 'rules', RULES);
    expect(output).toMatch(/SUCCESS: 9 rules found/);
    expect(code).toBe(0);
  });

  it('pass their unit tests (promtool test rules): each alert fires when it should and only then', async () => {
    const { code, output } = await promtool('test', 'rules', RULES_TEST);
    expect(output).toContain('SUCCESS');
    expect(code).toBe(0);
  });

  it('fail their unit tests when a threshold moves (the tests can fail)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rules-'));
    try {
      const rules = await readFile(RULES, 'utf8');
      const mutated = rules.replace('<= 14 * 86400', '<= 15 * 86400');
      expect(mutated).not.toBe(rules);
      await writeFile(join(dir, 'rs-cert-watchdog.rules.yml'), mutated);
      await writeFile(join(dir, 'test.yml'), await readFile(RULES_TEST, 'utf8'));
      const { code, output } = await promtool('test', 'rules', join(dir, 'test.yml'));
      expect(output).toMatch(/FAILED[\s\S]*RsCertificateExpiresWithin14Days/);
      expect(code).not.toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('use only metrics the watchdog writes', async () => {
    const families = writtenFamilies();
    const used = metricNames(await readFile(RULES, 'utf8'));
    expect(used.length).toBeGreaterThan(5);
    for (const name of used) expect(families, name).toContain(name);
  });
});

describe('Grafana dashboard', () => {
  let dashboard: Dashboard;
  let dir: string;

  beforeAll(async () => {
    dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
    dir = await mkdtemp(join(tmpdir(), 'dashboard-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const queries = () => {
    const exprs = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
    );
    for (const variable of dashboard.templating.list)
      if (variable.type === 'query') {
        // label_values(METRIC, label) is Grafana's, not PromQL: the selector inside it must parse.
        const inner = /^label_values\((.+),\s*[a-zA-Z_]+\)$/.exec(variable.definition ?? '');
        expect(inner, `variable ${variable.name}`).not.toBeNull();
        exprs.push({ panel: `variable ${variable.name}`, expr: inner![1]! });
      }
    return exprs;
  };

  it('parses: every query is valid PromQL (promtool check rules on a rules file holding each)', async () => {
    const exprs = queries();
    expect(exprs.length).toBeGreaterThan(10);
    const rules = {
      groups: [
        {
          name: 'dashboard-queries',
          rules: exprs.map((q, i) => ({ record: `dashboard_query_${i}`, expr: withVariables(q.expr) })),
        },
      ],
    };
    // JSON is YAML: promtool reads it as a rules file.
    const file = join(dir, 'queries.rules.json');
    await writeFile(file, JSON.stringify(rules, null, 2));
    const { code, output } = await promtool('check', 'rules', file);
    expect(output).toContain(`SUCCESS: ${exprs.length} rules found`);
    expect(code).toBe(0);
  });

  it('would catch a query that does not parse', async () => {
    const file = join(dir, 'broken.rules.json');
    await writeFile(
      file,
      JSON.stringify({
        groups: [
          { name: 'g', rules: [{ record: 'q', expr: 'sum by (cluster (rs_cert_watchdog_cluster_up)' }] },
        ],
      }),
    );
    const { code } = await promtool('check', 'rules', file);
    expect(code).not.toBe(0);
  });

  it('uses only metrics the watchdog writes, its own data source variable, and unique panel ids', () => {
    const families = writtenFamilies();
    for (const q of queries())
      for (const name of metricNames(q.expr)) expect(families, `${q.panel}: ${name}`).toContain(name);
    // Grafana's own placeholder syntax, not a template string.
    const datasource = ['$', '{datasource}'].join('');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos, panel.title).toBeDefined();
      expect(panel.datasource?.uid, panel.title).toBe(datasource);
      for (const t of panel.targets ?? []) expect(t.datasource?.uid, panel.title).toBe(datasource);
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'cluster']);
    expect(dashboard.uid).toBe('rs-cert-watchdog');
  });
});
