/**
 * RS 7.22+ through the synthesized state machine, executed with our handlers against Pebble and the
 * simulator: the same cases as rs722.test.ts (the CLI), so both runners are held to one behaviour.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/adapters/config-file';
import type { Alert } from '../../lambdas/domain/ports';
import { RUNNER_STATES } from '../../lambdas/domain/renewal/runner';
import { STATE_NAMES } from '../../lib/workflow';
import { asDeployedConfig, localWorkflow } from '../support/local-workflow';
import { issueCert } from '../support/pki';
import { synthesizedDefinition } from '../support/synthesized-definition';
import { daysFromNow, startWorld, type World } from '../support/world';

const expiring = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };
const DUE = {
  certificates: {
    api: { dnsNames: ['cluster.example.com'], ...expiring },
    proxy: { dnsNames: ['*.redis.example.com'], ...expiring },
  },
};
const MANAGED = {
  serverName: 'cluster.example.com',
  certificates: { api: { domains: ['cluster.example.com'] }, proxy: { domains: ['*.redis.example.com'] } },
};
const V722 = '7.22.2-14';
const crdbs = [
  { guid: '1a2b3c4d-0000-4000-8000-000000000001', name: 'sessions' },
  { guid: '1a2b3c4d-0000-4000-8000-000000000002', name: 'carts' },
];

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const puts = (w: World) => w.sims.east!.requests.filter((r) => r.method === 'PUT');
const kinds = (alerts: Alert[]) =>
  alerts.map((a) => `${a.kind}:${'certificate' in a ? a.certificate : ''}`).sort();
const yearlyIn = (days: number) => {
  const at = daysFromNow(days);
  return `${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`;
};

const dailyFrom = (minutes: number) => {
  const at = new Date(Date.now() + minutes * 60_000);
  return `${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
};

describe('the state machine on RS 7.22+', () => {
  it('its renewals map’s item processor has exactly the runner states, ActiveActive after Verify', async () => {
    world = await startWorld({ clusters: { east: {} } });
    const definition = synthesizedDefinition(asDeployedConfig(loadConfig(await world.writeConfig())));
    const map = definition.States[STATE_NAMES.renewDue];
    expect(Object.keys(map!.ItemProcessor!.States).sort()).toEqual([...RUNNER_STATES].sort());
    // Its items are the run's due list in the report bucket (one batch each), not an array in state.
    expect(map!.ItemReader).toMatchObject({
      Parameters: { 'Bucket.$': '$.due.bucket', 'Key.$': '$.due.key' },
    });
    expect(map!.ItemProcessor!.States.Verify!.Next).toBe('ActiveActive');
    const aa = map!.ItemProcessor!.States.ActiveActive!;
    expect(aa.Retry?.flatMap((r) => r.ErrorEquals)).toContain('ClusterNetworkError');
    expect(aa.Catch?.[0]).toMatchObject({ Next: 'NotifyRenewed', ResultPath: '$.activeActiveError' });
  });

  it('bulk API: one call per cluster, a 409 retried with the same set', async () => {
    world = await startWorld({ clusters: { east: { ...DUE, softwareVersion: V722 } }, pebble: {} });
    const config = await world.writeConfig({}, { east: MANAGED });
    world.sims.east!.injectFault({
      method: 'PUT',
      path: '/v1/cluster/certificates',
      kind: 'partial-update',
      times: 1,
    });
    const workflow = await localWorkflow(world, config);
    await workflow.execute();
    const sent = puts(world);
    expect(sent.map((p) => [p.path, p.status])).toEqual([
      ['/v1/cluster/certificates', 409],
      ['/v1/cluster/certificates', 200],
    ]);
    expect(new Set(sent.map((p) => JSON.stringify(p.putCertificates))).size).toBe(1);
    expect(sent[0]!.putCertificates!.map((c) => c.name).sort()).toEqual(['api', 'proxy']);
    expect(kinds(workflow.alerts)).toEqual(['renewed:api', 'renewed:proxy']);
  });

  it('7.4 cluster: update_cert; and the fallback from a forced bulk API', async () => {
    world = await startWorld({ clusters: { east: DUE }, pebble: {} });
    let config = await world.writeConfig({}, { east: MANAGED });
    let workflow = await localWorkflow(world, config);
    await workflow.execute({ force: ['east/proxy'] });
    expect(puts(world).map((p) => p.path)).toEqual(['/v1/cluster/update_cert', '/v1/cluster/update_cert']);

    world.sims.east!.requests.length = 0;
    config = await world.writeConfig({}, { east: { ...MANAGED, pushApi: 'certificates' } });
    workflow = await localWorkflow(world, config);
    await workflow.execute({ force: ['east/proxy'] });
    expect(puts(world).map((p) => [p.path, p.status])).toEqual([
      ['/v1/cluster/certificates', 404],
      ['/v1/cluster/update_cert', 200],
    ]);
    expect(workflow.alerts.find((a) => a.kind === 'renewed')).toMatchObject({
      pushedWith: expect.stringMatching(/fell back to PUT \/v1\/cluster\/update_cert/),
    });
  });

  it('Active-Active alert mode: one alert with every GUID and its command', async () => {
    world = await startWorld({ clusters: { east: { ...DUE, softwareVersion: V722, crdbs } }, pebble: {} });
    const workflow = await localWorkflow(world, await world.writeConfig({}, { east: MANAGED }));
    await workflow.execute();
    const aa = workflow.alerts.filter((a) => a.kind === 'active-active');
    expect(aa).toEqual([
      expect.objectContaining({
        mode: 'alert',
        databases: crdbs.map((c) =>
          expect.objectContaining({
            guid: c.guid,
            command: `crdb-cli crdb update --crdb-guid ${c.guid} --force`,
          }),
        ),
      }),
    ]);
    expect(world.sims.east!.crdbUpdates).toHaveLength(0);
  });

  it('Active-Active update mode: one at a time to the end; a failing task alerted with GUID and error', async () => {
    world = await startWorld({ clusters: { east: { ...DUE, softwareVersion: V722, crdbs } }, pebble: {} });
    world.sims.east!.setCrdbTaskBehaviour(crdbs[0]!.guid, {
      outcome: 'failed',
      errors: [{ error_code: 'crdb_update_failed', description: 'peer west unreachable' }],
    });
    const config = await world.writeConfig({}, { east: { ...MANAGED, activeActive: 'update' } });
    const workflow = await localWorkflow(world, config);
    await workflow.execute();
    expect(world.sims.east!.crdbUpdates.map((u) => [u.crdbGuid, u.status])).toEqual(
      crdbs.map((c) => [c.guid, 200]),
    );
    expect(world.sims.east!.crdbTasks.map((t) => t.status)).toEqual(['failed', 'finished']);
    expect(workflow.alerts.find((a) => a.kind === 'active-active')).toMatchObject({
      mode: 'failed',
      databases: [
        { guid: crdbs[0]!.guid, status: 'failed', error: 'crdb_update_failed: peer west unreachable' },
        { guid: crdbs[1]!.guid, status: 'finished' },
      ],
    });
    expect(kinds(workflow.alerts)).toContain('renewed:proxy');
  });

  it('rollback from the execution input, and a refusal with nothing pushed', async () => {
    world = await startWorld({ clusters: { east: { ...DUE, softwareVersion: V722 } }, pebble: {} });
    const sim = world.sims.east!;
    const original = sim.certificate('proxy')!.fingerprint256;
    const config = await world.writeConfig({}, { east: MANAGED });
    const workflow = await localWorkflow(world, config);
    await workflow.execute();
    sim.requests.length = 0;
    workflow.alerts.length = 0;

    await workflow.execute({ rollback: [{ cluster: 'east', certificate: 'proxy' }] });
    expect(sim.certificate('proxy')!.fingerprint256).toBe(original);
    expect(kinds(workflow.alerts)).toEqual(['rolled-back:proxy']);

    // The kept certificate is now the renewed one; make it expired: the rollback is refused.
    const state = workflow.state;
    const kept = (await state.previous('east', 'proxy'))!;
    const expired = await issueCert({
      ca: sim.ca,
      dnsNames: ['*.redis.example.com'],
      notBefore: daysFromNow(-9),
      notAfter: daysFromNow(-1),
    });
    await state.savePrevious({ ...kept, certificatePem: expired.chainPem, keyPem: expired.keyPem });
    sim.requests.length = 0;
    workflow.alerts.length = 0;
    await workflow.execute({ rollback: [{ cluster: 'east', certificate: 'proxy' }] });
    expect(puts(world)).toEqual([]);
    expect(workflow.alerts).toEqual([
      expect.objectContaining({
        kind: 'renewal-failed',
        error: expect.objectContaining({ name: 'RollbackRefusedError' }),
      }),
    ]);
  });

  it('maintenance windows: waits outside, overrides when the certificate expires first, pushes inside', async () => {
    const later = { notBefore: daysFromNow(-70), notAfter: daysFromNow(20) };
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: V722,
          certificates: {
            api: { dnsNames: ['cluster.example.com'], ...later },
            proxy: DUE.certificates.proxy,
          },
        },
      },
      pebble: {},
    });
    const window = { cron: yearlyIn(10), durationMinutes: 60, timeZone: 'UTC' };
    let workflow = await localWorkflow(
      world,
      await world.writeConfig({ maintenanceWindows: [window] }, { east: MANAGED }),
    );
    await workflow.execute();
    // proxy expires in 5 days, before the window in 10: pushed alone, override alerted; api waits.
    expect(puts(world).map((p) => p.putCertificates?.map((c) => c.name))).toEqual([['proxy']]);
    expect(kinds(workflow.alerts)).toEqual(['renewed:proxy', 'window-overridden:']);

    workflow = await localWorkflow(
      world,
      // A daily window that opened a minute ago: inside it now.
      await world.writeConfig(
        { maintenanceWindows: [{ ...window, cron: dailyFrom(-1) }] },
        { east: MANAGED },
      ),
    );
    await workflow.execute();
    expect(puts(world).map((p) => p.putCertificates?.map((c) => c.name))).toEqual([['proxy'], ['api']]);
    expect(kinds(workflow.alerts)).toEqual(['renewed:api']);
  });
});
