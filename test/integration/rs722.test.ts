/**
 * RS 7.22+ through the CLI against Pebble and the simulator: one bulk push per cluster (and the
 * update_cert path of older clusters, the fallback, the 409 retry, fail-fast refusals), the
 * Active-Active follow-up in both modes, rollback and its refusals, and maintenance windows.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalDirectoryStore } from '../../lambdas/adapters/local-directory/secret-store';
import { connectCluster } from '../../lambdas/adapters/rs-https';
import type { RollbackResult } from '../../lambdas/cli/rollback';
import type { Alert } from '../../lambdas/domain/ports';
import type { RenewReport } from '../../lambdas/domain/renewal/runner';
import type { FleetReport } from '../../lambdas/domain/report';
import { openRsClient } from '../../lambdas/domain/rs/client';
import { StateStore } from '../../lambdas/domain/state';
import { issueCert } from '../support/pki';
import { daysFromNow, secretsOf, startWorld, type World } from '../support/world';

const expiring = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };
const DUE = {
  certificates: {
    api: { dnsNames: ['cluster.example.com'], ...expiring },
    proxy: { dnsNames: ['*.redis.example.com'], ...expiring },
    cm: { dnsNames: ['cm.example.com'], notBefore: daysFromNow(-1), notAfter: daysFromNow(300) },
    syncer: { dnsNames: ['syncer.example.com'], notBefore: daysFromNow(-1), notAfter: daysFromNow(300) },
  },
};
const MANAGED = {
  serverName: 'cluster.example.com',
  certificates: {
    api: { domains: ['cluster.example.com'] },
    proxy: { domains: ['*.redis.example.com'] },
  },
};
const V722 = '7.22.2-14';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const puts = (w: World) => w.sims.east!.requests.filter((r) => r.method === 'PUT');
const kinds = (alerts: Alert[]) =>
  alerts.map((a) => `${a.kind}:${'certificate' in a ? a.certificate : ''}`).sort();

async function renew(w: World, config: string): Promise<{ code: number; report: RenewReport }> {
  const run = await w.cli('renew', '--config', config, '--json');
  return { code: run.code, report: JSON.parse(run.stdout) as RenewReport };
}

async function pushRecords(w: World): Promise<unknown[]> {
  const dir = join(w.dir, 'state', 'pushes', 'east');
  const files = await readdir(dir).catch(() => []);
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8'))));
}

describe('pushApi', () => {
  it('on 7.22.2+ pushes every due certificate of the cluster in ONE bulk call, recorded as one push', async () => {
    world = await startWorld({ clusters: { east: { ...DUE, softwareVersion: V722 } }, pebble: {} });
    const config = await world.writeConfig({}, { east: MANAGED });
    const check = JSON.parse((await world.cli('check', '--config', config, '--json')).stdout) as FleetReport;
    expect(check.clusters[0]).toMatchObject({
      softwareVersions: [V722, V722, V722],
      pushApi: 'certificates',
    });

    const { code, report } = await renew(world, config);
    expect(code).toBe(0);
    const sent = puts(world);
    expect(sent.map((p) => [p.path, p.status])).toEqual([['/v1/cluster/certificates', 200]]);
    expect(sent[0]!.putCertificates!.map((c) => c.name).sort()).toEqual(['api', 'proxy']);
    const sim = world.sims.east!;
    for (const c of sent[0]!.putCertificates!)
      expect(sim.certificate(c.name)!.fingerprint256).toBe(c.fingerprint256);
    expect(report.clusters[0]!.push).toMatchObject({ api: 'certificates', certificates: ['api', 'proxy'] });
    const records = await pushRecords(world);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      api: 'certificates',
      certificates: [{ name: 'api' }, { name: 'proxy' }],
    });
    const renewed = report.alerts.filter((a) => a.kind === 'renewed');
    expect(renewed).toHaveLength(2);
    for (const a of renewed)
      expect(a).toMatchObject({ pushedWith: 'PUT /v1/cluster/certificates, one call with api, proxy' });
    const text = JSON.stringify([report, records]);
    for (const secret of secretsOf(world)) expect(text).not.toContain(secret);
  });

  it('on a mixed 7.4/7.22 cluster auto uses update_cert, one PUT per certificate', async () => {
    world = await startWorld({
      clusters: { east: { ...DUE, softwareVersion: V722, nodeSoftwareVersions: { 2: '7.4.6-22' } } },
      pebble: {},
    });
    const config = await world.writeConfig({}, { east: MANAGED });
    const check = JSON.parse((await world.cli('check', '--config', config, '--json')).stdout) as FleetReport;
    expect(check.clusters[0]).toMatchObject({ pushApi: 'update_cert' });
    const { code } = await renew(world, config);
    expect(code).toBe(0);
    expect(puts(world).map((p) => [p.path, p.putName, p.status])).toEqual([
      ['/v1/cluster/update_cert', 'api', 200],
      ['/v1/cluster/update_cert', 'proxy', 200],
    ]);
  });

  it('falls back once to update_cert on a 404 from the bulk API, and says so', async () => {
    world = await startWorld({ clusters: { east: DUE }, pebble: {} });
    const config = await world.writeConfig({}, { east: { ...MANAGED, pushApi: 'certificates' } });
    const { code, report } = await renew(world, config);
    expect(code).toBe(0);
    expect(puts(world).map((p) => [p.path, p.status])).toEqual([
      ['/v1/cluster/certificates', 404],
      ['/v1/cluster/update_cert', 200],
      ['/v1/cluster/update_cert', 200],
    ]);
    expect(report.clusters[0]!.push?.fellBack).toMatch(
      /answered 404.*fell back to PUT \/v1\/cluster\/update_cert/,
    );
    const renewed = report.alerts.find((a) => a.kind === 'renewed');
    expect(renewed).toMatchObject({ pushedWith: expect.stringMatching(/update_cert.*fell back/) });
  });

  it('a 405 from the bulk API falls back too', async () => {
    world = await startWorld({ clusters: { east: { ...DUE, softwareVersion: V722 } }, pebble: {} });
    const config = await world.writeConfig({}, { east: MANAGED });
    world.sims.east!.injectFault({
      method: 'PUT',
      path: '/v1/cluster/certificates',
      kind: 'status',
      status: 405,
    });
    const { code } = await renew(world, config);
    expect(code).toBe(0);
    expect(puts(world).map((p) => p.status)).toEqual([405, 200, 200]);
  });

  it('retries a 409 on the bulk push with the same set until every node has it', async () => {
    world = await startWorld({ clusters: { east: { ...DUE, softwareVersion: V722 } }, pebble: {} });
    const config = await world.writeConfig({}, { east: MANAGED });
    world.sims.east!.injectFault({
      method: 'PUT',
      path: '/v1/cluster/certificates',
      kind: 'partial-update',
      updateNodes: 1,
      times: 2,
    });
    const { code, report } = await renew(world, config);
    expect(code).toBe(0);
    const sent = puts(world);
    expect(sent.map((p) => p.status)).toEqual([409, 409, 200]);
    const sets = sent.map((p) => JSON.stringify(p.putCertificates));
    expect(new Set(sets).size).toBe(1);
    for (const node of world.sims.east!.nodes)
      expect(node.certificates.proxy).toBe(world.sims.east!.certificate('proxy')!.fingerprint256);
    expect(kinds(report.alerts)).toEqual(['renewed:api', 'renewed:proxy']);
    expect(await pushRecords(world)).toHaveLength(1);
  });

  it('fails fast on a 406, naming the certificate the body names', async () => {
    world = await startWorld({ clusters: { east: { ...DUE, softwareVersion: V722 } }, pebble: {} });
    const config = await world.writeConfig({}, { east: MANAGED });
    world.sims.east!.injectFault({
      method: 'PUT',
      path: '/v1/cluster/certificates',
      kind: 'status',
      status: 406,
      body: {
        error_code: 'expired_certificate',
        description: "Expired or not yet valid certificate(s): 'proxy'.",
      },
    });
    const { code, report } = await renew(world, config);
    expect(code).toBe(1);
    expect(puts(world)).toHaveLength(1);
    const failed = report.alerts.filter((a) => a.kind === 'renewal-failed');
    expect(failed.map((a) => a.certificate).sort()).toEqual(['api', 'proxy']);
    for (const a of failed)
      expect(a).toMatchObject({
        error: {
          name: 'ExpiredCertificateError',
          message: expect.stringContaining('/v1/cluster/certificates (proxy) answered 406'),
        },
      });
  });
});

describe('activeActive', () => {
  const crdbs = [
    { guid: '1a2b3c4d-0000-4000-8000-000000000001', name: 'sessions' },
    { guid: '1a2b3c4d-0000-4000-8000-000000000002', name: 'carts' },
  ];

  it('alert (default): one alert naming every GUID with its crdb-cli command; nothing updated', async () => {
    world = await startWorld({ clusters: { east: { ...DUE, softwareVersion: V722, crdbs } }, pebble: {} });
    const config = await world.writeConfig({}, { east: MANAGED });
    const { report } = await renew(world, config);
    const aa = report.alerts.filter((a) => a.kind === 'active-active');
    expect(aa).toHaveLength(1);
    expect(aa[0]).toMatchObject({
      mode: 'alert',
      certificates: ['proxy'],
      databases: crdbs.map((c) => ({
        guid: c.guid,
        command: `crdb-cli crdb update --crdb-guid ${c.guid} --force`,
      })),
    });
    expect(world.sims.east!.crdbUpdates).toHaveLength(0);
  });

  it('update: one database at a time, each task polled to its end; a failed task is alerted with its GUID and error', async () => {
    world = await startWorld({
      clusters: {
        east: { ...DUE, softwareVersion: V722, crdbs, crdbTask: { queuedPolls: 1, startedPolls: 2 } },
      },
      pebble: {},
    });
    const sim = world.sims.east!;
    sim.setCrdbTaskBehaviour(crdbs[1]!.guid, {
      startedPolls: 1,
      outcome: 'failed',
      errors: [{ error_code: 'crdb_update_failed', description: 'peer cluster west rejected the update' }],
    });
    const config = await world.writeConfig({}, { east: { ...MANAGED, activeActive: 'update' } });
    const { code, report } = await renew(world, config);
    // The certificates are renewed, but a database's sync may be stopped: that needs a person.
    expect(code).toBe(1);
    expect(report.clusters[0]!.activeActive).toMatchObject({ mode: 'failed' });
    const updates = sim.crdbUpdates;
    expect(updates.map((u) => [u.crdbGuid, u.forceUpdate, u.status])).toEqual([
      [crdbs[0]!.guid, true, 200],
      [crdbs[1]!.guid, true, 200],
    ]);
    // The second update started only after the first task had ended.
    const [first] = sim.crdbTasks;
    expect(first).toMatchObject({ status: 'finished', polls: 4 });
    expect(sim.crdbTasks[1]).toMatchObject({ status: 'failed' });
    const aa = report.alerts.filter((a) => a.kind === 'active-active');
    expect(aa).toHaveLength(1);
    expect(aa[0]).toMatchObject({
      mode: 'failed',
      databases: [
        { guid: crdbs[0]!.guid, status: 'finished' },
        {
          guid: crdbs[1]!.guid,
          status: 'failed',
          error: 'crdb_update_failed: peer cluster west rejected the update',
        },
      ],
    });
  });

  it('update: never starts a second update of a database whose task is still running', async () => {
    world = await startWorld({
      clusters: { east: { ...DUE, softwareVersion: V722, crdbs: [crdbs[0]!] } },
      pebble: {},
    });
    const sim = world.sims.east!;
    // An operator's update is running (nobody polls it, so it stays queued).
    const client = openRsClient(connectCluster, {
      cluster: 'east',
      endpoint: sim.url,
      username: sim.username,
      password: sim.password,
      clusterCaPem: sim.caPem,
    });
    await client.forceUpdateCrdb(crdbs[0]!.guid);
    client.close();
    const config = await world.writeConfig({}, { east: { ...MANAGED, activeActive: 'update' } });
    const { report } = await renew(world, config);
    expect(sim.crdbUpdates.map((u) => u.status)).toEqual([200, 409]);
    expect(sim.crdbTasks).toHaveLength(1);
    const aa = report.alerts.find((a) => a.kind === 'active-active');
    expect(aa).toMatchObject({
      mode: 'failed',
      databases: [
        { guid: crdbs[0]!.guid, status: 'not started', error: expect.stringMatching(/409.*in progress/) },
      ],
    });
  });
});

describe('rollback', () => {
  it('puts the kept certificate back through push and verify, alerts, and keeps the replaced one', async () => {
    world = await startWorld({ clusters: { east: { ...DUE, softwareVersion: V722 } }, pebble: {} });
    const sim = world.sims.east!;
    const original = sim.certificate('proxy')!.fingerprint256;
    const config = await world.writeConfig({}, { east: MANAGED });
    await renew(world, config);
    const renewed = sim.certificate('proxy')!.fingerprint256;
    expect(renewed).not.toBe(original);
    sim.requests.length = 0;

    const run = await world.cli(
      'rollback',
      '--config',
      config,
      '--cluster',
      'east',
      '--certificate',
      'proxy',
      '--json',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as RollbackResult;
    expect(result).toMatchObject({
      rolledBack: true,
      fingerprint256: original,
      replacedFingerprint256: renewed,
    });
    expect(sim.certificate('proxy')!.fingerprint256).toBe(original);
    for (const node of sim.nodes) expect(node.certificates.proxy).toBe(original);
    expect(puts(world).map((p) => p.putCertificates?.map((c) => c.name))).toEqual([['proxy']]);
    expect(kinds(result.alerts)).toEqual(['rolled-back:proxy']);
    expect(result.verification).toMatch(/cluster holds the new certificate/);
    const state = new StateStore(new LocalDirectoryStore(join(world.dir, 'state')));
    expect((await state.previous('east', 'proxy'))?.fingerprint256).toBe(renewed);
    for (const secret of secretsOf(world)) expect(run.stdout).not.toContain(secret);
  });

  it('refuses, with exit 1 and nothing pushed: nothing kept, an expired kept certificate, one that does not validate', async () => {
    world = await startWorld({ clusters: { east: { ...DUE, softwareVersion: V722 } }, pebble: {} });
    const sim = world.sims.east!;
    const config = await world.writeConfig({}, { east: MANAGED });
    const rollback = () =>
      world!.cli('rollback', '--config', config, '--cluster', 'east', '--certificate', 'proxy');

    let run = await rollback();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/RollbackRefusedError: cluster "east": nothing is kept for proxy/);

    await renew(world, config);
    sim.requests.length = 0;
    const state = new StateStore(new LocalDirectoryStore(join(world.dir, 'state')));
    const kept = (await state.previous('east', 'proxy'))!;
    const expired = await issueCert({
      ca: sim.ca,
      dnsNames: ['*.redis.example.com'],
      notBefore: daysFromNow(-100),
      notAfter: daysFromNow(-1),
    });
    await state.savePrevious({ ...kept, certificatePem: expired.chainPem, keyPem: expired.keyPem });
    run = await rollback();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/RollbackRefusedError: .*kept proxy certificate expired at/);

    const other = await issueCert({ ca: sim.ca, dnsNames: ['*.redis.example.com'], freshKey: true });
    await state.savePrevious({ ...kept, keyPem: other.keyPem });
    run = await rollback();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /RollbackRefusedError: .*cannot go back: proxy: the private key does not belong/,
    );

    expect(puts(world)).toEqual([]);
    const fresh = sim.certificate('proxy')!.fingerprint256;
    expect((await state.issued('east', 'proxy'))!.fingerprint256).toBe(fresh);
  });
});

describe('maintenanceWindows', () => {
  const yearlyIn = (days: number) => {
    const at = daysFromNow(days);
    return `${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`;
  };

  it('inside a window: pushes', async () => {
    world = await startWorld({ clusters: { east: { ...DUE, softwareVersion: V722 } }, pebble: {} });
    const config = await world.writeConfig(
      { maintenanceWindows: [{ cron: '*/5 * * * *', durationMinutes: 10, timeZone: 'Europe/Paris' }] },
      { east: MANAGED },
    );
    const { report } = await renew(world, config);
    expect(puts(world)).toHaveLength(1);
    expect(kinds(report.alerts)).toEqual(['renewed:api', 'renewed:proxy']);
  });

  it('outside every window: orders and saves, pushes nothing, and shows the next window; pushes once inside', async () => {
    const certs = {
      certificates: {
        ...DUE.certificates,
        proxy: { dnsNames: ['*.redis.example.com'], notBefore: daysFromNow(-70), notAfter: daysFromNow(20) },
        api: { dnsNames: ['cluster.example.com'], notBefore: daysFromNow(-70), notAfter: daysFromNow(20) },
      },
    };
    world = await startWorld({ clusters: { east: { ...certs, softwareVersion: V722 } }, pebble: {} });
    const window = { cron: yearlyIn(10), durationMinutes: 60, timeZone: 'UTC' };
    const config = await world.writeConfig({}, { east: { ...MANAGED, maintenanceWindows: [window] } });

    const dry = await world.cli('renew', '--config', config, '--dry-run');
    expect(dry.stdout).toMatch(/proxy: waits for the next maintenance window, opening \d{4}-\d\d-\d\d/);
    const check = JSON.parse((await world.cli('check', '--config', config, '--json')).stdout) as FleetReport;
    const proxy = check.clusters[0]!.certificates.find((c) => c.name === 'proxy')!;
    expect(proxy.window).toMatchObject({ decision: 'wait' });
    expect(Math.round((Date.parse(proxy.window!.nextOpen!) - Date.now()) / 86_400_000)).toBe(10);

    const { code, report } = await renew(world, config);
    expect(code).toBe(0);
    expect(puts(world)).toHaveLength(0);
    expect(report.alerts).toEqual([]);
    expect(report.clusters[0]!.certificates.find((c) => c.name === 'proxy')!.action).toBe('waiting');
    const state = new StateStore(new LocalDirectoryStore(join(world.dir, 'state')));
    const saved = (await state.issued('east', 'proxy'))!;
    expect(saved.pushedAt).toBeNull();

    // The window opens: the saved certificate is pushed, nothing is ordered again.
    const presents = world.bridge!.calls.length;
    await world.writeConfig(
      {},
      { east: { ...MANAGED, maintenanceWindows: [{ ...window, cron: '* * * * *' }] } },
    );
    const second = await renew(world, config);
    expect(kinds(second.report.alerts)).toEqual(['renewed:api', 'renewed:proxy']);
    expect(world.bridge!.calls.length).toBe(presents);
    expect(world.sims.east!.certificate('proxy')!.fingerprint256).toBe(saved.fingerprint256);
  });

  it('overrides the window when the current certificate expires before it opens, and alerts the override', async () => {
    world = await startWorld({ clusters: { east: { ...DUE, softwareVersion: V722 } }, pebble: {} });
    const config = await world.writeConfig(
      { maintenanceWindows: [{ cron: yearlyIn(10), durationMinutes: 60, timeZone: 'America/New_York' }] },
      { east: MANAGED },
    );
    const dry = await world.cli('renew', '--config', config, '--dry-run');
    expect(dry.stdout).toMatch(/proxy: expires before the next maintenance window/);
    const { report } = await renew(world, config);
    expect(puts(world)).toHaveLength(1);
    const override = report.alerts.filter((a) => a.kind === 'window-overridden');
    expect(override).toHaveLength(1);
    expect(override[0]).toMatchObject({ cluster: 'east', certificates: ['api', 'proxy'] });
    expect(kinds(report.alerts)).toEqual(['renewed:api', 'renewed:proxy', 'window-overridden:']);
  });
});
