/**
 * The CLI's contract with scripts and operators: exit codes, `--json` documents, `--version`, the
 * dry-run plan, tables that fit the terminal, and terminal-safe output. Run in-process against the
 * RS simulator, as operators would run it.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetReport } from '../../lambdas/domain/report';
import { createCa } from '../support/pki';
import { startWebhookCapture, type WebhookCapture } from '../support/webhook-capture';
import { daysFromNow, startWorld, type World } from '../support/world';

const ACME_WITHOUT_NETWORK = {
  acme: { email: 'ops@example.com' },
  dns: { provider: 'httpreq', endpoint: 'http://127.0.0.1:9/' },
};

describe('CLI contract', () => {
  let world: World;
  let slack: WebhookCapture;

  beforeAll(async () => {
    slack = await startWebhookCapture();
    world = await startWorld({
      clusters: {
        'prod-east': {
          certificates: {
            api: {
              dnsNames: ['cluster.example.com'],
              notBefore: daysFromNow(-10),
              notAfter: daysFromNow(80),
            },
            cm: { dnsNames: ['cluster.example.com'], notBefore: daysFromNow(-10), notAfter: daysFromNow(80) },
            proxy: {
              dnsNames: [
                '*.redis-databases-in-the-eu-central-region.production.example.com',
                'redis-databases-in-the-eu-central-region.production.example.com',
                'replica-of-the-databases-in-the-eu-west-region.production.example.com',
              ],
              notBefore: daysFromNow(-80),
              notAfter: daysFromNow(5),
            },
            syncer: {
              dnsNames: ['syncer.example.com'],
              notBefore: daysFromNow(-400),
              notAfter: daysFromNow(-2),
            },
          },
        },
      },
    });
  });
  afterAll(async () => {
    await world.close();
    await slack.close();
  });

  const sim = () => world.sims['prod-east']!;

  /** Runs the CLI and asserts nothing reached the cluster or Slack. */
  async function runOffline(...args: string[]) {
    const requests = sim().requests.length;
    const posts = slack.received.length;
    const run = await world.cli(...args);
    expect(sim().requests.length, 'requests that reached the cluster').toBe(requests);
    expect(slack.received.length, 'alerts posted').toBe(posts);
    return run;
  }

  describe('every configuration error exits 2 before any network call, without alerting', () => {
    const alerts = () => ({ alerts: { slackWebhookUrl: `${slack.url}/hook` } });
    const cases: Array<[string, () => Promise<string>, RegExp]> = [
      ['a missing config file', async () => join(world.dir, 'nope.json'), /nope\.json does not exist/],
      ['a directory as config file', async () => world.dir, /is a directory, not a file/],
      [
        'invalid JSON',
        async () => {
          const path = join(world.dir, 'broken.json');
          await writeFile(path, '{\n  "clusters": [\n    { "name": "a" "endpoint": "x" }\n  ]\n}\n');
          return path;
        },
        /broken\.json:3:19: not valid JSON: expected "," or "}"/,
      ],
      [
        'an unknown key',
        async () => world.writeConfig({ ...alerts(), renewBeforDays: 20 }),
        /renewBeforDays: unknown key; did you mean "renewBeforeDays"\?/,
      ],
      [
        'an unset passwordEnv',
        async () => world.writeConfig(alerts(), { 'prod-east': { passwordEnv: 'RS_PASSWORD_NOT_SET' } }),
        /clusters\[0\]\.passwordEnv: the environment variable RS_PASSWORD_NOT_SET is not set/,
      ],
      [
        'a missing cluster caFile',
        async () =>
          world.writeConfig(alerts(), { 'prod-east': { caFile: join(world.dir, 'missing-ca.pem') } }),
        /clusters\[0\]\.caFile: .*missing-ca\.pem does not exist/,
      ],
      [
        'an unreadable acme.caFile',
        async () =>
          world.writeConfig({
            ...alerts(),
            acme: { email: 'ops@example.com', caFile: world.dir },
            dns: ACME_WITHOUT_NETWORK.dns,
          }),
        /acme\.caFile: .* is a directory, not a file/,
      ],
      [
        'an unset dns.passwordEnv',
        async () =>
          world.writeConfig({
            ...alerts(),
            acme: ACME_WITHOUT_NETWORK.acme,
            dns: { ...ACME_WITHOUT_NETWORK.dns, username: 'lego', passwordEnv: 'DNS_PASSWORD_NOT_SET' },
          }),
        /dns\.passwordEnv: the environment variable DNS_PASSWORD_NOT_SET is not set/,
      ],
      [
        'a URL with credentials',
        async () =>
          world.writeConfig({
            ...alerts(),
            dns: { provider: 'httpreq', endpoint: 'https://lego:hunter2@dns.example.com/' },
          }),
        /dns\.endpoint: is or holds a URL with a user name or password in it; .*passwordEnv/,
      ],
    ];

    for (const [name, config, message] of cases) {
      for (const command of [['check'], ['renew'], ['renew', '--dry-run']]) {
        it(`${name}: ${command.join(' ')}`, async () => {
          const path = await config();
          const run = await runOffline(...command, '--config', path);
          expect(run.code).toBe(2);
          expect(run.stderr).toMatch(message);
          expect(run.stderr).not.toMatch(/\n\s+at /);
          expect(run.stderr).not.toContain('hunter2');
          expect(run.stdout).toBe('');
          const json = await runOffline(...command, '--config', path, '--json');
          expect(json.code).toBe(2);
          const document = JSON.parse(json.stdout) as { name: string; message: string; hint?: string };
          expect(document.name).toBe('ConfigError');
          expect(document.message).toMatch(message);
          expect(json.stdout).not.toContain('hunter2');
        });
      }
    }
  });

  it('prints a JSON error document for usage errors with --json', async () => {
    const missing = await runOffline('check', '--json');
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toMatchObject({
      name: 'ConfigError',
      message: expect.stringMatching(/required option '-c, --config <file>' not specified/),
      hint: expect.stringMatching(/--help/),
    });
    const typo = await runOffline('chek', '--json');
    expect(typo.code).toBe(2);
    expect(JSON.parse(typo.stdout)).toMatchObject({
      name: 'ConfigError',
      message: "unknown command 'chek'",
      hint: expect.stringMatching(/^did you mean check\?/),
    });
    expect(typo.stderr).toMatch(/Did you mean check\?/);
  });

  it('prints its version', async () => {
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = await world.cli(flag);
      expect(run.code).toBe(0);
      expect(run.stdout.trim()).toBe(version);
    }
  });

  it('renew --dry-run shows the plan: what would be renewed, left, refused, and why', async () => {
    const config = await world.writeConfig(
      { ...ACME_WITHOUT_NETWORK, alerts: { slackWebhookUrl: `${slack.url}/hook` } },
      {
        'prod-east': {
          certificates: {
            proxy: { domains: ['*.redis-databases-in-the-eu-central-region.production.example.com'] },
            api: { domains: ['cluster.example.com'] },
            cm: { domains: ['cluster.example.com'] },
          },
        },
      },
    );
    const before = sim().requests.length;
    const run = await world.cli('renew', '--config', config, '--dry-run', '--force', 'cm');
    expect(
      sim()
        .requests.slice(before)
        .every((r) => r.method === 'GET'),
    ).toBe(true);
    expect(slack.received).toHaveLength(0);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/CERTIFICATE\s+STATUS\s+DAYS\s+NOT AFTER\s+RENEW AT\s+DECISION\s+OUTCOME/);
    expect(run.stdout).toMatch(/\n {2}proxy\s+expiring\s+5\.0\s+\S+ \S+\s+\S+ \S+\s+due\s+would renew/);
    expect(run.stdout).toMatch(/\n {2}cm\s+ok\s+\S+\s+\S+ \S+\s+\S+ \S+\s+forced\s+would renew/);
    expect(run.stdout).toMatch(/\n {2}api\s+ok\s+\S+\s+\S+ \S+\s+\S+ \S+\s+wait\s+-/);
    expect(run.stdout).toMatch(/\n {2}syncer\s+expired\s+\S+\s+\S+ \S+\s+\S+ \S+\s+watch\s+would alert/);
    expect(run.stdout).toMatch(/plan \(dry run: nothing was ordered, pushed or alerted\)/);
    expect(run.stdout).toMatch(
      /proxy: would renew: expiring, 5\.0 days left, past its renewal time .*: order a certificate for \*\.redis-databases/,
    );
    expect(run.stdout).toMatch(/cm: would renew because --force names it \(ok, /);
    expect(run.stdout).toMatch(/api: left until its renewal time \d{4}-\d\d-\d\d \d\d:\d\dZ \(ok, /);
    expect(run.stdout).toMatch(
      /syncer: refused, would alert only: it is expired \(-2\.\d days left\) but not listed under the cluster's "certificates"/,
    );
    expect(run.stdout).toMatch(
      /alerts that would be sent \(dry run\):\n {2}\[critical\] syncer on prod-east is expired/,
    );

    const json = await world.cli('renew', '--config', config, '--dry-run', '--json');
    const report = JSON.parse(json.stdout) as FleetReport & {
      alerts: Array<{ kind: string; severity: string }>;
    };
    const plans = Object.fromEntries(report.clusters[0]!.certificates.map((c) => [c.name, c.plan]));
    expect(plans).toMatchObject({ proxy: 'renew', api: 'none', cm: 'none', syncer: 'alert-only' });
    expect(report.alerts).toEqual([expect.objectContaining({ kind: 'alert-only', severity: 'critical' })]);
  });

  it('fits tables to COLUMNS, and keeps the full width when there is no terminal', async () => {
    const config = await world.writeConfig();
    const full = await world.cli('check', '--config', config);
    const widest = Math.max(...full.stdout.split('\n').map((l) => l.length));
    expect(widest).toBeGreaterThan(200);
    expect(full.stdout).toContain(
      '*.redis-databases-in-the-eu-central-region.production.example.com,redis-databases-in-the-eu-central-region.production.example.com',
    );
    for (const columns of [120, 100, 80, 60, 40]) {
      world.env.COLUMNS = String(columns);
      try {
        const run = await world.cli('check', '--config', config);
        const lines = run.stdout.split('\n');
        for (const line of lines)
          expect(line.length, `${columns} columns: ${line}`).toBeLessThanOrEqual(columns);
        expect(run.stdout).toMatch(/\n {2}proxy\s/);
        expect(run.stdout).toMatch(/\n {2}syncer\s/);
        // --json keeps every detail whatever the width.
        const json = await world.cli('check', '--config', config, '--json');
        expect(json.stdout).toContain(
          'replica-of-the-databases-in-the-eu-west-region.production.example.com',
        );
      } finally {
        delete world.env.COLUMNS;
      }
    }
    world.env.COLUMNS = '160';
    try {
      const run = await world.cli('check', '--config', config);
      // At 160 columns the names are stacked one per line and the issuer gives way first: no name is cut.
      expect(run.stdout).toContain('replica-of-the-databases-in-the-eu-west-region.production.example.com');
    } finally {
      delete world.env.COLUMNS;
    }
  });

  it('reports the time waited and the attempts when a connection times out, with a configurable connect timeout', async () => {
    // Accepts TCP connections and never answers the TLS handshake.
    const sockets: import('node:net').Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const config = await world.writeConfig(
        {},
        {
          'prod-east': {
            endpoint: `https://127.0.0.1:${port}`,
            connectTimeoutSeconds: 0.2,
            timeoutSeconds: 5,
          },
        },
      );
      const run = await world.cli('check', '--config', config, '--json');
      const error = (JSON.parse(run.stdout) as FleetReport).clusters[0]!.error!;
      expect(error.name).toBe('ClusterTimeoutError');
      const match = /within 200 ms \(3 attempts over (\d+\.\d) s\)/.exec(error.message);
      expect(match, error.message).not.toBeNull();
      expect(Number(match![1])).toBeGreaterThanOrEqual(0.6);
      expect(error.hint).toMatch(/connectTimeoutSeconds/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('terminal safety through the CLI', () => {
  let world: World;

  beforeAll(async () => {
    const ca = await createCa({ commonName: 'Evil\u202eAC\u0085 CA' });
    world = await startWorld({ clusters: { 'prod-east': { ca } } });
  });
  afterAll(() => world.close());

  it('escapes control characters in certificate names, issuer values and error messages; JSON is unchanged', async () => {
    const hostile = 'x\u001b[2J\u0007\r\nproxy  ok\u0000';
    world.sims['prod-east']!.setCertificateField(`${hostile}_cert`, 'not a certificate');
    try {
      const config = await world.writeConfig();
      const run = await world.cli('check', '--config', config);
      expect(run.stdout).toContain('x\\x1b[2J\\x07\\r\\nproxy  ok\\0');
      expect(run.stdout).toContain('Evil\\u202eAC\\x85 CA');
      // Nothing outside printable text and our own line breaks reaches the terminal.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters
      expect(run.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
      // The hostile name cannot forge a row: "proxy" starts exactly one table row.
      expect(run.stdout.split('\n').filter((l) => /^ {2}proxy\s/.test(l))).toHaveLength(1);

      const json = await world.cli('check', '--config', config, '--json');
      const names = (JSON.parse(json.stdout) as FleetReport).clusters[0]!.certificates.map((c) => c.name);
      expect(names).toContain(hostile);
    } finally {
      world.sims['prod-east']!.setCertificateField(`${hostile}_cert`, undefined);
    }
  });

  it('never quotes a config file that is a symlink to a secret', async () => {
    const secretDir = join(world.dir, 'secrets');
    await mkdir(secretDir, { recursive: true });
    const secret = join(secretDir, 'db-password');
    await writeFile(secret, 'S3cr3t-Pa55w0rd-do-not-print\n');
    const link = join(world.dir, 'linked-config.json');
    const { symlink } = await import('node:fs/promises');
    await symlink(secret, link);
    for (const args of [
      ['check', '--config', link],
      ['renew', '--config', link, '--json'],
    ]) {
      const run = await world.cli(...args);
      expect(run.code).toBe(2);
      expect(`${run.stdout}${run.stderr}`).not.toMatch(/S3cr3t|Pa55|do-not-print/);
      expect(run.stderr).toMatch(/linked-config\.json:1:1: not valid JSON/);
    }
  });
});
