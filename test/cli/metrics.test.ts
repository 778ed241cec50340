/**
 * `check` and `renew --metrics-file`, run as operators run them (the bundled executable), against a
 * fleet with every status: the file parses for Prometheus (promtool check metrics, and Prometheus's
 * text parser), says what the report says, keeps its counters monotonic across runs, keeps the last
 * known certificates of a cluster that stops answering, records a failed run, and is never left
 * half-written. The shipped alert rules, evaluated by promtool over the file, fire for exactly the
 * certificates and clusters that need them.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryPathFor, writeFileAtomically } from '../../lambdas/adapters/output-file';
import type { CheckJsonReport, RenewJsonReport } from '../../lambdas/cli/json-documents';
import { buildCliBundle, type CliBundle } from '../support/cli-bundle';
import { HOSTILE_NAME, startEveryStatusWorld, writeEveryStatusConfig } from '../support/every-status-fleet';
import { parseMetrics, promtoolCheckMetrics, type Sample, sample } from '../support/prometheus-text';
import type { World } from '../support/world';

const P = 'rs_cert_watchdog_';
const DAY_S = 86_400;
const seconds = (iso: string) => Date.parse(iso) / 1000;

describe('--metrics-file', () => {
  let bundle: CliBundle;
  let world: World;
  let config: string;
  let textfileDir: string;
  let metricsFile: string;

  beforeAll(async () => {
    [bundle, world] = await Promise.all([buildCliBundle(), startEveryStatusWorld({ pebble: true })]);
    config = await writeEveryStatusConfig(world);
    textfileDir = join(world.dir, 'textfile');
    await mkdir(textfileDir);
    metricsFile = join(textfileDir, 'rs_cert_watchdog.prom');
  }, 120_000);
  afterAll(async () => {
    await world?.close();
    await bundle?.close();
  });

  const cli = (...args: string[]) => bundle.run(world.env, ...args);

  /** The file, checked by promtool, parsed; and nothing but it in the collector's directory. */
  async function readMetrics(): Promise<{ text: string; samples: Sample[] }> {
    const text = await readFile(metricsFile, 'utf8');
    const lint = await promtoolCheckMetrics(text);
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
    expect(await readdir(textfileDir)).toEqual(['rs_cert_watchdog.prom']);
    return { text, samples: parseMetrics(text) };
  }

  let checked: { report: CheckJsonReport; samples: Sample[]; before: number; after: number };

  it('check: one series per certificate, as the report has it, for a fleet with every status', async () => {
    const before = Date.now() / 1000;
    const run = await cli('check', '--config', config, '--json', '--metrics-file', metricsFile);
    const after = Date.now() / 1000;
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as CheckJsonReport;
    const { samples } = await readMetrics();
    checked = { report, samples, before, after };

    const statuses = new Set<string>();
    for (const cluster of report.clusters.filter((c) => c.error === null))
      for (const cert of cluster.certificates) {
        const labels = { cluster: cluster.name, certificate: cert.name };
        statuses.add(cert.status);
        expect(sample(samples, `${P}certificate_expiry_timestamp_seconds`, labels)?.value, cert.name).toBe(
          cert.notAfter === null ? undefined : seconds(cert.notAfter),
        );
        expect(sample(samples, `${P}certificate_renewal_timestamp_seconds`, labels)?.value).toBe(
          cert.renewalTime === null ? undefined : seconds(cert.renewalTime),
        );
        expect(sample(samples, `${P}certificate_not_before_timestamp_seconds`, labels)?.value).toBe(
          cert.notBefore === null ? undefined : seconds(cert.notBefore),
        );
        for (const status of ['ok', 'expiring', 'expired', 'invalid'])
          expect(
            sample(samples, `${P}certificate_status`, { ...labels, status })?.value,
            `${cert.name} ${status}`,
          ).toBe(cert.status === status ? 1 : 0);
        expect(sample(samples, `${P}certificate_managed`, labels)?.value).toBe(cert.managed ? 1 : 0);
        expect(sample(samples, `${P}certificate_renewal_failed`, labels)?.value).toBe(0);
        const seen = sample(samples, `${P}certificate_last_seen_timestamp_seconds`, labels)!.value;
        expect(seen).toBeGreaterThanOrEqual(before);
        expect(seen).toBeLessThanOrEqual(after);
      }
    expect([...statuses].sort()).toEqual(['expired', 'expiring', 'invalid', 'ok']);
    // Every certificate series is one of the report's: nothing invented, nothing twice.
    const certificates = report.clusters.flatMap((c) =>
      c.certificates.map((cert) => `${c.name}/${cert.name}`),
    );
    const managedSeries = samples.filter((s) => s.name === `${P}certificate_managed`);
    expect(managedSeries.map((s) => `${s.labels.cluster}/${s.labels.certificate}`).sort()).toEqual(
      certificates.sort(),
    );
  });

  it('check: a hostile certificate name is one label value, exactly the name', () => {
    const hostile = checked.samples.filter((s) => s.labels.certificate === HOSTILE_NAME);
    // expiry, not before, renewal, 4 statuses, managed, renewal failed, last seen.
    expect(hostile).toHaveLength(10);
    expect(hostile.every((s) => s.labels.cluster === 'prod-east')).toBe(true);
  });

  it('check: clusters (read or not, RS versions oldest first, push API) and the run', () => {
    const { samples, before, after } = checked;
    expect(sample(samples, `${P}cluster_up`, { cluster: 'prod-east' })?.value).toBe(1);
    expect(sample(samples, `${P}cluster_up`, { cluster: 'staging' })?.value).toBe(1);
    expect(sample(samples, `${P}cluster_up`, { cluster: 'prod-west' })?.value).toBe(0);
    expect(sample(samples, `${P}cluster_info`, { cluster: 'prod-east' })?.labels).toMatchObject({
      rs_version: '7.4.6-22,7.22.2-14',
      push_api: 'update_cert',
    });
    expect(sample(samples, `${P}cluster_info`, { cluster: 'prod-west' })?.labels).not.toHaveProperty(
      'rs_version',
      expect.stringMatching(/./),
    );
    for (const cluster of ['prod-east', 'staging', 'prod-west']) {
      // Counters exist from the first run (at 0), so the first renewal is an increase Prometheus sees.
      expect(sample(samples, `${P}renewals_total`, { cluster })).toMatchObject({ type: 'counter', value: 0 });
      expect(sample(samples, `${P}renewal_failures_total`, { cluster })).toMatchObject({
        type: 'counter',
        value: 0,
      });
    }
    const lastRun = sample(samples, `${P}last_run_timestamp_seconds`, { command: 'check' })!.value;
    expect(lastRun).toBeGreaterThanOrEqual(before);
    expect(lastRun).toBeLessThanOrEqual(after);
    expect(sample(samples, `${P}last_success_timestamp_seconds`, { command: 'check' })?.value).toBe(lastRun);
    expect(sample(samples, `${P}last_run_success`, { command: 'check' })?.value).toBe(1);
    expect(sample(samples, `${P}last_run_duration_seconds`, { command: 'check' })!.value).toBeLessThanOrEqual(
      after - before,
    );
    expect(sample(samples, `${P}last_run_timestamp_seconds`, { command: 'renew' })).toBeUndefined();
  });

  let renewed: { report: RenewJsonReport; samples: Sample[] };

  it('renew: counts what it renewed and failed, per cluster, and marks the failed certificate', async () => {
    world.sims.staging!.injectFault({ kind: 'status', method: 'PUT', status: 400, times: 1 });
    const page = join(world.dir, 'renew.html');
    const run = await cli(
      'renew',
      '--config',
      config,
      '--json',
      '--metrics-file',
      metricsFile,
      '--html',
      page,
    );
    expect(run.code).toBe(1);
    // The same run's page shows the renewal: the new certificate's validity drawn from today.
    const html = await readFile(page, 'utf8');
    expect(html).toContain('Read by <code>renew</code>');
    expect(html).toMatch(
      /<rect class="renewed-bar"[^>]*><title>proxy: renewed, the new certificate is valid until/,
    );
    const report = JSON.parse(run.stdout) as RenewJsonReport;
    const proxy = (cluster: string) =>
      report.clusters.find((c) => c.name === cluster)!.certificates.find((c) => c.name === 'proxy')!;
    expect(proxy('prod-east').action).toBe('renewed');
    expect(proxy('staging').action).toBe('failed');
    const { samples } = await readMetrics();
    renewed = { report, samples };

    expect(sample(samples, `${P}renewals_total`, { cluster: 'prod-east' })?.value).toBe(1);
    expect(sample(samples, `${P}renewal_failures_total`, { cluster: 'prod-east' })?.value).toBe(0);
    expect(sample(samples, `${P}renewals_total`, { cluster: 'staging' })?.value).toBe(0);
    expect(sample(samples, `${P}renewal_failures_total`, { cluster: 'staging' })?.value).toBe(1);
    expect(
      sample(samples, `${P}certificate_renewal_failed`, { cluster: 'staging', certificate: 'proxy' })?.value,
    ).toBe(1);
    expect(sample(samples, `${P}last_run_renewals`, { command: 'renew' })?.value).toBe(1);
    expect(sample(samples, `${P}last_run_renewal_failures`, { command: 'renew' })?.value).toBe(1);
    // The renewed certificate is the new one: its expiry, status ok (its renewal point comes with the next read).
    const east = { cluster: 'prod-east', certificate: 'proxy' };
    expect(sample(samples, `${P}certificate_expiry_timestamp_seconds`, east)?.value).toBe(
      seconds(proxy('prod-east').renewed!.notAfter),
    );
    expect(sample(samples, `${P}certificate_status`, { ...east, status: 'ok' })?.value).toBe(1);
    // check's run is still there: both commands write one file.
    expect(sample(samples, `${P}last_run_success`, { command: 'check' })?.value).toBe(1);
    expect(sample(samples, `${P}last_run_success`, { command: 'renew' })?.value).toBe(1);
  });

  it('the shipped rules, evaluated by promtool over this file, fire for exactly what needs a person', async () => {
    const now = sample(renewed.samples, `${P}last_run_timestamp_seconds`, { command: 'renew' })!.value;
    const left = new Map<string, number>();
    for (const cluster of renewed.report.clusters)
      for (const cert of cluster.certificates) {
        const notAfter = cert.renewed?.notAfter ?? cert.notAfter;
        if (notAfter) left.set(`${cluster.name}/${cert.name}`, seconds(notAfter) - now);
      }
    const names = (predicate: (s: number) => boolean) =>
      [...left].filter(([, s]) => predicate(s)).map(([name]) => name);
    const expected = {
      RsCertificateExpiresWithin14Days: names((s) => s <= 14 * DAY_S && s > 7 * DAY_S),
      RsCertificateExpiresWithin7Days: names((s) => s <= 7 * DAY_S && s > 0),
      RsCertificateExpired: names((s) => s <= 0),
      RsCertificateUnreadable: renewed.report.clusters.flatMap((c) =>
        c.certificates.filter((cert) => cert.status === 'invalid').map((cert) => `${c.name}/${cert.name}`),
      ),
      RsCertificateRenewalFailed: ['staging/proxy'],
      RsClusterUnreachable: ['prod-west'],
      RsCertWatchdogRunFailed: [],
      RsCertWatchdogNotRun: [],
    };
    // Sanity: this fleet exercises every certificate rule.
    for (const [alert, list] of Object.entries(expected))
      if (!alert.startsWith('RsCertWatchdog')) expect(list.length, alert).toBeGreaterThan(0);
    const fired = await firedAlerts(renewed.samples, now);
    for (const [alert, list] of Object.entries(expected))
      expect(fired[alert] ?? [], alert).toEqual(list.sort());
  });

  it('renew again: counters only go up; a certificate renewed since its failure is no longer marked', async () => {
    const run = await cli('renew', '--config', config, '--json', '--metrics-file', metricsFile);
    const report = JSON.parse(run.stdout) as RenewJsonReport;
    const staging = report.clusters
      .find((c) => c.name === 'staging')!
      .certificates.find((c) => c.name === 'proxy')!;
    expect(staging.action).toBe('renewed');
    const { samples } = await readMetrics();
    expect(sample(samples, `${P}renewals_total`, { cluster: 'prod-east' })?.value).toBe(1);
    expect(sample(samples, `${P}renewals_total`, { cluster: 'staging' })?.value).toBe(1);
    expect(sample(samples, `${P}renewal_failures_total`, { cluster: 'staging' })?.value).toBe(1);
    expect(
      sample(samples, `${P}certificate_renewal_failed`, { cluster: 'staging', certificate: 'proxy' })?.value,
    ).toBe(0);
    expect(sample(samples, `${P}last_run_renewals`, { command: 'renew' })?.value).toBe(1);
    expect(sample(samples, `${P}last_run_renewal_failures`, { command: 'renew' })?.value).toBe(0);
    for (const s of renewed.samples.filter((s) => s.type === 'counter'))
      expect(
        sample(samples, s.name, s.labels)!.value,
        `${s.name} ${JSON.stringify(s.labels)}`,
      ).toBeGreaterThanOrEqual(s.value);
  });

  it('a cluster that stops answering keeps its certificates’ last known series, so their expiry still alerts', async () => {
    const before = parseMetrics(await readFile(metricsFile, 'utf8'));
    const east = world.sims['prod-east']!;
    const password = east.password;
    east.setPassword('rotated-again');
    try {
      const run = await cli('check', '--config', config, '--metrics-file', metricsFile);
      expect(run.code).toBe(1);
    } finally {
      east.setPassword(password);
    }
    const { samples } = await readMetrics();
    expect(sample(samples, `${P}cluster_up`, { cluster: 'prod-east' })?.value).toBe(0);
    const kept = before.filter(
      (s) =>
        s.labels.cluster === 'prod-east' &&
        [
          `${P}certificate_expiry_timestamp_seconds`,
          `${P}certificate_last_seen_timestamp_seconds`,
          `${P}certificate_managed`,
        ].includes(s.name),
    );
    expect(kept.length).toBeGreaterThan(10);
    for (const s of kept) expect(sample(samples, s.name, s.labels)?.value, s.name).toBe(s.value);
    expect(sample(samples, `${P}cluster_last_seen_timestamp_seconds`, { cluster: 'prod-east' })?.value).toBe(
      sample(before, `${P}cluster_last_seen_timestamp_seconds`, { cluster: 'prod-east' })?.value,
    );
  });

  it('a run that fails still records when it ran, and that it failed', async () => {
    // A state directory that cannot be read (a path under a file) fails renew's plan.
    const brokenConfig = await writeEveryStatusConfig(world, { stateDir: join(config, 'state') });
    const file = join(textfileDir, 'broken.prom');
    const before = Date.now() / 1000;
    const run = await cli('renew', '--config', brokenConfig, '--metrics-file', file);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/StateStoreError/);
    const text = await readFile(file, 'utf8');
    await rm(file);
    expect((await promtoolCheckMetrics(text)).code).toBe(0);
    const samples = parseMetrics(text);
    expect(sample(samples, `${P}last_run_success`, { command: 'renew' })?.value).toBe(0);
    expect(
      sample(samples, `${P}last_run_timestamp_seconds`, { command: 'renew' })!.value,
    ).toBeGreaterThanOrEqual(before);
    expect(sample(samples, `${P}last_success_timestamp_seconds`, { command: 'renew' })).toBeUndefined();
    await writeEveryStatusConfig(world);
  });

  it('usage errors write nothing and exit 2 before any network call', async () => {
    const requests = () => Object.values(world.sims).reduce((n, s) => n + s.requests.length, 0);
    const mtime = (await stat(metricsFile)).mtimeMs;
    const count = requests();
    const dryRun = await cli(
      'renew',
      '--config',
      config,
      '--dry-run',
      '--metrics-file',
      metricsFile,
      '--json',
    );
    expect(dryRun.code).toBe(2);
    expect(JSON.parse(dryRun.stdout)).toMatchObject({
      name: 'ConfigError',
      message: expect.stringMatching(/--dry-run/),
    });
    const missingDir = await cli(
      'check',
      '--config',
      config,
      '--metrics-file',
      join(world.dir, 'nope', 'x.prom'),
    );
    expect(missingDir.code).toBe(2);
    expect(missingDir.stderr).toMatch(/--metrics-file: the directory .*nope does not exist/);
    const directory = await cli('check', '--config', config, '--metrics-file', textfileDir);
    expect(directory.code).toBe(2);
    expect(directory.stderr).toMatch(/is a directory, not a file/);
    const unknownForce = await cli(
      'renew',
      '--config',
      config,
      '--force',
      'nope',
      '--metrics-file',
      metricsFile,
    );
    expect(unknownForce.code).toBe(2);
    expect(requests()).toBe(count);
    expect((await stat(metricsFile)).mtimeMs).toBe(mtime);
  });

  it('warns when the file name is one the textfile collector ignores', async () => {
    const file = join(world.dir, 'metrics.txt');
    const run = await cli('check', '--config', config, '--metrics-file', file);
    expect(run.stderr).toMatch(
      /does not end in \.prom; node_exporter's textfile collector reads only \*\.prom files/,
    );
    expect((await promtoolCheckMetrics(await readFile(file, 'utf8'))).code).toBe(0);
  });
});

