/**
 * Issue 20 and issue 18 item 10, through the executed state machine (aws-local-stepfunctions, the
 * bundles cdk synth makes, the state in the loopback account's DynamoDB (dynalite) with keys sealed
 * by its KMS, version 0.1's secrets in its Secrets Manager, encrypted with the stack key):
 * - a Step Functions retry of Issue after a Lambda service error re-enters its own execution's lock
 *   and renews (it is not set aside as "held by another run");
 * - a stack whose state is still in Secrets Manager (version 0.1) keeps working: MigrateState moves
 *   the ACME account, the certificates with their keys and the pending markers into the table, once,
 *   and the same run uses them (no new order, a crashed push resumed); an unreadable secret stops the
 *   run instead of being taken for a missing one.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalDirectoryStore } from '../../lambdas/adapters/local-directory/state-directory';
import type { Alert } from '../../lambdas/domain/ports';
import { StateStore } from '../../lambdas/domain/state';
import { migrateLegacyState, migrationProgress } from '../../lambdas/domain/state-migration';
import { STATE_NAMES } from '../../lib/workflow';
import { type LocalWorkflow, localWorkflow, watchdogAwsOf } from '../support/local-workflow';
import { LEGACY_PREFIX, stateBackend, tableFor } from '../support/state-backend';
import { daysFromNow, startWorld, type World } from '../support/world';

const DOMAINS = ['*.redis.example.com'];
const expiring = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };

let world: World | undefined;
afterEach(async () => {
  const backend = await stateBackend();
  backend.clearFaults();
  backend.secretsManager.secrets.clear();
  backend.secretsManager.refused.clear();
  await world?.close();
  world = undefined;
});

const callsTo = (w: LocalWorkflow, state: string) => w.calls.filter((c) => c.state === state);
const kinds = (alerts: Alert[]) =>
  alerts.map((a) => `${a.kind}:${'certificate' in a ? a.certificate : ''}`).sort();
const orders = (w: World) => w.bridge!.calls.filter((c) => c.op === 'present').length;
const puts = (w: World) => w.sims.east!.requests.filter((r) => r.method === 'PUT');

describe('a Step Functions retry of Issue (issue 18 item 10)', () => {
  it('re-enters its own execution’s lock after a Lambda service error and renews, with one order', async () => {
    world = await startWorld({
      clusters: { east: { certificates: { proxy: { dnsNames: DOMAINS, ...expiring } } } },
      pebble: {},
    });
    const config = await world.writeConfig({}, { east: { certificates: { proxy: { domains: DOMAINS } } } });
    // Issue runs (takes the lock, orders, saves), then the Lambda service fails the invocation.
    const workflow = await localWorkflow(world, config, {
      crash: { state: STATE_NAMES.issue, times: 1, error: 'Lambda.ServiceException' },
    });
    await workflow.execute();

    expect(callsTo(workflow, STATE_NAMES.issue).map((c) => c.error ?? null)).toEqual([
      'Lambda.ServiceException',
      null,
    ]);
    expect(workflow.events.some((e) => e.type === 'StateRetried' && e.state.name === STATE_NAMES.issue)).toBe(
      true,
    );
    expect(kinds(workflow.alerts)).toEqual(['renewed:proxy']);
    expect(orders(world)).toBe(1);
    expect(puts(world)).toHaveLength(1);
    const saved = await workflow.state.issued('east', 'proxy');
    expect(world.sims.east!.certificate('proxy')!.fingerprint256).toBe(saved?.fingerprint256);
  });
});

describe('a stack whose state is in Secrets Manager (version 0.1)', () => {
  /**
   * What version 0.1 left in Secrets Manager, one secret per entry with keys inline: the ACME account;
   * a cm certificate ordered and saved but refused by the cluster (500), for the next run to push
   * without a new order; and a proxy certificate the cluster accepted just before that run died, with
   * its "pushed, not verified" marker. Made by the CLI against the same Pebble and simulator.
   */
  async function earlierState() {
    world = await startWorld({
      clusters: {
        east: {
          certificates: {
            proxy: { dnsNames: DOMAINS, ...expiring },
            cm: { dnsNames: ['cm.example.com'], ...expiring },
          },
        },
      },
      pebble: {},
    });
    const config = await world.writeConfig(
      {},
      { east: { certificates: { proxy: { domains: DOMAINS }, cm: { domains: ['cm.example.com'] } } } },
    );
    const sim = world.sims.east!;
    sim.injectFault({ method: 'PUT', kind: 'status', status: 500, times: Number.POSITIVE_INFINITY });
    await world.cli('renew', '--config', config);
    sim.clearFaults();
    const local = new StateStore(new LocalDirectoryStore(join(world.dir, 'state')));
    const directoryUrl = world.pebble!.directoryUrl;
    const account = (await local.account(directoryUrl))!;
    const proxy = (await local.issued('east', 'proxy'))!;
    const cm = (await local.issued('east', 'cm'))!;
    // The proxy push went through (the cluster holds it), and the run died before verifying it.
    sim.setCertificateField('proxy_cert', proxy.certificatePem);
    sim.setCertificateField('proxy_key', proxy.keyPem);
    sim.requests.length = 0;
    // Version 0.1 kept them in Secrets Manager, encrypted with the stack's key.
    const aws = await watchdogAwsOf(world);
    const legacy = (name: string, value: unknown) =>
      aws.secretsManager.seed(`${LEGACY_PREFIX}/${name}`, JSON.stringify(value), { kmsKeyArn: aws.keyArn });
    const hash = createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16);
    legacy(`acme/account-${hash}`, account);
    legacy('certificates/east/proxy/current', { ...proxy, pushedAt: new Date().toISOString() });
    legacy('certificates/east/cm/current', cm);
    legacy('pending/east/proxy', {
      fingerprint256: proxy.fingerprint256,
      phase: 'pushed',
      at: new Date().toISOString(),
    });
    return { world, config, aws, account, proxy, cm, ordersBefore: orders(world) };
  }

  it('moves the account, the certificates with their keys and the markers on the first run, which uses them', async () => {
    const { world: w, config, account, proxy, cm, ordersBefore } = await earlierState();
    const workflow = await localWorkflow(w, config);
    await workflow.execute();

    // The saved cm certificate was pushed without a new order; the crashed proxy push was verified and reported.
    expect(orders(w)).toBe(ordersBefore);
    expect(puts(w).map((p) => p.putFingerprint256)).toEqual([cm.fingerprint256]);
    expect(kinds(workflow.alerts)).toEqual(['renewed:cm', 'renewed:proxy']);
    expect(workflow.calls.map((c) => c.state)[0]).toBe(STATE_NAMES.migrateState);
    // Everything is in the table now, keys sealed, and the migration recorded as done.
    expect((await workflow.state.account(account.directoryUrl))?.accountKeyPem).toBe(account.accountKeyPem);
    expect((await workflow.state.issued('east', 'proxy'))?.keyPem).toBe(proxy.keyPem);
    expect((await workflow.state.issued('east', 'cm'))?.keyPem).toBe(cm.keyPem);
    expect(await migrationProgress(workflow.state)).toMatchObject({
      done: true,
      moved: { accounts: 1, certificates: 2, pending: 1 },
    });
    // Idempotent: the next run reads one item and no secret.
    const secretReads = () =>
      workflow.awsCalls.filter(
        (c) => c.role === 'migrateState' && c.action === 'secretsmanager:GetSecretValue',
      ).length;
    const asked = secretReads();
    expect(asked).toBeGreaterThan(0);
    await workflow.execute();
    expect(secretReads()).toBe(asked);
    expect(callsTo(workflow, STATE_NAMES.migrateState).at(-1)?.error).toBeUndefined();
  });

  it('stops the run, moving nothing it cannot read, when a secret is unreadable (AccessDenied is not "absent")', async () => {
    const { world: w, config, aws } = await earlierState();
    aws.secretsManager.refuseReads.set(
      `${LEGACY_PREFIX}/certificates/east/proxy/current`,
      'AccessDeniedException',
    );
    const workflow = await localWorkflow(w, config);
    await expect(workflow.execute()).rejects.toThrow();
    expect(callsTo(workflow, STATE_NAMES.check)).toEqual([]);
    expect(callsTo(workflow, STATE_NAMES.migrateState).at(-1)?.error).toBe('StateStoreError');
    expect(await workflow.state.issued('east', 'cm')).toBeNull();
    expect((await migrationProgress(workflow.state))?.done).not.toBe(true);
    expect(puts(w)).toEqual([]);

    // Once the secret can be read, the next run moves it and renews with it.
    aws.secretsManager.refuseReads.clear();
    await workflow.execute();
    expect(kinds(workflow.alerts)).toEqual(['renewed:cm', 'renewed:proxy']);
  });

  it('resumes a migration that ran out of time where it stopped, and never replaces a newer entry', async () => {
    const backend = await stateBackend();
    const table = tableFor(`migration-${Date.now()}`);
    await backend.createTable(table);
    const state = backend.store(table);
    const clusters = Array.from({ length: 120 }, (_, i) => ({
      name: `c${i}`,
      certificates: { proxy: { domains: ['x.example.com'] } },
    }));
    const marker = (i: number) => ({
      fingerprint256: `FP:${i}`,
      phase: 'pushed',
      at: new Date().toISOString(),
    });
    for (const [i, c] of clusters.entries())
      backend.secretsManager.secrets.set(
        `${LEGACY_PREFIX}/pending/${c.name}/proxy`,
        JSON.stringify(marker(i)),
      );
    // A newer marker is already in the table: it stays.
    await state.markPending('c7', 'proxy', {
      fingerprint256: 'NEWER',
      phase: 'pushing',
      at: new Date().toISOString(),
    });
    const options = {
      config: { clusters } as never,
      legacy: backend.legacy(),
      state,
      now: () => new Date(),
    };
    let chunks = 0;
    await expect(migrateLegacyState({ ...options, outOfTime: () => chunks++ >= 1 })).rejects.toMatchObject({
      name: 'StateMigrationIncompleteError',
    });
    expect(await migrationProgress(state)).toMatchObject({ done: false, nextCluster: 50 });
    const asked = backend.secretsManager.asked.length;
    const done = await migrateLegacyState(options);
    expect(done).toMatchObject({ done: true, nextCluster: 120, moved: { pending: 119 } });
    // The second invocation asked only for the clusters the first had not moved (3 secrets each).
    expect(backend.secretsManager.asked.length - asked).toBe(70 * 3);
    expect((await state.pending('c7', 'proxy'))?.fingerprint256).toBe('NEWER');
    expect((await state.pending('c100', 'proxy'))?.fingerprint256).toBe('FP:100');
  });
});
