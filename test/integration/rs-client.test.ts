import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../lambdas/adapters/rs-https';
import { openRsClient, type RsClient } from '../../lambdas/domain/rs/client';
import { type RsSimulator, startRsSimulator } from '../sim/rs-simulator';

/** Every status code of the RS API reference maps to one named error with an actionable message. */
describe('RS REST API client: status codes', () => {
  let sim: RsSimulator;
  let client: RsClient;

  beforeAll(async () => {
    sim = await startRsSimulator({ nodes: 2 });
    client = openRsClient(connectCluster, {
      cluster: 'prod-east',
      endpoint: sim.url,
      username: sim.username,
      password: sim.password,
      clusterCaPem: sim.caPem,
      timeoutMs: 3_000,
      getRetries: 0,
    });
  });
  afterAll(async () => {
    client.close();
    await sim.close();
  });

  const update = () => {
    const current = sim.certificate('proxy')!;
    return client.updateCertificate({ name: 'proxy', key: current.keyPem, certificate: current.certPem });
  };

  it.each([
    ['PUT', 400, 'InvalidCertificateError', /rejected the certificate as invalid/],
    ['PUT', 403, 'UnknownCertificateError', /does not know certificate "proxy"/],
    ['PUT', 404, 'InvalidCertificateError', /rejected the certificate as invalid/],
    ['PUT', 406, 'ExpiredCertificateError', /considers the certificate expired/],
    ['PUT', 409, 'NodesNotUpdatedError', /not all nodes have been updated/],
    ['PUT', 500, 'ClusterServerError', /internal error/],
    ['PUT', 418, 'UnexpectedStatusError', /does not document/],
    ['GET', 403, 'PermissionDeniedError', /lacks permission/],
    ['GET', 500, 'ClusterServerError', /internal error/],
  ] as const)('%s %i → %s', async (method, status, name, message) => {
    sim.injectFault({
      method,
      kind: 'status',
      status,
      body: { error_code: 'injected', description: 'as documented' },
    });
    const call = method === 'PUT' ? update() : client.getCertificates();
    const error = await call.then(
      () => undefined,
      (e: unknown) => e as Error & { status?: number; hint?: string },
    );
    expect(error?.name).toBe(name);
    expect(error?.message).toMatch(message);
    expect(error?.message).toContain('cluster "prod-east"');
    expect(error?.status).toBe(status);
    expect(error?.hint).toBeTruthy();
  });

  it('maps 401 on any request to AuthenticationError without echoing the password', async () => {
    const wrong = openRsClient(connectCluster, {
      cluster: 'prod-east',
      endpoint: sim.url,
      username: sim.username,
      password: 'hunter2-wrong',
      clusterCaPem: sim.caPem,
    });
    const error = await wrong.getCertificates().catch((e: Error) => e);
    wrong.close();
    expect((error as Error).name).toBe('AuthenticationError');
    expect((error as Error).message).not.toContain('hunter2-wrong');
  });

  it('maps the simulator’s own validation: unknown name → 403, bad key → 400', async () => {
    const proxy = sim.certificate('proxy')!;
    const api = sim.certificate('api')!;
    await expect(
      client.updateCertificate({ name: 'nonexistent', key: proxy.keyPem, certificate: proxy.certPem }),
    ).rejects.toMatchObject({ name: 'UnknownCertificateError' });
    await expect(
      client.updateCertificate({ name: 'proxy', key: api.keyPem, certificate: proxy.certPem }),
    ).rejects.toMatchObject({ name: 'InvalidCertificateError' });
  });

  it('never puts a GET body (which holds private keys) into an error', async () => {
    sim.injectFault({
      method: 'GET',
      kind: 'status',
      status: 500,
      body: { api_key: '-----BEGIN RSA PRIVATE KEY-----SECRET' },
    });
    const error = (await client.getCertificates().catch((e: Error) => e)) as Error;
    expect(error.message).not.toContain('PRIVATE KEY');
  });

  it('reads the nodes', async () => {
    const nodes = await client.getNodes();
    expect(nodes.map((n) => n.addr)).toEqual(['127.0.0.2', '127.0.0.3']);
    expect(nodes.every((n) => n.status === 'active')).toBe(true);
  });
});
