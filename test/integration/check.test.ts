import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetReport } from '../../lambdas/domain/report';
import { createCa } from '../support/pki';
import { daysFromNow, secretsOf, startWorld, type World } from '../support/world';

describe('rs-cert-watchdog check against the RS simulator', () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld({
      clusters: {
        'prod-east': {
          certificates: {
            // A year-long certificate renews two thirds through its life (day 243): day 200 is ok.
            api: { notBefore: daysFromNow(-200), notAfter: daysFromNow(165) },
            cm: { notBefore: daysFromNow(-200), notAfter: daysFromNow(165) },
            proxy: {
              dnsNames: ['*.redis.example.com'],
              notBefore: daysFromNow(-80),
              notAfter: daysFromNow(8.5),
            },
            syncer: { notBefore: daysFromNow(-400), notAfter: daysFromNow(-2) },
            metrics_exporter: { notBefore: daysFromNow(-10), notAfter: daysFromNow(355) },
            ldap_client: { notBefore: daysFromNow(-10), notAfter: daysFromNow(355) },
          },
        },
        'prod-west': {},
      },
    });
  });
  afterAll(() => world.close());

  it('reports every certificate with its status and exits 1 when something needs attention', async () => {
    const config = await world.writeConfig(
      {
        // A CA on a loopback port nothing listens on: no test leaves the machine.
        acme: { email: 'ops@example.com', directoryUrl: 'https://127.0.0.1:9/directory' },
        dns: { provider: 'httpreq', endpoint: 'http://127.0.0.1:9/' },
      },
      { 'prod-east': { certificates: { proxy: { domains: ['*.redis.example.com'] } } } },
    );
    const run = await world.cli('check', '--config', config, '--json');
    // The ACME CA does not answer: the run's ARI circuit breaker says so once, asks no
    // more, and the lifetime policy decides.
    expect(
      run.stderr.replace(
        /^rs-cert-watchdog: ARI skipped for the rest of this run, the lifetime policy decides instead: .*\n/,
        '',
      ),
    ).toBe('');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as FleetReport;
    const east = report.clusters.find((c) => c.name === 'prod-east')!;
    expect(east.error).toBeNull();
    const byName = Object.fromEntries(east.certificates.map((c) => [c.name, c]));
    expect(Object.keys(byName).sort()).toEqual([
      'api',
      'cm',
      'ldap_client',
      'metrics_exporter',
      'proxy',
      'syncer',
    ]);
    expect(byName.proxy).toMatchObject({
      status: 'expiring',
      action: 'none',
      managed: true,
      keyMatches: true,
      error: null,
    });
    expect(byName.proxy!.dnsNames).toContain('*.redis.example.com');
    expect(byName.proxy!.daysLeft).toBeCloseTo(8.5, 1);
    expect(byName.syncer!.status).toBe('expired');
    expect(byName.api!.status).toBe('ok');
    expect(byName.metrics_exporter!.status).toBe('ok');
    expect(byName.proxy!.fingerprint256).toBe(world.sims['prod-east']!.certificate('proxy')!.fingerprint256);
    expect(
      report.clusters.find((c) => c.name === 'prod-west')!.certificates.every((c) => c.status === 'ok'),
    ).toBe(true);
    // check never writes to a cluster
    for (const sim of Object.values(world.sims))
      expect(sim.requests.every((r) => r.method === 'GET')).toBe(true);
  });

  it('prints a readable table by default', async () => {
    const config = await world.writeConfig();
    const run = await world.cli('check', '--config', config);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/cluster prod-east/);
    expect(run.stdout).toMatch(/CERTIFICATE\s+STATUS\s+DAYS\s+NOT AFTER\s+RENEW AT/);
    expect(run.stdout).toMatch(/proxy\s+expiring\s+8\.\d/);
    expect(run.stdout).toMatch(/syncer\s+expired\s+-2\.\d/);
  });

  it('exits 0 when every certificate is ok', async () => {
    const config = await world.writeConfig();
    const onlyWest = JSON.parse(await readFile(config, 'utf8'));
    const path = join(world.dir, 'west.json');
    await writeFile(
      path,
      JSON.stringify({
        ...onlyWest,
        clusters: onlyWest.clusters.filter((c: { name: string }) => c.name === 'prod-west'),
      }),
    );
    const run = await world.cli('check', '--config', path, '--json');
    expect(run.code).toBe(0);
  });

  it('reports a malformed certificate field as invalid and still reports the others', async () => {
    const sim = world.sims['prod-west']!;
    const good = sim.certificate('cm')!.certPem;
    sim.setCertificateField('cm_cert', good.slice(0, 200));
    try {
      const run = await world.cli('check', '--config', await world.writeConfig(), '--json');
      const west = (JSON.parse(run.stdout) as FleetReport).clusters.find((c) => c.name === 'prod-west')!;
      const cm = west.certificates.find((c) => c.name === 'cm')!;
      expect(cm.status).toBe('invalid');
      expect(cm.error?.message).toMatch(/truncated/);
      expect(west.certificates.filter((c) => c.status === 'ok')).toHaveLength(5);
    } finally {
      sim.setCertificateField('cm_cert', undefined);
      sim.setCertificateField('cm_cert', good);
    }
  });

  it('reports a wrong password as AuthenticationError for that cluster only', async () => {
    const config = await world.writeConfig();
    const saved = world.env.RS_PASSWORD_PROD_WEST;
    world.env.RS_PASSWORD_PROD_WEST = 'wrong-password';
    try {
      const run = await world.cli('check', '--config', config, '--json');
      const report = JSON.parse(run.stdout) as FleetReport;
      const west = report.clusters.find((c) => c.name === 'prod-west')!;
      expect(west.error?.name).toBe('AuthenticationError');
      expect(west.certificates).toEqual([]);
      expect(report.clusters.find((c) => c.name === 'prod-east')!.error).toBeNull();
      expect(run.stdout).not.toContain('wrong-password');
    } finally {
      world.env.RS_PASSWORD_PROD_WEST = saved;
    }
  });

  it('refuses an untrusted cluster certificate and sends no credentials over it', async () => {
    const other = await createCa({ commonName: 'Some Other CA' });
    const wrongCa = join(world.dir, 'wrong-ca.pem');
    await writeFile(wrongCa, other.certPem);
    const sim = world.sims['prod-west']!;
    const before = sim.requests.length;
    const config = await world.writeConfig({}, { 'prod-west': { caFile: wrongCa } });
    const run = await world.cli('check', '--config', config, '--json');
    const west = (JSON.parse(run.stdout) as FleetReport).clusters.find((c) => c.name === 'prod-west')!;
    expect(west.error?.name).toBe('TlsTrustError');
    expect(west.error?.message).toMatch(/no credentials were sent/);
    expect(sim.requests.length).toBe(before); // no HTTP request reached the cluster
  });

  it('times out on a response that never ends, and reports the others', async () => {
    const sim = world.sims['prod-west']!;
    sim.injectFault({ method: 'GET', path: '/v1/cluster/certificates', kind: 'hang', times: 1 });
    const config = await world.writeConfig({}, { 'prod-west': { timeoutSeconds: 1 } });
    const started = Date.now();
    const run = await world.cli('check', '--config', config, '--json');
    const report = JSON.parse(run.stdout) as FleetReport;
    expect(report.clusters.find((c) => c.name === 'prod-west')!.error?.name).toBe('ClusterTimeoutError');
    expect(report.clusters.find((c) => c.name === 'prod-east')!.error).toBeNull();
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('retries a GET after a 503 and a connection reset', async () => {
    const sim = world.sims['prod-west']!;
    sim.injectFault({ method: 'GET', path: '/v1/cluster/certificates', kind: 'status', status: 503 });
    sim.injectFault({ method: 'GET', path: '/v1/cluster/certificates', kind: 'reset' });
    const run = await world.cli('check', '--config', await world.writeConfig(), '--json');
    expect(
      (JSON.parse(run.stdout) as FleetReport).clusters.find((c) => c.name === 'prod-west')!.error,
    ).toBeNull();
  });

  it('reports malformed JSON from the cluster as BadResponseError without quoting the body', async () => {
    const sim = world.sims['prod-west']!;
    sim.injectFault({ method: 'GET', path: '/v1/cluster/certificates', kind: 'malformed-json' });
    const run = await world.cli('check', '--config', await world.writeConfig(), '--json');
    const west = (JSON.parse(run.stdout) as FleetReport).clusters.find((c) => c.name === 'prod-west')!;
    expect(west.error?.name).toBe('BadResponseError');
    expect(run.stdout).not.toContain('BEGIN');
  });

  it('never prints a password or private key, in JSON or table form', async () => {
    const config = await world.writeConfig();
    const runs = [
      await world.cli('check', '--config', config, '--json'),
      await world.cli('check', '--config', config),
    ];
    for (const run of runs) {
      for (const secret of secretsOf(world)) {
        expect(run.stdout).not.toContain(secret);
        expect(run.stderr).not.toContain(secret);
      }
      expect(run.stdout).not.toContain('PRIVATE KEY');
    }
  });

  it('reads many clusters side by side within the concurrency bound, each reported in config order', async () => {
    const extra = await startWorld({
      clusters: Object.fromEntries(
        Array.from({ length: 6 }, (_, i) => [`c${i}`, { nodes: 1, nodeListeners: false, latencyMs: 100 }]),
      ),
    });
    try {
      const config = await extra.writeConfig({ concurrency: 3 });
      const run = await extra.cli('check', '--config', config, '--json');
      const report = JSON.parse(run.stdout) as FleetReport;
      expect(report.clusters.map((c) => c.name)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
      expect(report.clusters.every((c) => c.error === null && c.certificates.length === 6)).toBe(true);
      expect(run.code).toBe(0);
    } finally {
      await extra.close();
    }
  });

  it.each([
    [['check'], /required option/],
    [['check', '--config', '/nonexistent.json'], /the configuration file \/nonexistent\.json does not exist/],
    [['chek', '--config', 'x'], /unknown command/],
  ])('exits 2 on usage errors: %s', async (args, message) => {
    const run = await world.cli(...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
