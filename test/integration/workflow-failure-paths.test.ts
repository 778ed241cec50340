/**
 * The failure paths of the synthesized state machine, executed (aws-local-stepfunctions) with our
 * real handlers against the RS simulator and Pebble: notifying never breaks renewing, a held lock
 * ends quietly in LockHeld, every other failure reaches NotifyFailed with the lock released and the
 * DNS records removed, Lambda service errors are retried, and one item never stops the others.
 */
import type { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterEach, describe, expect, it } from 'vitest';
import { SnsNotifier } from '../../lambdas/adapters/sns/notifier';
import { NotificationError, StateLockedError } from '../../lambdas/domain/errors';
import type { Alert, Notifier } from '../../lambdas/domain/ports';
import type { RenewalContext } from '../../lambdas/domain/renewal/context';
import { createNotifyHandler } from '../../lambdas/handlers/notify';
import { STATE_NAMES } from '../../lib/workflow';
import { type LocalWorkflow, localWorkflow } from '../support/local-workflow';
import { daysFromNow, startWorld, type World } from '../support/world';

const expiring = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };
const expired = { notBefore: daysFromNow(-95), notAfter: daysFromNow(-1) };
const DOMAINS = ['*.redis.example.com'];
const proxyDue = { certificates: { proxy: { dnsNames: DOMAINS, ...expiring } } };
const managedProxy = { certificates: { proxy: { domains: DOMAINS } } };

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const entered = (w: LocalWorkflow) =>
  w.events.flatMap((e) => (e.type === 'StateEntered' ? [e.state.name] : []));
const callsTo = (w: LocalWorkflow, state: string) => w.calls.filter((c) => c.state === state);
const kinds = (alerts: Alert[]) => alerts.map((a) => a.kind).sort();
const presented = (w: World) => w.bridge!.calls.filter((c) => c.op === 'present');
const cleanedUp = (w: World) => w.bridge!.calls.filter((c) => c.op === 'cleanup');

/** Whether another taker can lock the certificate now (the run under test released it). */
async function lockIsFree(w: LocalWorkflow, cluster: string, certificate: string): Promise<boolean> {
  try {
    const handle = await w.state.lock(cluster, certificate, {
      owner: { id: 'test:probe', description: 'the test' },
      leaseMs: 60_000,
      now: new Date(),
    });
    await w.state.unlock(handle);
    return true;
  } catch (error) {
    if (error instanceof StateLockedError) return false;
    throw error;
  }
}

/** Collects alerts like the default notifier, but refuses the kinds given (as a failing SNS publish). */
function refusing(kindsRefused: Alert['kind'][]): Notifier & { sent: Alert[]; refused: Alert[] } {
  const sent: Alert[] = [];
  const refused: Alert[] = [];
  return {
    sent,
    refused,
    async send(alert) {
      if (kindsRefused.includes(alert.kind)) {
        refused.push(alert);
        throw new NotificationError(`cannot publish the ${alert.kind} alert`);
      }
      sent.push(alert);
    },
  };
}

