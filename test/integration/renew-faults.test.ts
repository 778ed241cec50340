import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RenewReport } from '../../lambdas/domain/renewal/runner';
import type { StoredCertificate } from '../../lambdas/domain/state';
import { CLI_PATH } from '../support/cli-process';
import { generateKey } from '../support/pki';
import { startWebhookCapture } from '../support/webhook-capture';
import { daysFromNow, keyBody, secretsOf, startWorld, type World } from '../support/world';

const expiring = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function proxyWorld(nodes = 3): Promise<{ world: World; config: string }> {
  world = await startWorld({
    clusters: {
      east: { nodes, certificates: { proxy: { dnsNames: ['*.redis.example.com'], ...expiring } } },
    },
    pebble: {},
  });
  const config = await world.writeConfig(
    {},
    { east: { certificates: { proxy: { domains: ['*.redis.example.com'] } } } },
  );
  return { world, config };
}

const renew = async (w: World, config: string, ...args: string[]) => {
  const run = await w.cli('renew', '--config', config, '--json', ...args);
  return { ...run, report: JSON.parse(run.stdout || '{}') as RenewReport };
};
const proxyOf = (report: RenewReport) => report.clusters[0]!.certificates.find((c) => c.name === 'proxy')!;
const puts = (w: World) => w.sims.east!.requests.filter((r) => r.method === 'PUT');
const orders = (w: World) => w.bridge!.calls.filter((c) => c.op === 'present').length;
const statePath = (w: World) => join(w.dir, 'state', 'certificates', 'east', 'proxy', 'current.json');

