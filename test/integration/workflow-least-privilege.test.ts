/**
 * Issue 18, items 11, 13 and 15 (b), through the executed state machine: every task runs its
 * function's bundle in a fresh Node 24 process, and the loopback AWS account enforces each role's
 * synthesized IAM policies on every call (an execution with a denied call rejects). So Issue, which
 * on AWS has neither the clusters' credentials nor their network, must never need them: not to
 * decide a renewal the cluster changed under (11), not for a rollback (13).
 */
import { request } from 'node:https';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../lambdas/domain/ports';
import type { ClusterBatch } from '../../lambdas/domain/renewal/steps';
import { STATE_NAMES } from '../../lib/workflow';
import type { AwsPrincipal } from '../support/aws';
import { type LocalWorkflow, localWorkflow } from '../support/local-workflow';
import { issueCert } from '../support/pki';
import { daysFromNow, startWorld, type World } from '../support/world';

const expiring = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };
const DOMAINS = ['*.redis.example.com'];

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const kinds = (alerts: Alert[]) =>
  alerts.map((a) => `${a.kind}:${'certificate' in a ? a.certificate : ''}`).sort();
const presented = (w: World) => w.bridge!.calls.filter((c) => c.op === 'present').length;
/** The calls a role made on a cluster's credentials secret (`rs/<cluster>`). */
const clusterSecretReads = (w: LocalWorkflow, role: string) =>
  w.awsCalls.filter((c) => c.role === role && /:secret:rs\//.test(c.resource));

describe('Issue decides without the cluster (item 11)', () => {
  it('a saved certificate verified before this run, while the cluster now serves another: renewed with it, Issue never reads the cluster', async () => {
    world = await startWorld({
      clusters: { east: { certificates: { proxy: { dnsNames: DOMAINS, ...expiring } } } },
      pebble: {},
    });
    const sim = world.sims.east!;
    const config = await world.writeConfig({}, { east: { certificates: { proxy: { domains: DOMAINS } } } });
    const workflow = await localWorkflow(world, config);
    await workflow.execute();
    const saved = (await workflow.state.issued('east', 'proxy'))!;
    expect(saved.verifiedAt).toEqual(expect.any(String));
    expect(sim.certificate('proxy')!.fingerprint256).toBe(saved.fingerprint256);

    // An operator puts another certificate there (by hand, expiring in 5 days): it is due again.
    const other = await issueCert({ ca: sim.ca, dnsNames: DOMAINS, ...expiring });
    await putCertificate(world, 'proxy', other.chainPem, other.keyPem);
    expect(sim.certificate('proxy')!.fingerprint256).not.toBe(saved.fingerprint256);
    const orders = presented(world);
    workflow.alerts.length = 0;

    await workflow.execute();

    // The saved certificate still fits: pushed again, no new order.
    const issued = workflow.calls.filter((c) => c.state === STATE_NAMES.issue);
    expect(issued).toHaveLength(2);
    const issueOutput = workflow.calls.filter((c) => c.state === STATE_NAMES.push).at(-1)
      ?.input as ClusterBatch;
    expect(issueOutput.steps).toMatchObject([{ certificate: 'proxy', reused: true }]);
    expect(presented(world)).toBe(orders);
    expect(sim.certificate('proxy')!.fingerprint256).toBe(saved.fingerprint256);
    expect(kinds(workflow.alerts)).toEqual(['renewed:proxy']);
    // Issue touched no cluster secret; Check and Push did (through the extension, and the SDK).
    expect(clusterSecretReads(workflow, 'issue')).toEqual([]);
    expect(clusterSecretReads(workflow, 'check')).toEqual(
      expect.arrayContaining([expect.objectContaining({ via: 'extension', decision: 'allowed' })]),
    );
    expect(clusterSecretReads(workflow, 'push')).toEqual(
      expect.arrayContaining([expect.objectContaining({ decision: 'allowed' })]),
    );
  });
});

describe('rollback on AWS (item 13)', () => {
  it('an execution started with {"rollback": [...]} puts api and proxy back; only Push reads the cluster secret that holds its CA', async () => {
    world = await startWorld({
      clusters: {
        east: {
          softwareVersion: '7.22.2-14',
          certificates: {
            api: { dnsNames: ['cluster.example.com'], ...expiring },
            proxy: { dnsNames: DOMAINS, ...expiring },
          },
        },
      },
      pebble: {},
    });
    const sim = world.sims.east!;
    const original = {
      api: sim.certificate('api')!.fingerprint256,
      proxy: sim.certificate('proxy')!.fingerprint256,
    };
    // The kept certificates chain to the cluster's own CA, which the deployment keeps in the
    // cluster's credentials secret (`caPem`): validating them needs that secret.
    const config = await world.writeConfig(
      {},
      {
        east: {
          serverName: 'cluster.example.com',
          certificates: { api: { domains: ['cluster.example.com'] }, proxy: { domains: DOMAINS } },
        },
      },
    );
    const workflow = await localWorkflow(world, config);
    await workflow.execute();
    expect(kinds(workflow.alerts)).toEqual(['renewed:api', 'renewed:proxy']);
    const renewed = {
      api: sim.certificate('api')!.fingerprint256,
      proxy: sim.certificate('proxy')!.fingerprint256,
    };
    workflow.alerts.length = 0;
    const from = workflow.awsCalls.length;

    await workflow.execute({
      rollback: [
        { cluster: 'east', certificate: 'api' },
        { cluster: 'east', certificate: 'proxy' },
      ],
    });

    expect(sim.certificate('api')!.fingerprint256).toBe(original.api);
    expect(sim.certificate('proxy')!.fingerprint256).toBe(original.proxy);
    for (const node of sim.nodes) expect(node.certificates.api).toBe(original.api);
    expect(kinds(workflow.alerts)).toEqual(['rolled-back:api', 'rolled-back:proxy']);
    expect(workflow.alerts.find((a) => a.kind === 'rolled-back')).toMatchObject({
      verification: expect.stringMatching(/cluster holds the new certificate/),
    });
    // What each replaced is kept in turn.
    expect((await workflow.state.previous('east', 'api'))?.fingerprint256).toBe(renewed.api);
    const rollbackCalls = workflow.awsCalls.slice(from);
    expect(rollbackCalls.filter((c) => c.role === 'issue' && /:secret:rs\//.test(c.resource))).toEqual([]);
    expect(
      rollbackCalls.some(
        (c) =>
          c.role === 'push' &&
          c.action === 'secretsmanager:GetSecretValue' &&
          /:secret:rs\/east-/.test(c.resource),
      ),
    ).toBe(true);
    expect(rollbackCalls.filter((c) => c.decision !== 'allowed')).toEqual([]);
  });
});

describe('the stand-ins enforce the synthesized policies (item 15)', () => {
  it('every call of a renewal is allowed by its role, and what a role may not do is denied', async () => {
    world = await startWorld({
      clusters: { east: { certificates: { proxy: { dnsNames: DOMAINS, ...expiring } } } },
      pebble: {},
    });
    const config = await world.writeConfig({}, { east: { certificates: { proxy: { domains: DOMAINS } } } });
    const workflow = await localWorkflow(world, config);
    await workflow.execute();
    expect(kinds(workflow.alerts)).toEqual(['renewed:proxy']);

    // The walk: each function's calls, all allowed by its own role.
    const made = (role: string) =>
      new Set(workflow.awsCalls.filter((c) => c.role === role).map((c) => c.action));
    expect(workflow.awsCalls.filter((c) => c.decision !== 'allowed')).toEqual([]);
    expect(workflow.awsCalls.filter((c) => c.role === 'check').every((c) => c.via === 'extension')).toBe(
      true,
    );
    expect([...made('issue')]).toEqual(
      expect.arrayContaining([
        'secretsmanager:CreateSecret',
        'secretsmanager:TagResource',
        'kms:GenerateDataKey',
        'route53:ListResourceRecordSets',
        'route53:ChangeResourceRecordSets',
        'route53:GetChange',
      ]),
    );
    expect([...made('push')]).toEqual(
      expect.arrayContaining([
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'kms:Decrypt',
      ]),
    );
    expect([...made('notify')]).toEqual(expect.arrayContaining(['sns:Publish', 'kms:GenerateDataKey']));

    // What the roles may not do: Issue reading a cluster secret, Check a certificate's key (even
    // through the extension), Notify a record that is no ACME challenge.
    const aws = workflow.aws;
    await expect(
      sdkClient(aws.aws.url, workflow.principal('issue')).send(
        new GetSecretValueCommand({ SecretId: 'rs/east' }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    const certificateSecret = 'rs-cert-watchdog/RsCertWatchdog/certificates/east/proxy/current';
    const viaExtension = await fetch(
      `http://127.0.0.1:${aws.extension.port}/secretsmanager/get?secretId=${encodeURIComponent(certificateSecret)}`,
      { headers: { 'X-Aws-Parameters-Secrets-Token': workflow.principal('check').sessionToken } },
    );
    expect(viaExtension.status).toBe(400);
    expect(await viaExtension.text()).toMatch(/AccessDeniedException: .*secretsmanager:GetSecretValue/);
    await expect(
      sdkClient(aws.aws.url, workflow.principal('push')).send(
        new GetSecretValueCommand({ SecretId: certificateSecret }),
      ),
    ).resolves.toMatchObject({ SecretString: expect.stringContaining('PRIVATE KEY') });
    const denied = aws.aws.denied().map((c) => `${c.role} ${c.action} ${c.resource.split(':').pop()}`);
    expect(denied).toEqual([
      expect.stringMatching(/^issue secretsmanager:GetSecretValue rs\/east-\w{6}$/),
      expect.stringMatching(
        /^check secretsmanager:GetSecretValue .*certificates\/east\/proxy\/current-\w{6}$/,
      ),
    ]);
  });
});

function sdkClient(endpoint: string, principal: AwsPrincipal): SecretsManagerClient {
  return new SecretsManagerClient({
    region: 'us-east-1',
    endpoint,
    credentials: {
      accessKeyId: principal.accessKeyId,
      secretAccessKey: 'loopback-secret-access-key',
      sessionToken: principal.sessionToken,
    },
  });
}

/** PUT /v1/cluster/update_cert as an operator would, with the cluster's own credentials. */
function putCertificate(w: World, name: string, certificate: string, key: string): Promise<void> {
  const sim = w.sims.east!;
  const body = JSON.stringify({ name, certificate, key });
  return new Promise((resolve, reject) => {
    const req = request(
      `${sim.url}/v1/cluster/update_cert`,
      {
        method: 'PUT',
        ca: sim.caPem,
        checkServerIdentity: () => undefined,
        auth: `${sim.username}:${sim.password}`,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`update_cert: ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