describe('notifying never breaks renewing', () => {
  it('NotifyFindings throws: the renewals still run, the execution succeeds, and the digest still says it', async () => {
    // An expired certificate the watchdog does not manage: the one finding that goes out at once.
    world = await startWorld({
      clusters: {
        east: {
          certificates: { ...proxyDue.certificates, syncer: { dnsNames: ['s.example.com'], ...expired } },
        },
      },
      pebble: {},
    });
    const config = await world.writeConfig({}, { east: managedProxy });
    const notifier = refusing(['alert-only']);
    const workflow = await localWorkflow(world, config, { notifier });
    const before = world.sims.east!.certificate('proxy')!.fingerprint256;

    await workflow.execute();

    expect(kinds(notifier.refused)).toEqual(['alert-only']);
    expect(callsTo(workflow, STATE_NAMES.notifyFindings)).toMatchObject([{ error: 'NotificationError' }]);
    expect(entered(workflow)).toEqual(
      expect.arrayContaining([STATE_NAMES.issue, STATE_NAMES.push, STATE_NAMES.verify, STATE_NAMES.done]),
    );
    // The renewal is the digest's, never an alert of its own; the refused finding is in the digest too.
    expect(notifier.sent).toEqual([]);
    expect(kinds(workflow.alerts)).toEqual(['alert-only', 'renewed']);
    expect(workflow.digests.map((d) => d.counts.renewed)).toEqual([1]);
    expect(world.sims.east!.certificate('proxy')!.fingerprint256).not.toBe(before);
  });

  it('NotifyRenewed fails: RenewedNotReported, no failure alert, lock released, execution succeeds, the digest says renewed', async () => {
    world = await startWorld({ clusters: { east: proxyDue }, pebble: {} });
    const config = await world.writeConfig({}, { east: managedProxy });
    // Its Lambda dies after its work (the lock released) and before it answers.
    const workflow = await localWorkflow(world, config, {
      crash: { state: STATE_NAMES.notifyRenewed, times: 1 },
    });

    await workflow.execute();

    expect(callsTo(workflow, STATE_NAMES.notifyRenewed)).toMatchObject([{ error: 'Lambda.Unknown' }]);
    expect(entered(workflow)).toContain(STATE_NAMES.renewedNotReported);
    expect(callsTo(workflow, STATE_NAMES.notifyFailed)).toHaveLength(0);
    expect(workflow.immediate).toEqual([]);
    expect(kinds(workflow.alerts)).toEqual(['renewed']);
    expect(await lockIsFree(workflow, 'east', 'proxy')).toBe(true);
    expect(world.sims.east!.requests.filter((r) => r.method === 'PUT' && r.status === 200)).toHaveLength(1);
  });

  it('NotifyFailed throws: FailureReported, the lock released, the other cluster still renewed, both in the digest', async () => {
    world = await startWorld({ clusters: { east: proxyDue, west: proxyDue }, pebble: {} });
    const config = await world.writeConfig({}, { east: managedProxy, west: managedProxy });
    world.sims.east!.injectFault({ method: 'PUT', kind: 'status', status: 500, times: 1 });
    const notifier = refusing(['renewal-failed']);
    const workflow = await localWorkflow(world, config, { notifier });

    await workflow.execute();

    expect(callsTo(workflow, STATE_NAMES.notifyFailed)).toMatchObject([{ error: 'NotificationError' }]);
    expect(entered(workflow)).toContain(STATE_NAMES.failureReported);
    expect(notifier.refused.map((a) => `${a.kind}:${a.cluster}`)).toEqual(['renewal-failed:east']);
    expect(notifier.sent).toEqual([]);
    expect(workflow.alerts.map((a) => `${a.kind}:${a.cluster}`).sort()).toEqual([
      'renewal-failed:east',
      'renewed:west',
    ]);
    expect(await lockIsFree(workflow, 'east', 'proxy')).toBe(true);
  });

  it('a subject over 100 characters reaches SNS clipped: the immediate finding and the digest both publish', async () => {
    // The longest cluster name the schema allows makes every subject longer than SNS takes.
    const long = `c${'x'.repeat(61)}1`;
    world = await startWorld({
      clusters: {
        [long]: {
          certificates: {
            ...proxyDue.certificates,
            metrics_exporter: { dnsNames: ['m.example.com'], ...expired },
          },
        },
      },
      pebble: {},
    });
    const config = await world.writeConfig({}, { [long]: managedProxy });
    const sns = snsLike();
    const notifier = new SnsNotifier('arn:aws:sns:us-east-1:123456789012:alerts', sns.client);
    const workflow = await localWorkflow(world, config, { notifier });

    await workflow.execute();

    expect(sns.refused).toEqual([]);
    expect(sns.subjects).toHaveLength(1);
    for (const subject of sns.subjects) expect(subject.length).toBeLessThan(100);
    expect(sns.subjects.some((s) => s.includes('metrics_exporter'))).toBe(true);
    // The digest went through the loopback SNS, which refuses a Subject of 100 characters or more.
    expect(workflow.digests).toHaveLength(1);
    expect(workflow.digests[0]!.subject.length).toBeLessThan(100);
    expect(workflow.digests[0]!.counts.renewed).toBe(1);
    expect(workflow.calls.filter((c) => c.error)).toEqual([]);
  });
});