describe('the atomic write', () => {
  it('goes through a temporary file in the same directory whose name does not end in .prom', () => {
    const temporary = temporaryPathFor('/var/lib/node_exporter/textfile/rs_cert_watchdog.prom');
    expect(temporary.startsWith('/var/lib/node_exporter/textfile/.rs_cert_watchdog.prom.')).toBe(true);
    expect(temporary.endsWith('.tmp')).toBe(true);
  });

  it('replaces the file whole, leaves no temporary file, and on failure leaves the old file as it was', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomic-'));
    try {
      const target = join(dir, 'm.prom');
      await writeFileAtomically(target, 'a 1\n');
      await writeFileAtomically(target, 'a 2\n');
      expect(await readFile(target, 'utf8')).toBe('a 2\n');
      expect((await stat(target)).mode & 0o777).toBe(0o644);
      expect(await readdir(dir)).toEqual(['m.prom']);
      // A directory where the file should go: the rename fails; nothing is left behind.
      await mkdir(join(dir, 'd.prom'));
      await writeFile(join(dir, 'd.prom', 'x'), '');
      await expect(writeFileAtomically(join(dir, 'd.prom'), 'a 3\n')).rejects.toThrow();
      expect((await readdir(dir)).sort()).toEqual(['d.prom', 'm.prom']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const exec = promisify(execFile);

/**
 * Which alerts the shipped rules raise over these samples: every series is given to promtool as
 * constant input, timestamps shifted so that the run's time is 1h into the test (promtool's clock
 * starts at 0), and the rules (annotations aside, which rules.test.ts covers) evaluated at 1h.
 */
async function firedAlerts(samples: Sample[], now: number): Promise<Record<string, string[]>> {
  const dir = await mkdtemp(join(tmpdir(), 'fired-'));
  try {
    const rules = (await readFile('observability/prometheus/rs-cert-watchdog.rules.yml', 'utf8')).replace(
      /\n {8}annotations:\n( {10}.*\n)+/g,
      '\n',
    );
    await writeFile(join(dir, 'rules.yml'), rules);
    const shift = 3600 - now;
    const series = samples.map((s) => {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',');
      const value = s.name.endsWith('_timestamp_seconds') ? s.value + shift : s.value;
      return { series: `${s.name}{${labels}}`, values: `${value}x90` };
    });
    const alerts = [
      'RsCertificateExpiresWithin14Days',
      'RsCertificateExpiresWithin7Days',
      'RsCertificateExpired',
      'RsCertificateUnreadable',
      'RsCertificateRenewalFailed',
      'RsClusterUnreachable',
      'RsCertWatchdogRunFailed',
      'RsCertWatchdogNotRun',
    ];
    // Ask promtool for no alert at all: its failure report lists what did fire, per alert.
    const test = {
      rule_files: ['rules.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: series,
          alert_rule_test: alerts.map((alertname) => ({ eval_time: '1h', alertname, exp_alerts: [] })),
        },
      ],
    };
    await writeFile(join(dir, 'test.json'), JSON.stringify(test));
    let output = '';
    try {
      await exec(process.env.PROMTOOL ?? 'promtool', ['test', 'rules', join(dir, 'test.json')]);
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    const fired: Record<string, string[]> = {};
    for (const block of output.split(/\n\s*alertname: /).slice(1)) {
      const alertname = block.split(',')[0]!.trim();
      const got = block.split(/\n\s*got:/)[1] ?? '';
      fired[alertname] = [...got.matchAll(/Labels:\{([^\n]*)\}/g)]
        .map((m) => {
          const labels = Object.fromEntries(
            [...m[1]!.matchAll(/([a-z_]+)="((?:\\.|[^"\\])*)"/g)].map((l) => [l[1], JSON.parse(`"${l[2]}"`)]),
          ) as Record<string, string>;
          return labels.certificate === undefined
            ? labels.cluster!
            : `${labels.cluster}/${labels.certificate}`;
        })
        .sort();
    }
    return fired;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
