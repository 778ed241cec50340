import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../lambdas/domain/ports';
import { type ClusterReport, summarizeCluster } from '../../lambdas/domain/report';
import type { RunSummary } from '../../lambdas/handlers/events';
import { localWorkflow } from '../support/local-workflow';
import { daysFromNow, secretsOf, startWorld, type World } from '../support/world';

const expiring = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };
const proxyDue = { certificates: { proxy: { dnsNames: ['*.redis.example.com'], ...expiring } } };
const managedProxy = { certificates: { proxy: { domains: ['*.redis.example.com'] } } };

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const kinds = (alerts: Alert[]) =>
  alerts.map((a) => `${a.kind}:${a.cluster}:${'certificate' in a ? a.certificate : ''}`).sort();
const orders = (w: World) => w.bridge!.calls.filter((c) => c.op === 'present').length;

describe('the synthesized state machine, executed with our handlers', () => {
  it('retries the push on 409 twice, then succeeds with every node updated and one success alert', async () => {
    world = await startWorld({ clusters: { east: proxyDue }, pebble: {} });
    const config = await world.writeConfig(
      {
        pushRetry: { maxAttempts: 3, intervalSeconds: 1, backoffRate: 2, maxDelaySeconds: 4, jitter: 'FULL' },
      },
      { east: managedProxy },
    );
    world.sims.east!.injectFault({ method: 'PUT', kind: 'partial-update', updateNodes: 1, times: 2 });
    const workflow = await localWorkflow(world, config);
    await workflow.execute();

    const puts = world.sims.east!.requests.filter((r) => r.method === 'PUT');
    expect(puts.map((p) => p.status)).toEqual([409, 409, 200]);
    expect(new Set(puts.map((p) => p.putFingerprint256)).size).toBe(1);
    const fingerprint = world.sims.east!.certificate('proxy')!.fingerprint256;
    for (const node of world.sims.east!.nodes) expect(node.certificates.proxy).toBe(fingerprint);
    expect(kinds(workflow.alerts)).toEqual(['renewed:east:proxy']);
  });

  it('says which nodes are behind when the 409 retries run out', async () => {
    world = await startWorld({ clusters: { east: proxyDue }, pebble: {} });
    const config = await world.writeConfig(
      {
        pushRetry: { maxAttempts: 2, intervalSeconds: 1, backoffRate: 2, maxDelaySeconds: 4, jitter: 'FULL' },
      },
      { east: managedProxy },
    );
    world.sims.east!.injectFault({
      method: 'PUT',
      kind: 'partial-update',
      updateNodes: 1,
      times: Number.POSITIVE_INFINITY,
    });
    const workflow = await localWorkflow(world, config);
    await workflow.execute();
    expect(world.sims.east!.requests.filter((r) => r.method === 'PUT')).toHaveLength(3);
    const failed = workflow.alerts.find((a) => a.kind === 'renewal-failed');
    expect(failed).toMatchObject({
      error: {
        name: 'NodesNotUpdatedError',
        message: expect.stringMatching(/half-updated.*node 1 \(127\.0\.0\.2, active\)/),
      },
    });
  });

  it('turns a 406 into failure alerts for its cluster (one push) while the other clusters still renew', async () => {
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
        east: {
          certificates: { proxy: { domains: ['*.redis.example.com'] }, cm: { domains: ['cm.example.com'] } },
        },
        west: managedProxy,
      },
    );
    world.sims.east!.injectFault({ method: 'PUT', kind: 'status', status: 406, times: 1 });
    const workflow = await localWorkflow(world, config);
    await workflow.execute();
    // east's proxy and cm go in one push: the 406 fails both; west is its own iteration.
    expect(kinds(workflow.alerts)).toEqual([
      'renewal-failed:east:cm',
      'renewal-failed:east:proxy',
      'renewed:west:proxy',
    ]);
    const failed = workflow.alerts.find((a) => a.kind === 'renewal-failed');
    expect(failed).toMatchObject({ cluster: 'east', error: { name: 'ExpiredCertificateError' } });
    expect(world.sims.east!.requests.filter((r) => r.method === 'PUT' && r.status === 406)).toHaveLength(1);
    expect(world.sims.west!.certificate('proxy')!.fingerprint256).not.toBe(undefined);
  });

  it('a retried execution pushes the saved certificate without a new order', async () => {
    world = await startWorld({ clusters: { east: proxyDue }, pebble: {} });
    const config = await world.writeConfig({}, { east: managedProxy });
    world.sims.east!.injectFault({ method: 'PUT', kind: 'status', status: 500, times: 1 });
    const workflow = await localWorkflow(world, config);
    await workflow.execute();
    expect(kinds(workflow.alerts)).toEqual(['renewal-failed:east:proxy']);
    const ordered = orders(world);
    const firstPush = world.sims.east!.requests.find((r) => r.method === 'PUT')!.putFingerprint256;

    await workflow.execute();
    expect(orders(world)).toBe(ordered);
    expect(kinds(workflow.alerts)).toEqual(['renewal-failed:east:proxy', 'renewed:east:proxy']);
    expect(world.sims.east!.certificate('proxy')!.fingerprint256).toBe(firstPush);
  });

  it('sends findings (alert-only, unreachable) and keeps secrets out of every alert', async () => {
    world = await startWorld({
      clusters: {
        east: { certificates: { syncer: { dnsNames: ['s.example.com'], ...expiring } } },
        west: {},
      },
      pebble: {},
    });
    const config = await world.writeConfig();
    world.env.RS_PASSWORD_WEST = 'wrong';
    const workflow = await localWorkflow(world, config);
    const output = await workflow.execute();
    expect(kinds(workflow.alerts)).toEqual(['alert-only:east:syncer', 'cluster-unreachable:west:']);
    // The state machine carries counts and keys, never the fleet (256 KiB per state): the report is in S3.
    const run = output as RunSummary;
    expect(run).toMatchObject({ clusters: 2, clustersUnreadable: 1, failedShards: 0, hasFindings: true });
    const index = JSON.parse(workflow.object(run.report.key) as string) as {
      parts: Array<{ report: string }>;
    };
    const clusters = index.parts.flatMap(
      (p) => (JSON.parse(workflow.object(p.report) as string) as { clusters: ClusterReport[] }).clusters,
    );
    expect(clusters.map(summarizeCluster)).toEqual([
      { name: 'east', error: null, certificates: 1, statuses: { expiring: 1 }, minDaysLeft: 5 },
      {
        name: 'west',
        error: expect.objectContaining({ name: 'AuthenticationError' }),
        certificates: 0,
        statuses: {},
        minDaysLeft: null,
      },
    ]);
    // One digest for the run, its link to the page beside the report; nothing was urgent enough to go alone.
    expect(workflow.digests).toHaveLength(1);
    expect(workflow.digests[0]?.report?.key).toBe(run.report.html);
    expect(workflow.digests[0]?.report?.url).toBe(
      `https://console.aws.amazon.com/s3/object/${workflow.reportBucket}?region=us-east-1&prefix=${encodeURIComponent(run.report.html as string)}`,
    );
    // The page beside the report (issue 23): the CLI's page, of this run's clusters.
    const page = workflow.object(run.report.html as string) as string;
    expect(page).toMatch(/^<!DOCTYPE html>/);
    for (const text of ['east', 'west', 'syncer', 'AuthenticationError']) expect(page).toContain(text);
    expect(workflow.immediate).toEqual([]);
    // Neither the alerts nor any object the run wrote holds a secret.
    const objects = workflow.objectKeys().map((k) => workflow.object(k));
    const text = JSON.stringify([workflow.alerts, workflow.digests, output, objects]);
    for (const secret of secretsOf(world)) expect(text).not.toContain(secret);
    expect(text).not.toContain('-----BEGIN');
    expect(text).not.toContain('PRIVATE KEY');
  });
});