describe('the issue step and its failure path', () => {
  it('another execution holds the lock: Issue runs once and sets it aside as skipped; no NotifyFailed, no alert', async () => {
    world = await startWorld({ clusters: { east: proxyDue }, pebble: {} });
    const config = await world.writeConfig({}, { east: managedProxy });
    const workflow = await localWorkflow(world, config);
    const other = { id: 'execution:other', description: 'another execution' };
    await workflow.state.lock('east', 'proxy', { owner: other, leaseMs: 600_000, now: new Date() });

    await workflow.execute();

    // One Map item per cluster: Issue runs once and sets the held certificate aside, without an error.
    expect(callsTo(workflow, STATE_NAMES.issue).map((c) => c.error ?? null)).toEqual([null]);
    expect(world.sims.east!.requests.filter((r) => r.method === 'PUT')).toEqual([]);
    expect(callsTo(workflow, STATE_NAMES.notifyFailed)).toHaveLength(0);
    expect(workflow.alerts).toEqual([]);
    expect(presented(world)).toHaveLength(0);
    // Still the other execution's.
    expect(await lockIsFree(workflow, 'east', 'proxy')).toBe(false);
  });

  it('Issue fails otherwise: the certificate is set aside with its error, alerted, its lock released and its TXT records removed', async () => {
    world = await startWorld({ clusters: { east: proxyDue }, pebble: {} });
    // The record never appears where the CA looks: the propagation check gives up after 1 s.
    const config = await world.writeConfig(
      {
        dns: {
          provider: 'httpreq',
          endpoint: world.bridge!.url,
          resolvers: [world.pebble!.dns.dnsAddress],
          propagationTimeoutSeconds: 1,
        },
      },
      { east: managedProxy },
    );
    world.bridge!.dropRecords = true;
    const workflow = await localWorkflow(world, config);

    await workflow.execute();

    // Issue answers for the whole cluster: the failed certificate travels in `failures` to the notify step.
    expect(callsTo(workflow, STATE_NAMES.notifyFailed)).toHaveLength(0);
    expect(kinds(workflow.alerts)).toEqual(['renewal-failed']);
    expect(workflow.alerts[0]).toMatchObject({
      certificate: 'proxy',
      error: { name: 'DnsPropagationTimeoutError' },
    });
    expect(await lockIsFree(workflow, 'east', 'proxy')).toBe(true);
    expect(presented(world).length).toBeGreaterThan(0);
    expect(cleanedUp(world).map((c) => [c.fqdn, c.value])).toEqual(
      presented(world).map((c) => [c.fqdn, c.value]),
    );
  });

  it('Push exhausts its 409 retries: NotifyFailed with the step (and its lock), which it releases', async () => {
    world = await startWorld({ clusters: { east: proxyDue }, pebble: {} });
    const config = await world.writeConfig({}, { east: managedProxy });
    world.sims.east!.injectFault({
      method: 'PUT',
      kind: 'partial-update',
      updateNodes: 1,
      times: Number.POSITIVE_INFINITY,
    });
    const workflow = await localWorkflow(world, config);

    await workflow.execute();

    // maxAttempts 3 (world's pushRetry): four Push invocations, every one a 409.
    expect(callsTo(workflow, STATE_NAMES.push).map((c) => c.error)).toEqual(
      Array(4).fill('NodesNotUpdatedError'),
    );
    const [failed] = callsTo(workflow, STATE_NAMES.notifyFailed);
    expect(failed?.input).toMatchObject({
      failed: {
        item: { cluster: 'east', steps: [{ certificate: 'proxy', lock: { key: expect.any(String) } }] },
        error: { Error: 'NodesNotUpdatedError' },
      },
    });
    expect(callsTo(workflow, STATE_NAMES.verify)).toHaveLength(0);
    expect(kinds(workflow.alerts)).toEqual(['renewal-failed']);
    expect(await lockIsFree(workflow, 'east', 'proxy')).toBe(true);
  });

  it('Verify throws: NotifyFailed, never NotifyRenewed', async () => {
    world = await startWorld({ clusters: { east: proxyDue }, pebble: {} });
    const config = await world.writeConfig({}, { east: managedProxy });
    const workflow = await localWorkflow(world, config, {
      throws: [
        {
          state: STATE_NAMES.verify,
          error: { name: 'VerificationError', message: 'the endpoint serves the old certificate' },
          times: 1,
        },
      ],
    });

    await workflow.execute();

    expect(callsTo(workflow, STATE_NAMES.verify)).toHaveLength(1);
    expect(callsTo(workflow, STATE_NAMES.notifyFailed)[0]?.input).toMatchObject({
      failed: { error: { Error: 'VerificationError' } },
    });
    expect(callsTo(workflow, STATE_NAMES.notifyRenewed)).toHaveLength(0);
    expect(workflow.alerts).toMatchObject([
      { kind: 'renewal-failed', error: { name: 'VerificationError', message: expect.stringMatching(/old/) } },
    ]);
    expect(await lockIsFree(workflow, 'east', 'proxy')).toBe(true);
  });

  it('a transient Lambda.ServiceException is retried, and the renewal completes', async () => {
    world = await startWorld({ clusters: { east: proxyDue }, pebble: {} });
    const config = await world.writeConfig({}, { east: managedProxy });
    const workflow = await localWorkflow(world, config, {
      throws: [
        {
          state: STATE_NAMES.verify,
          error: { name: 'Lambda.ServiceException', message: 'Rate exceeded' },
          times: 1,
        },
      ],
      retryIntervalOverrides: { [STATE_NAMES.verify]: 10 },
    });

    await workflow.execute();

    expect(callsTo(workflow, STATE_NAMES.verify).map((c) => c.error)).toEqual([
      'Lambda.ServiceException',
      undefined,
    ]);
    expect(
      workflow.events.filter((e) => e.type === 'StateRetried' && e.state.name === STATE_NAMES.verify),
    ).toHaveLength(1);
    expect(callsTo(workflow, STATE_NAMES.notifyFailed)).toHaveLength(0);
    expect(kinds(workflow.alerts)).toEqual(['renewed']);
  });

  it('one item failing never stops the others', async () => {
    world = await startWorld({
      clusters: {
        east: {
          certificates: { ...proxyDue.certificates, cm: { dnsNames: ['cm.example.com'], ...expiring } },
        },
        west: proxyDue,
      },
      pebble: {},
    });
    const config = await world.writeConfig(
      {},
      {
        east: { certificates: { proxy: { domains: DOMAINS }, cm: { domains: ['cm.example.com'] } } },
        west: managedProxy,
      },
    );
    // The first Issue (whichever cluster's item it is) fails with an error no Catch names: that
    // cluster's certificates are reported failed; the other cluster renews.
    const workflow = await localWorkflow(world, config, {
      throws: [{ state: STATE_NAMES.issue, error: { name: 'TypeError', message: 'a bug' }, times: 1 }],
    });
    await workflow.execute();
    const failed = workflow.alerts.filter((a) => a.kind === 'renewal-failed');
    const renewed = workflow.alerts.filter((a) => a.kind === 'renewed');
    expect(failed.length + renewed.length).toBe(3);
    expect(renewed.length).toBeGreaterThan(0);
    expect(new Set(failed.map((a) => a.cluster)).size).toBe(1);
    expect(renewed.every((a) => a.cluster !== failed[0]?.cluster)).toBe(true);
    expect(workflow.alerts.find((a) => a.kind === 'renewal-failed')).toMatchObject({
      error: { name: 'TypeError' },
    });
    expect(workflow.events.filter((e) => e.type === 'MapIterationFailed')).toEqual([]);
  });
});