describe('renew: pushing', () => {
  it('pushes the same certificate again after two 409s and ends with every node updated', async () => {
    const { world: w, config } = await proxyWorld();
    w.sims.east!.injectFault({ method: 'PUT', kind: 'partial-update', updateNodes: 1, times: 2 });
    const { code, report } = await renew(w, config);
    expect(proxyOf(report).action).toBe('renewed');
    expect(code).toBe(0);
    const pushes = puts(w);
    expect(pushes.map((p) => p.status)).toEqual([409, 409, 200]);
    expect(new Set(pushes.map((p) => p.putFingerprint256)).size).toBe(1);
    const fingerprint = w.sims.east!.certificate('proxy')!.fingerprint256;
    expect(pushes[0]!.putFingerprint256).toBe(fingerprint);
    for (const node of w.sims.east!.nodes) expect(node.certificates.proxy).toBe(fingerprint);
    expect(report.alerts.filter((a) => a.kind === 'renewed')).toHaveLength(1);
  });

  it('gives up after the retry policy on a 409 that never clears, naming the nodes', async () => {
    const { world: w, config } = await proxyWorld();
    w.sims.east!.injectFault({
      method: 'PUT',
      kind: 'partial-update',
      updateNodes: 1,
      times: Number.POSITIVE_INFINITY,
    });
    const { code, report } = await renew(w, config);
    const proxy = proxyOf(report);
    expect(code).toBe(1);
    expect(proxy.action).toBe('failed');
    expect(proxy.error?.name).toBe('NodesNotUpdatedError');
    expect(proxy.error?.message).toMatch(/half-updated/);
    expect(proxy.error?.message).toMatch(/node 1 \(127\.0\.0\.2, active\).*node 3 \(127\.0\.0\.4/);
    expect(puts(w)).toHaveLength(4); // first try + pushRetry.maxAttempts (3)
    const failed = report.alerts.find((a) => a.kind === 'renewal-failed');
    expect(failed).toMatchObject({ cluster: 'east', certificate: 'proxy' });
  });

  it.each([
    [406, 'ExpiredCertificateError'],
    [400, 'InvalidCertificateError'],
    [404, 'InvalidCertificateError'],
    [403, 'UnknownCertificateError'],
    [500, 'ClusterServerError'],
  ])(
    'fails fast on %i (%s), keeps the certificate, and the next run pushes it without a new order',
    async (status, name) => {
      const { world: w, config } = await proxyWorld();
      w.sims.east!.injectFault({ method: 'PUT', kind: 'status', status });
      const first = await renew(w, config);
      expect(proxyOf(first.report)).toMatchObject({ action: 'failed', error: { name } });
      expect(puts(w)).toHaveLength(1); // no retry storm
      expect(first.report.alerts.map((a) => a.kind)).toEqual(['renewal-failed']);
      const saved = JSON.parse(await readFile(statePath(w), 'utf8')) as StoredCertificate;
      expect(saved.pushedAt).toBeNull();
      const ordersAfterFirst = orders(w);

      const second = await renew(w, config);
      expect(proxyOf(second.report).action).toBe('renewed');
      expect(orders(w)).toBe(ordersAfterFirst);
      expect(puts(w)[1]!.putFingerprint256).toBe(saved.fingerprint256);
      expect(w.sims.east!.certificate('proxy')!.fingerprint256).toBe(saved.fingerprint256);
    },
  );
});

describe('renew: nothing lost, nothing ordered twice', () => {
  it('resumes after a crash between issuance and push without a new order', async () => {
    const { world: w, config } = await proxyWorld();
    w.sims.east!.injectFault({ method: 'PUT', kind: 'hang' });
    const child = spawn(process.execPath, [CLI_PATH, 'renew', '--config', config], {
      env: { PATH: process.env.PATH, ...w.env },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 30_000;
    while (puts(w).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL'); // the PUT is in flight: the process dies before any answer
    await exited;
    const saved = JSON.parse(await readFile(statePath(w), 'utf8')) as StoredCertificate;
    const ordersAfterCrash = orders(w);
    expect(ordersAfterCrash).toBeGreaterThan(0);

    const { report } = await renew(w, config);
    expect(proxyOf(report).action).toBe('renewed');
    expect(orders(w)).toBe(ordersAfterCrash);
    expect(w.sims.east!.certificate('proxy')!.fingerprint256).toBe(saved.fingerprint256);
  });

  it('lets two runs at once renew once: one order, one PUT, one alert; the other says who holds it', async () => {
    const { world: w, config } = await proxyWorld();
    const [a, b] = await Promise.all([renew(w, config), renew(w, config)]);
    const actions = [proxyOf(a.report).action, proxyOf(b.report).action].sort();
    expect(actions).toEqual(['renewed', 'skipped']);
    const skipped = [a, b].find((r) => proxyOf(r.report).action === 'skipped')!;
    expect(proxyOf(skipped.report).skipped).toMatch(
      /rs-cert-watchdog on .+ \(pid \d+, started .+\).*held until 20\d\d-/,
    );
    expect(orders(w)).toBe(1); // one wildcard authorization: one record presented, once
    expect(puts(w)).toHaveLength(1);
    const renewedAlerts = [...a.report.alerts, ...b.report.alerts].filter((x) => x.kind === 'renewed');
    expect(renewedAlerts).toHaveLength(1);
    expect([a.code, b.code]).toEqual([0, 0]);
  });

  it('refuses a saved certificate whose key does not match, pushes nothing, then orders a fresh one', async () => {
    const { world: w, config } = await proxyWorld();
    w.sims.east!.injectFault({ method: 'PUT', kind: 'status', status: 500 });
    await renew(w, config);
    const saved = JSON.parse(await readFile(statePath(w), 'utf8')) as StoredCertificate;
    const other = await generateKey('rsa', true);
    await writeFile(statePath(w), JSON.stringify({ ...saved, keyPem: other.keyPem }));
    const putsBefore = puts(w).length;

    const refused = await renew(w, config);
    expect(proxyOf(refused.report)).toMatchObject({
      action: 'failed',
      error: { name: 'CertificateValidationError' },
    });
    expect(proxyOf(refused.report).error?.message).toMatch(/private key does not belong/);
    expect(puts(w)).toHaveLength(putsBefore);
    expect(refused.report.alerts.map((a) => a.kind)).toEqual(['renewal-failed']);
    expect(refused.stdout).not.toContain(keyBody(other.keyPem));

    const ordersBefore = orders(w);
    const fresh = await renew(w, config);
    expect(proxyOf(fresh.report).action).toBe('renewed');
    expect(orders(w)).toBe(ordersBefore + 1);
  });

  it('refuses a saved certificate without its intermediate (short chain)', async () => {
    const { world: w, config } = await proxyWorld();
    w.sims.east!.injectFault({ method: 'PUT', kind: 'status', status: 500 });
    await renew(w, config);
    const saved = JSON.parse(await readFile(statePath(w), 'utf8')) as StoredCertificate;
    const leafOnly = saved.certificatePem.slice(
      0,
      saved.certificatePem.indexOf('-----END CERTIFICATE-----') + 26,
    );
    await writeFile(statePath(w), JSON.stringify({ ...saved, certificatePem: leafOnly }));
    const putsBefore = puts(w).length;
    const { report } = await renew(w, config);
    expect(proxyOf(report).error?.message).toMatch(/neither in the chain nor a trusted root/);
    expect(puts(w)).toHaveLength(putsBefore);
  });
});

describe('renew: decisions and alerts', () => {
  it('refuses an api certificate that would lock the watchdog out', async () => {
    world = await startWorld({
      clusters: { east: { certificates: { api: { dnsNames: ['cluster.example.com'], ...expiring } } } },
      pebble: {},
    });
    const config = await world.writeConfig(
      {},
      {
        east: { serverName: 'cluster.example.com', certificates: { api: { domains: ['api.example.com'] } } },
      },
    );
    const { report } = await renew(world, config);
    const api = report.clusters[0]!.certificates.find((c) => c.name === 'api')!;
    expect(api.error?.message).toMatch(/reaches the REST API as cluster\.example\.com/);
    expect(world.sims.east!.requests.filter((r) => r.method === 'PUT')).toHaveLength(0);
  });

  it('--dry-run decides without ordering, pushing or alerting; --force renews a certificate that is not due', async () => {
    world = await startWorld({
      clusters: {
        east: {
          certificates: {
            proxy: {
              dnsNames: ['*.redis.example.com'],
              notBefore: daysFromNow(-1),
              notAfter: daysFromNow(300),
            },
          },
        },
      },
      pebble: {},
    });
    const config = await world.writeConfig(
      {},
      { east: { certificates: { proxy: { domains: ['*.redis.example.com'] } } } },
    );
    const dry = await renew(world, config, '--dry-run', '--force', 'proxy');
    expect(proxyOf(dry.report)).toMatchObject({ plan: 'renew', action: 'none' });
    expect(dry.report.dryRun).toBe(true);
    expect(orders(world)).toBe(0);
    expect(puts(world)).toHaveLength(0);

    const idle = await renew(world, config);
    expect(proxyOf(idle.report)).toMatchObject({ plan: 'none', action: 'none' });
    expect(idle.code).toBe(0);

    const forced = await renew(world, config, '--force', 'east/proxy');
    expect(proxyOf(forced.report).action).toBe('renewed');

    const bad = await world.cli('renew', '--config', config, '--force', 'ldap_client');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/force "ldap_client": no cluster lists "ldap_client"/);
  });

  it('posts Block Kit alerts to a Slack webhook without any secret', async () => {
    const slack = await startWebhookCapture();
    try {
      const { world: w } = await proxyWorld();
      const url = `${slack.url}/services/T000/B000/XXXX`;
      const config = await w.writeConfig(
        { alerts: { slackWebhookUrl: url } },
        {
          east: { certificates: { proxy: { domains: ['*.redis.example.com'] } } },
        },
      );
      await renew(w, config);
      expect(slack.received).toHaveLength(1);
      const message = slack.received[0] as { text: string; blocks: Array<{ type: string }> };
      expect(message.text).toMatch(/Renewed proxy on east/);
      expect(message.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
      const text = JSON.stringify(slack.received);
      for (const secret of secretsOf(w)) expect(text).not.toContain(secret);
      expect(text).not.toContain('PRIVATE KEY');
    } finally {
      await slack.close();
    }
  });
});