describe('the SNS subject, through the notify handler', () => {
  it('clips a subject with newlines and over 100 characters to one ASCII line SNS accepts', async () => {
    const sns = snsLike();
    const notifier = new SnsNotifier('arn:aws:sns:us-east-1:123456789012:alerts', sns.client);
    // Sending findings needs the notifier alone.
    const notify = createNotifyHandler(() => ({ notifier }) as unknown as RenewalContext);
    const alert: Alert = {
      kind: 'cluster-unreachable',
      cluster: `east\nSubject: injected\r\n${'é'.repeat(120)}`,
      error: { name: 'ClusterNetworkError', message: 'connection refused' },
    } as Alert;
    await expect(notify({ alerts: [alert] })).resolves.toEqual({ sent: 1 });
    expect(sns.refused).toEqual([]);
    const [subject] = sns.subjects;
    expect(subject!.length).toBeLessThan(100);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
  });
});

/**
 * An SNS client that applies Publish's Subject rule (ASCII, no line breaks, fewer than 100
 * characters: InvalidParameter otherwise) and records what it was sent.
 */
function snsLike(): { client: SNSClient; subjects: string[]; refused: string[] } {
  const subjects: string[] = [];
  const refused: string[] = [];
  const client = {
    async send(command: PublishCommand) {
      const subject = command.input.Subject ?? '';
      if (subject.length >= 100 || !/^[\x20-\x7e]*$/.test(subject)) {
        refused.push(subject);
        throw Object.assign(new Error('Invalid parameter: Subject'), { name: 'InvalidParameterException' });
      }
      subjects.push(subject);
      return { MessageId: String(subjects.length) };
    },
  } as unknown as SNSClient;
  return { client, subjects, refused };
}
