import { X509Certificate } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCa, type IssuedCert, issueCert, type TestCa } from '../support/pki';
import {
  defaultCertificateNames,
  type RsSimulator,
  type RsSimulatorOptions,
  startRsSimulator,
} from './rs-simulator';

interface CallOptions {
  method?: string;
  path: string;
  body?: unknown;
  /** Raw request body, sent verbatim. */
  rawBody?: string;
  /** false = no Authorization header. */
  auth?: { username: string; password: string } | false;
  timeoutMs?: number;
}

interface CallResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

function call(sim: RsSimulator, opts: CallOptions): Promise<CallResult> {
  const auth = opts.auth === undefined ? { username: sim.username, password: sim.password } : opts.auth;
  const payload = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (auth) {
    headers.Authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  }
  if (payload !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const req = request(
      `${sim.url}${opts.path}`,
      // agent: false — a pooled keep-alive connection would keep presenting the old certificate.
      { method: opts.method ?? 'GET', headers, ca: sim.caPem, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
      },
    );
    req.on('error', reject);
    if (opts.timeoutMs !== undefined) {
      req.setTimeout(opts.timeoutMs, () => req.destroy(new Error('client timeout')));
    }
    req.end(payload);
  });
}

async function callJson(sim: RsSimulator, opts: CallOptions): Promise<{ status: number; json: unknown }> {
  const r = await call(sim, opts);
  expect(r.headers['content-type']).toBe('application/json');
  return { status: r.status, json: JSON.parse(r.text) };
}

/** Fingerprint of the leaf a TLS listener presents, verified against the simulator CA. */
function servedFingerprint(host: string, port: number, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ca: caPem }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.on('error', reject);
  });
}

function putCert(sim: RsSimulator, name: string, cert: { chainPem: string; keyPem: string }) {
  return callJson(sim, {
    method: 'PUT',
    path: '/v1/cluster/update_cert',
    body: { name, key: cert.keyPem, certificate: cert.chainPem },
  });
}

const DAY = 86_400_000;
const nodeIps = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];

let ca: TestCa;
const sims: RsSimulator[] = [];

async function sim(opts: RsSimulatorOptions = {}): Promise<RsSimulator> {
  const s = await startRsSimulator({ ca, ...opts });
  sims.push(s);
  return s;
}

function apiCert(s: RsSimulator, extra: Partial<Parameters<typeof issueCert>[0]> = {}): Promise<IssuedCert> {
  return issueCert({
    ca: s.ca,
    dnsNames: ['api.cluster.local', 'localhost'],
    ipAddresses: ['127.0.0.1', ...nodeIps],
    ...extra,
  });
}

beforeAll(async () => {
  ca = await createCa({ commonName: 'rs-simulator.test CA' });
});

afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

describe('authentication', () => {
  it('answers 401 with a Basic challenge for missing or wrong credentials', async () => {
    const s = await sim({ nodeListeners: false });
    const missing = await call(s, { path: '/v1/cluster/certificates', auth: false });
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Basic realm="RS"');
    expect(JSON.parse(missing.text)).toMatchObject({ error_code: 'unauthorized' });

    const wrong = await call(s, {
      path: '/v1/cluster/certificates',
      auth: { username: s.username, password: 'nope' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain('PRIVATE KEY');

    expect((await call(s, { path: '/v1/cluster/certificates' })).status).toBe(200);
    expect(s.requests.map((r) => [r.status, r.authorized])).toEqual([
      [401, false],
      [401, false],
      [200, true],
    ]);
  });

  it('setPassword rotates the accepted password', async () => {
    const s = await sim({ nodeListeners: false, username: 'ops@example.com', password: 'old' });
    expect(s.username).toBe('ops@example.com');
    s.setPassword('new-P@ss:with:colons');
    expect(s.password).toBe('new-P@ss:with:colons');
    expect(
      (await call(s, { path: '/v1/nodes', auth: { username: 'ops@example.com', password: 'old' } })).status,
    ).toBe(401);
    expect((await call(s, { path: '/v1/nodes' })).status).toBe(200);
  });
});

describe('reads', () => {
  let s: RsSimulator;
  beforeAll(async () => {
    s = await sim();
  });

  it('GET /v1/cluster/certificates returns the six default certificates and keys', async () => {
    const { status, json } = await callJson(s, { path: '/v1/cluster/certificates' });
    expect(status).toBe(200);
    const body = json as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(
      defaultCertificateNames.flatMap((n) => [`${n}_cert`, `${n}_key`]).sort(),
    );
    for (const name of defaultCertificateNames) {
      const leaf = new X509Certificate(body[`${name}_cert`] ?? '');
      expect(leaf.checkIssued(new X509Certificate(s.caPem))).toBe(true);
      expect(body[`${name}_key`]).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
      expect(leaf.fingerprint256).toBe(s.certificate(name)?.fingerprint256);
      const validTo = Date.parse(leaf.validTo);
      expect(validTo).toBeGreaterThan(Date.now() + 364 * DAY);
      expect(validTo).toBeLessThan(Date.now() + 366 * DAY);
    }
    const api = new X509Certificate(body.api_cert ?? '');
    expect(api.subjectAltName).toContain('DNS:localhost');
    expect(api.subjectAltName).toContain('DNS:api.cluster.local');
    for (const ip of ['127.0.0.1', ...nodeIps]) expect(api.subjectAltName).toContain(`IP Address:${ip}`);
    expect(new X509Certificate(body.metrics_exporter_cert ?? '').subjectAltName).toBe(
      'DNS:metrics-exporter.cluster.local',
    );
  });

  it('serves the api certificate on the endpoint and on every node address', async () => {
    const expected = s.certificate('api')?.fingerprint256;
    expect(expected).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(await servedFingerprint('127.0.0.1', s.port, s.caPem)).toBe(expected);
    for (const node of s.nodes) {
      expect(node.certificates.api).toBe(expected);
      expect(await servedFingerprint(node.addr, s.port, s.caPem)).toBe(expected);
    }
  });

  it('GET /v1/nodes lists the nodes like RS', async () => {
    const { status, json } = await callJson(s, { path: '/v1/nodes' });
    expect(status).toBe(200);
    expect(json).toHaveLength(3);
    expect((json as unknown[])[0]).toMatchObject({
      uid: 1,
      addr: '127.0.0.2',
      status: 'active',
      software_version: '7.4.2-54',
    });
    expect((json as Array<{ addr: string }>).map((n) => n.addr)).toEqual(nodeIps);
    expect(s.nodes.map((n) => n.uid)).toEqual([1, 2, 3]);
  });

  it('answers 404 JSON for anything else', async () => {
    const r = await callJson(s, { path: '/v1/license' });
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ error_code: 'not_found' });
    expect((await callJson(s, { method: 'POST', path: '/v1/cluster/certificates' })).status).toBe(404);
  });

  it('node listeners present the certificate but answer HTTP with 404', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      request(`https://127.0.0.3:${s.port}/v1/nodes`, { ca: s.caPem, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(404);
  });
});

describe('PUT /v1/cluster/update_cert', () => {
  it('updates CCS, every node and the served api certificate; logs the fingerprint, never the key', async () => {
    const s = await sim();
    const intermediate = await createCa({ issuer: s.ca, keyKind: 'ecdsa' });
    const next = await apiCert(s, { ca: intermediate, chain: [intermediate], keyKind: 'ecdsa' });
    const r = await putCert(s, 'api', next);
    expect(r).toEqual({ status: 200, json: {} });

    expect(s.certificate('api')).toEqual({
      certPem: next.chainPem,
      keyPem: next.keyPem,
      fingerprint256: next.fingerprint256,
    });
    expect(s.nodes.map((n) => n.certificates.api)).toEqual([
      next.fingerprint256,
      next.fingerprint256,
      next.fingerprint256,
    ]);
    expect(await servedFingerprint('127.0.0.1', s.port, s.caPem)).toBe(next.fingerprint256);
    for (const ip of nodeIps) expect(await servedFingerprint(ip, s.port, s.caPem)).toBe(next.fingerprint256);

    const get = (await callJson(s, { path: '/v1/cluster/certificates' })).json as Record<string, string>;
    expect(get.api_cert).toBe(next.chainPem);
    expect(get.api_key).toBe(next.keyPem);

    expect(s.requests[0]).toEqual({
      method: 'PUT',
      path: '/v1/cluster/update_cert',
      status: 200,
      authorized: true,
      putName: 'api',
      putFingerprint256: next.fingerprint256,
    });
    expect(JSON.stringify(s.requests)).not.toContain('PRIVATE KEY');
  });

  it('validates in RS order: 400 shape, 403 name, 400 certificate/key, 406 validity', async () => {
    const s = await sim({ nodeListeners: false });
    const good = await issueCert({ ca: s.ca, dnsNames: ['proxy.cluster.local'] });
    const other = await issueCert({ ca: s.ca, dnsNames: ['other.cluster.local'], keyKind: 'ecdsa' });
    const expired = await issueCert({
      ca: s.ca,
      dnsNames: ['proxy.cluster.local'],
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    const future = await issueCert({
      ca: s.ca,
      dnsNames: ['proxy.cluster.local'],
      notBefore: new Date(Date.now() + DAY),
      notAfter: new Date(Date.now() + 30 * DAY),
    });
    const put = (body: unknown) => callJson(s, { method: 'PUT', path: '/v1/cluster/update_cert', body });
    const before = s.certificate('proxy');

    const malformed = await callJson(s, {
      method: 'PUT',
      path: '/v1/cluster/update_cert',
      rawBody: '{"name":',
    });
    expect(malformed.status).toBe(400);
    expect((await put({ name: 'proxy', key: good.keyPem })).status).toBe(400);
    expect((await put(['proxy'])).status).toBe(400);

    // The name is checked before the certificate: garbage for an unknown name is still 403.
    expect(await put({ name: 'nope', key: 'x', certificate: 'garbage' })).toEqual({
      status: 403,
      json: expect.objectContaining({ error_code: 'unknown_certificate' }),
    });
    expect(await put({ name: 'proxy', key: good.keyPem, certificate: 'garbage' })).toEqual({
      status: 400,
      json: expect.objectContaining({ error_code: 'invalid_certificate' }),
    });
    const truncated = good.certPem.slice(0, 200);
    expect((await put({ name: 'proxy', key: good.keyPem, certificate: truncated })).status).toBe(400);
    expect((await put({ name: 'proxy', key: 'not a key', certificate: good.chainPem })).status).toBe(400);
    expect((await put({ name: 'proxy', key: other.keyPem, certificate: good.chainPem })).json).toMatchObject({
      error_code: 'invalid_certificate',
    });
    // Key mismatch is checked before validity.
    expect((await put({ name: 'proxy', key: other.keyPem, certificate: expired.chainPem })).status).toBe(400);
    for (const c of [expired, future]) {
      expect(await put({ name: 'proxy', key: c.keyPem, certificate: c.chainPem })).toEqual({
        status: 406,
        json: expect.objectContaining({ error_code: 'expired_certificate' }),
      });
    }
    expect(s.certificate('proxy')).toEqual(before);

    expect((await put({ name: 'proxy', key: good.keyPem, certificate: good.chainPem })).status).toBe(200);
    expect(s.certificate('proxy')?.fingerprint256).toBe(good.fingerprint256);
    expect(s.requests.filter((r) => r.putName === 'proxy').map((r) => r.status)).toEqual([
      400, 400, 400, 400, 400, 400, 406, 406, 200,
    ]);
    expect(s.requests.at(-1)?.putFingerprint256).toBe(good.fingerprint256);
  });
});

describe('faults', () => {
  let s: RsSimulator;
  beforeAll(async () => {
    s = await sim({ nodeListeners: false });
  });
  afterEach(() => {
    s.clearFaults();
    s.latencyMs = 0;
  });

  it('status: answers the given status once, matching method and path, FIFO', async () => {
    s.injectFault({ kind: 'status', status: 503, method: 'GET', path: '/v1/cluster/certificates' });
    s.injectFault({ kind: 'status', status: 500, body: { error_code: 'boom' }, times: 2 });
    // The first fault does not match /v1/nodes; the second does.
    expect(await callJson(s, { path: '/v1/nodes' })).toEqual({ status: 500, json: { error_code: 'boom' } });
    const first = await call(s, { path: '/v1/cluster/certificates' });
    expect(first.status).toBe(503);
    expect(first.text).not.toContain('PRIVATE KEY');
    expect((await call(s, { path: '/v1/cluster/certificates' })).status).toBe(500);
    expect((await call(s, { path: '/v1/cluster/certificates' })).status).toBe(200);
    expect(s.requests.slice(-4).map((r) => r.fault)).toEqual(['status', 'status', 'status', undefined]);
  });

  it('status faults on PUT change nothing', async () => {
    const next = await apiCert(s);
    const before = s.certificate('api');
    s.injectFault({ kind: 'status', status: 503, method: 'PUT' });
    expect((await putCert(s, 'api', next)).status).toBe(503);
    expect(s.certificate('api')).toEqual(before);
    expect(s.requests.at(-1)).toMatchObject({ putName: 'api', putFingerprint256: next.fingerprint256 });
  });

  it('reset: drops the connection without an answer', async () => {
    s.injectFault({ kind: 'reset' });
    await expect(call(s, { path: '/v1/nodes' })).rejects.toThrow();
    expect(s.requests.at(-1)).toMatchObject({ status: 0, fault: 'reset' });
    expect((await call(s, { path: '/v1/nodes' })).status).toBe(200);
  });

  it('hang: sends headers and part of the body, then nothing', async () => {
    s.injectFault({ kind: 'hang', times: Number.POSITIVE_INFINITY });
    await expect(call(s, { path: '/v1/cluster/certificates', timeoutMs: 300 })).rejects.toThrow(
      'client timeout',
    );
    expect(s.requests.at(-1)).toMatchObject({ status: 200, fault: 'hang' });
  });

  it('malformed-json: 200 with a truncated body', async () => {
    s.injectFault({ kind: 'malformed-json' });
    const r = await call(s, { path: '/v1/cluster/certificates' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.text.startsWith('{"api_cert":"-----BEGIN CERTIFICATE-----')).toBe(true);
    expect(() => JSON.parse(r.text)).toThrow();
  });

  it('delay and latencyMs postpone a normal answer', async () => {
    s.injectFault({ kind: 'delay', ms: 150 });
    let t0 = performance.now();
    expect((await call(s, { path: '/v1/nodes' })).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);

    s.latencyMs = 100;
    t0 = performance.now();
    expect((await call(s, { path: '/v1/nodes' })).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
  });

  it('rejects a non-positive times', () => {
    expect(() => s.injectFault({ kind: 'reset', times: 0 })).toThrow(RangeError);
  });
});

describe('partial update', () => {
  it('updates CCS and the first node only, answers 409, and a second PUT converges', async () => {
    const s = await sim();
    const old = s.certificate('api')?.fingerprint256;
    const next = await apiCert(s);
    s.injectFault({ kind: 'partial-update', method: 'PUT' });

    expect(await putCert(s, 'api', next)).toEqual({
      status: 409,
      json: { error_code: 'nodes_not_updated', description: 'Failed, not all nodes have been updated.' },
    });
    expect(s.requests.at(-1)).toMatchObject({ status: 409, fault: 'partial-update' });
    expect(s.certificate('api')?.fingerprint256).toBe(next.fingerprint256);
    expect(s.nodes.map((n) => n.certificates.api)).toEqual([next.fingerprint256, old, old]);
    expect(await servedFingerprint('127.0.0.1', s.port, s.caPem)).toBe(next.fingerprint256);
    expect(await servedFingerprint('127.0.0.2', s.port, s.caPem)).toBe(next.fingerprint256);
    expect(await servedFingerprint('127.0.0.3', s.port, s.caPem)).toBe(old);
    expect(await servedFingerprint('127.0.0.4', s.port, s.caPem)).toBe(old);

    expect((await putCert(s, 'api', next)).status).toBe(200);
    expect(s.nodes.map((n) => n.certificates.api)).toEqual([
      next.fingerprint256,
      next.fingerprint256,
      next.fingerprint256,
    ]);
    expect(await servedFingerprint('127.0.0.4', s.port, s.caPem)).toBe(next.fingerprint256);
  });

  it('is not consumed by a PUT that fails validation', async () => {
    const s = await sim({ nodeListeners: false });
    const next = await issueCert({ ca: s.ca, dnsNames: ['cm.cluster.local'] });
    s.injectFault({ kind: 'partial-update', updateNodes: 2 });
    expect((await putCert(s, 'nope', next)).status).toBe(403);
    expect((await putCert(s, 'cm', next)).status).toBe(409);
    expect(s.nodes.map((n) => n.certificates.cm === next.fingerprint256)).toEqual([true, true, false]);
  });
});

describe('DELETE /v1/cluster/certificates/{name}', () => {
  it('404 unknown, 403 required, 500 injected, 200 removes an optional certificate', async () => {
    const s = await sim({ nodeListeners: false });
    const del = (name: string) => callJson(s, { method: 'DELETE', path: `/v1/cluster/certificates/${name}` });
    expect((await del('nope')).status).toBe(404);
    for (const required of ['api', 'cm', 'proxy', 'syncer', 'metrics_exporter']) {
      expect((await del(required)).status).toBe(403);
    }
    s.injectFault({
      kind: 'status',
      status: 500,
      method: 'DELETE',
      path: '/v1/cluster/certificates/ldap_client',
    });
    expect((await del('ldap_client')).status).toBe(500);
    expect(s.certificate('ldap_client')).toBeDefined();

    expect(await del('ldap_client')).toEqual({ status: 200, json: {} });
    expect(s.certificate('ldap_client')).toBeUndefined();
    expect(s.nodes.every((n) => !('ldap_client' in n.certificates))).toBe(true);
    const get = (await callJson(s, { path: '/v1/cluster/certificates' })).json as Record<string, string>;
    expect(Object.keys(get)).not.toContain('ldap_client_cert');
    expect((await del('ldap_client')).status).toBe(404);
  });
});

describe('configuration', () => {
  it('setCertificateField corrupts only the GET answer; a PUT clears it', async () => {
    const s = await sim({ nodeListeners: false });
    const proxy = s.certificate('proxy');
    s.setCertificateField('proxy_cert', '-----BEGIN CERTIFICATE-----\nMIIB');
    s.setCertificateField('syncer_key', undefined);
    let get = (await callJson(s, { path: '/v1/cluster/certificates' })).json as Record<string, string>;
    expect(get.proxy_cert).toBe('-----BEGIN CERTIFICATE-----\nMIIB');
    expect('syncer_key' in get).toBe(false);
    expect(s.certificate('proxy')).toEqual(proxy);

    const next = await issueCert({ ca: s.ca, dnsNames: ['proxy.cluster.local'] });
    expect((await putCert(s, 'proxy', next)).status).toBe(200);
    get = (await callJson(s, { path: '/v1/cluster/certificates' })).json as Record<string, string>;
    expect(get.proxy_cert).toBe(next.chainPem);
  });

  it('opts.certificates replaces the set, with verbatim pairs, lifetimes and key kinds', async () => {
    const ownCa = await createCa({ commonName: 'Someone else' });
    const verbatim = await issueCert({ ca: ownCa, dnsNames: ['verbatim.example'] });
    const notAfter = new Date(Date.now() + 5 * DAY);
    const s = await sim({
      nodes: 1,
      certificates: {
        api: { notAfter, keyKind: 'ecdsa' },
        syncer: { certPem: verbatim.chainPem, keyPem: verbatim.keyPem },
      },
    });
    const get = (await callJson(s, { path: '/v1/cluster/certificates' })).json as Record<string, string>;
    expect(Object.keys(get)).toEqual(['api_cert', 'api_key', 'syncer_cert', 'syncer_key']);
    expect(get.syncer_cert).toBe(verbatim.chainPem);
    expect(get.api_key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const api = new X509Certificate(get.api_cert ?? '');
    expect(Math.abs(Date.parse(api.validTo) - notAfter.getTime())).toBeLessThan(1000);
    expect(await servedFingerprint('127.0.0.2', s.port, s.caPem)).toBe(api.fingerprint256);
  });

  it('servicePorts: nodes present their cm and proxy certificates', async () => {
    const s = await sim({ servicePorts: true });
    expect(s.cmPort).toBeGreaterThan(0);
    expect(s.proxyPort).toBeGreaterThan(0);
    for (const ip of nodeIps) {
      expect(await servedFingerprint(ip, s.cmPort ?? 0, s.caPem)).toBe(s.certificate('cm')?.fingerprint256);
      expect(await servedFingerprint(ip, s.proxyPort ?? 0, s.caPem)).toBe(
        s.certificate('proxy')?.fingerprint256,
      );
    }
    const next = await issueCert({ ca: s.ca, dnsNames: ['proxy.cluster.local'], ipAddresses: nodeIps });
    expect((await putCert(s, 'proxy', next)).status).toBe(200);
    expect(await servedFingerprint('127.0.0.3', s.proxyPort ?? 0, s.caPem)).toBe(next.fingerprint256);
  });

  it('concurrent simulators get distinct ports and their own CA by default', async () => {
    const [a, b, c] = await Promise.all([sim(), sim(), startRsSimulator({ nodes: 2 })]);
    if (!a || !b || !c) throw new Error('unreachable');
    sims.push(c);
    expect(new Set([a.port, b.port, c.port]).size).toBe(3);
    expect(c.caPem).not.toBe(ca.certPem);
    expect(await servedFingerprint('127.0.0.3', c.port, c.caPem)).toBe(c.certificate('api')?.fingerprint256);
  });
});

describe('close()', () => {
  it('destroys hung sockets, stops listening and is idempotent', async () => {
    const s = await startRsSimulator({ ca });
    s.injectFault({ kind: 'hang' });
    s.injectFault({ kind: 'delay', ms: 60_000 });
    // Settled into values at once: both reject while close() is awaited.
    const hung = call(s, { path: '/v1/cluster/certificates' }).catch((e: unknown) => e);
    const delayed = call(s, { path: '/v1/nodes' }).catch((e: unknown) => e);
    await expect.poll(() => s.requests.filter((r) => r.fault !== undefined).length).toBe(2);
    const t0 = performance.now();
    await Promise.all([s.close(), s.close()]);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await hung).toBeInstanceOf(Error);
    expect(await delayed).toBeInstanceOf(Error);
    await expect(call(s, { path: '/v1/nodes' })).rejects.toThrow(/ECONNREFUSED/);
    await expect(servedFingerprint('127.0.0.2', s.port, s.caPem)).rejects.toThrow(/ECONNREFUSED/);
  });
});

// ---- RS 7.22.2: software versions and the bulk certificates API ----------

const V74 = '7.4.6-22';
const V722 = '7.22.2-14';

interface BulkItem {
  name: string;
  cert: { chainPem: string; keyPem: string };
}

function bulkPut(s: RsSimulator, items: BulkItem[]) {
  return callJson(s, {
    method: 'PUT',
    path: '/v1/cluster/certificates',
    body: {
      certificates: items.map((i) => ({ name: i.name, certificate: i.cert.chainPem, key: i.cert.keyPem })),
    },
  });
}

function fingerprints(s: RsSimulator, name: string): Array<string | undefined> {
  return s.nodes.map((n) => n.certificates[name]);
}

describe('software version', () => {
  it('defaults to 7.4.2-54 on every node: no bulk API (404), update_cert works', async () => {
    const s = await sim({ nodeListeners: false });
    expect(s.nodes.map((n) => n.softwareVersion)).toEqual(['7.4.2-54', '7.4.2-54', '7.4.2-54']);
    expect(s.bulkCertificatesApi).toBe(false);
    const next = await issueCert({ ca: s.ca, dnsNames: ['proxy.cluster.local'] });
    const before = s.certificate('proxy');

    const r = await bulkPut(s, [{ name: 'proxy', cert: next }]);
    expect(r).toEqual({
      status: 404,
      json: { error_code: 'not_found', description: 'No handler for PUT /v1/cluster/certificates.' },
    });
    expect(s.certificate('proxy')).toEqual(before);
    // The attempt is recorded even though the route does not exist.
    expect(s.requests.at(-1)).toEqual({
      method: 'PUT',
      path: '/v1/cluster/certificates',
      status: 404,
      authorized: true,
      putCertificates: [{ name: 'proxy', fingerprint256: next.fingerprint256 }],
    });
    expect((await putCert(s, 'proxy', next)).status).toBe(200);
  });

  it('a mixed-version cluster (one node 7.4) has no bulk API until that node is upgraded', async () => {
    const s = await sim({ nodeListeners: false, softwareVersion: V722, nodeSoftwareVersions: { 2: V74 } });
    const { json } = await callJson(s, { path: '/v1/nodes' });
    expect((json as Array<{ software_version: string }>).map((n) => n.software_version)).toEqual([
      V722,
      V74,
      V722,
    ]);
    expect(
      ((await callJson(s, { path: '/v1/nodes/2' })).json as { software_version: string }).software_version,
    ).toBe(V74);
    expect(s.bulkCertificatesApi).toBe(false);
    const next = await issueCert({ ca: s.ca, dnsNames: ['syncer.cluster.local'] });
    expect((await bulkPut(s, [{ name: 'syncer', cert: next }])).status).toBe(404);
    // update_cert keeps working at every version (deprecated in 7.22.2, not removed).
    expect((await putCert(s, 'syncer', next)).status).toBe(200);

    s.setSoftwareVersion(V722, 2);
    expect(s.nodes.map((n) => n.softwareVersion)).toEqual([V722, V722, V722]);
    expect(s.bulkCertificatesApi).toBe(true);
    const again = await issueCert({ ca: s.ca, dnsNames: ['syncer.cluster.local'], keyKind: 'ecdsa' });
    expect(await bulkPut(s, [{ name: 'syncer', cert: again }])).toEqual({ status: 200, json: {} });
    expect((await putCert(s, 'syncer', next)).status).toBe(200);
    expect(
      s.requests.filter((r) => r.method === 'PUT').map((r) => [r.path.split('/').at(-1), r.status]),
    ).toEqual([
      ['certificates', 404],
      ['update_cert', 200],
      ['certificates', 200],
      ['update_cert', 200],
    ]);
  });

  it('compares major.minor.patch: 7.22.0 and garbage are too old, 7.22.2 and 8.0 are new enough', async () => {
    const s = await sim({ nodeListeners: false, nodes: 2 });
    for (const [version, bulk] of [
      ['7.22.0-28', false],
      ['7.8.6-13', false],
      ['unknown', false],
      ['7.22.2-14', true],
      ['7.22.10-1', true],
      ['8.0.2-17', true],
    ] as const) {
      s.setSoftwareVersion(version);
      expect([version, s.bulkCertificatesApi]).toEqual([version, bulk]);
    }
    expect(() => s.setSoftwareVersion(V722, 3)).toThrow(RangeError);
    await expect(startRsSimulator({ ca, nodes: 2, nodeSoftwareVersions: { 3: V74 } })).rejects.toThrow(
      RangeError,
    );
  });
});

describe('PUT /v1/cluster/certificates (7.22.2+)', () => {
  it('replaces every certificate of the request in CCS, on every node and on the listeners', async () => {
    const s = await sim({ softwareVersion: V722 });
    const api = await apiCert(s, { keyKind: 'ecdsa' });
    const proxy = await issueCert({ ca: s.ca, dnsNames: ['proxy.cluster.local'] });
    expect(
      await bulkPut(s, [
        { name: 'proxy', cert: proxy },
        { name: 'api', cert: api },
      ]),
    ).toEqual({ status: 200, json: {} });
    expect(s.certificate('api')?.fingerprint256).toBe(api.fingerprint256);
    expect(s.certificate('proxy')).toEqual({
      certPem: proxy.chainPem,
      keyPem: proxy.keyPem,
      fingerprint256: proxy.fingerprint256,
    });
    expect(fingerprints(s, 'api')).toEqual([api.fingerprint256, api.fingerprint256, api.fingerprint256]);
    expect(fingerprints(s, 'proxy')).toEqual([
      proxy.fingerprint256,
      proxy.fingerprint256,
      proxy.fingerprint256,
    ]);
    expect(await servedFingerprint('127.0.0.1', s.port, s.caPem)).toBe(api.fingerprint256);
    for (const ip of nodeIps) expect(await servedFingerprint(ip, s.port, s.caPem)).toBe(api.fingerprint256);

    expect(s.requests).toEqual([
      {
        method: 'PUT',
        path: '/v1/cluster/certificates',
        status: 200,
        authorized: true,
        putCertificates: [
          { name: 'proxy', fingerprint256: proxy.fingerprint256 },
          { name: 'api', fingerprint256: api.fingerprint256 },
        ],
      },
    ]);
    expect(JSON.stringify(s.requests)).not.toContain('PRIVATE KEY');
  });

  describe('validates every certificate before changing anything', () => {
    let s: RsSimulator;
    let good: IssuedCert;
    let other: IssuedCert;
    let expired: IssuedCert;
    let snapshot: () => unknown;
    beforeAll(async () => {
      s = await sim({ nodeListeners: false, softwareVersion: V722 });
      good = await issueCert({ ca: s.ca, dnsNames: ['proxy.cluster.local'] });
      other = await issueCert({ ca: s.ca, dnsNames: ['other.cluster.local'], keyKind: 'ecdsa' });
      expired = await issueCert({
        ca: s.ca,
        dnsNames: ['syncer.cluster.local'],
        notBefore: new Date(Date.now() - 30 * DAY),
        notAfter: new Date(Date.now() - DAY),
      });
      const initial = { ccs: ['proxy', 'syncer', 'cm'].map((n) => s.certificate(n)), nodes: s.nodes };
      snapshot = () => {
        expect({ ccs: ['proxy', 'syncer', 'cm'].map((n) => s.certificate(n)), nodes: s.nodes }).toEqual(
          initial,
        );
        return initial;
      };
    });
    afterEach(() => {
      snapshot();
    });

    it('400 when one of two certificates is invalid, naming only that one', async () => {
      const r = await bulkPut(s, [
        { name: 'proxy', cert: good },
        { name: 'cm', cert: { chainPem: good.chainPem, keyPem: other.keyPem } },
      ]);
      expect(r).toEqual({
        status: 400,
        json: {
          error_code: 'invalid_certificate',
          description: "Invalid certificate(s): 'cm': Private key does not match the certificate.",
        },
      });
      const garbage = await bulkPut(s, [
        { name: 'cm', cert: { chainPem: 'garbage', keyPem: good.keyPem } },
        { name: 'syncer', cert: { chainPem: good.chainPem, keyPem: 'not a key' } },
      ]);
      expect(garbage.status).toBe(400);
      expect((garbage.json as { description: string }).description).toBe(
        "Invalid certificate(s): 'cm': Certificate could not be parsed; 'syncer': Private key could not be parsed.",
      );
    });

    it('403 naming every unknown certificate, checked before the certificates themselves', async () => {
      const r = await bulkPut(s, [
        { name: 'proxy', cert: good },
        { name: 'nope', cert: { chainPem: 'garbage', keyPem: 'x' } },
        { name: 'nada', cert: good },
      ]);
      expect(r).toEqual({
        status: 403,
        json: { error_code: 'unknown_certificate', description: "Unknown certificate(s): 'nope', 'nada'." },
      });
    });

    it('406 naming the expired certificate; an invalid one elsewhere wins with 400', async () => {
      expect(
        await bulkPut(s, [
          { name: 'proxy', cert: good },
          { name: 'syncer', cert: expired },
        ]),
      ).toEqual({
        status: 406,
        json: {
          error_code: 'expired_certificate',
          description:
            "Expired or not yet valid certificate(s): 'syncer': Certificate is expired or not yet valid.",
        },
      });
      const both = await bulkPut(s, [
        { name: 'syncer', cert: expired },
        { name: 'cm', cert: { chainPem: good.chainPem, keyPem: other.keyPem } },
      ]);
      expect(both.status).toBe(400);
      expect((both.json as { description: string }).description).not.toContain('syncer');
    });

    it('400 for a malformed request: JSON, shape, missing fields, duplicate names', async () => {
      const raw = await callJson(s, { method: 'PUT', path: '/v1/cluster/certificates', rawBody: '{"certif' });
      expect(raw).toEqual({ status: 400, json: expect.objectContaining({ error_code: 'invalid_json' }) });
      for (const body of [{}, { certificates: [] }, { certificates: 'x' }, [], { certificates: [42] }]) {
        const r = await callJson(s, { method: 'PUT', path: '/v1/cluster/certificates', body });
        expect([r.status, (r.json as { error_code: string }).error_code]).toEqual([400, 'invalid_schema']);
      }
      const missing = await callJson(s, {
        method: 'PUT',
        path: '/v1/cluster/certificates',
        body: { certificates: [{ name: 'proxy', certificate: good.chainPem }] },
      });
      expect(missing).toEqual({
        status: 400,
        json: {
          error_code: 'invalid_schema',
          description: "Certificate 'proxy': fields must be strings: key.",
        },
      });
      const dup = await bulkPut(s, [
        { name: 'proxy', cert: good },
        { name: 'proxy', cert: good },
      ]);
      expect(dup).toEqual({
        status: 400,
        json: { error_code: 'invalid_schema', description: "Certificate(s) given more than once: 'proxy'." },
      });
    });
  });

  it('409 partial update: CCS and the first nodes get every new certificate, the rest none; a retry converges', async () => {
    const s = await sim({ softwareVersion: V722 });
    const oldApi = s.certificate('api')?.fingerprint256;
    const oldProxy = s.certificate('proxy')?.fingerprint256;
    const api = await apiCert(s);
    const proxy = await issueCert({ ca: s.ca, dnsNames: ['proxy.cluster.local'], keyKind: 'ecdsa' });
    const items = [
      { name: 'api', cert: api },
      { name: 'proxy', cert: proxy },
    ];
    s.injectFault({ kind: 'partial-update', path: '/v1/cluster/certificates', updateNodes: 2 });

    expect(await bulkPut(s, items)).toEqual({
      status: 409,
      json: { error_code: 'nodes_not_updated', description: 'Failed, not all nodes have been updated.' },
    });
    expect(s.requests.at(-1)).toMatchObject({ status: 409, fault: 'partial-update' });
    expect(s.certificate('api')?.fingerprint256).toBe(api.fingerprint256);
    expect(s.certificate('proxy')?.fingerprint256).toBe(proxy.fingerprint256);
    expect(fingerprints(s, 'api')).toEqual([api.fingerprint256, api.fingerprint256, oldApi]);
    expect(fingerprints(s, 'proxy')).toEqual([proxy.fingerprint256, proxy.fingerprint256, oldProxy]);
    expect(await servedFingerprint('127.0.0.3', s.port, s.caPem)).toBe(api.fingerprint256);
    expect(await servedFingerprint('127.0.0.4', s.port, s.caPem)).toBe(oldApi);

    expect((await bulkPut(s, items)).status).toBe(200);
    expect(fingerprints(s, 'api')).toEqual([api.fingerprint256, api.fingerprint256, api.fingerprint256]);
    expect(fingerprints(s, 'proxy')).toEqual([
      proxy.fingerprint256,
      proxy.fingerprint256,
      proxy.fingerprint256,
    ]);
    expect(await servedFingerprint('127.0.0.4', s.port, s.caPem)).toBe(api.fingerprint256);
  });

  it('injected statuses (400/403/405/406/409/500) change nothing and are recorded per route', async () => {
    const s = await sim({ nodeListeners: false, softwareVersion: V722 });
    const next = await issueCert({ ca: s.ca, dnsNames: ['proxy.cluster.local'] });
    const before = { ccs: s.certificate('proxy'), nodes: s.nodes };
    const statuses = [400, 403, 405, 406, 409, 500];
    for (const status of statuses) {
      s.injectFault({ kind: 'status', status, method: 'PUT', path: '/v1/cluster/certificates' });
      expect(await bulkPut(s, [{ name: 'proxy', cert: next }])).toEqual({
        status,
        json: { error_code: 'injected_fault', description: `Injected status ${status}.` },
      });
      expect({ ccs: s.certificate('proxy'), nodes: s.nodes }).toEqual(before);
    }
    // A status fault scoped to the bulk route leaves update_cert alone.
    s.injectFault({
      kind: 'status',
      status: 405,
      path: '/v1/cluster/certificates',
      times: Number.POSITIVE_INFINITY,
    });
    expect((await putCert(s, 'proxy', next)).status).toBe(200);
    expect((await bulkPut(s, [{ name: 'proxy', cert: next }])).status).toBe(405);

    const bulk = s.requests.filter((r) => r.method === 'PUT' && r.path === '/v1/cluster/certificates');
    expect(bulk.map((r) => [r.status, r.fault])).toEqual([...statuses, 405].map((st) => [st, 'status']));
    expect(bulk.every((r) => r.putCertificates?.[0]?.fingerprint256 === next.fingerprint256)).toBe(true);
    expect(s.requests.filter((r) => r.path === '/v1/cluster/update_cert')).toHaveLength(1);
  });

  it('answers 401 without credentials, like every route, and changes nothing', async () => {
    const s = await sim({ nodeListeners: false, softwareVersion: V722 });
    const next = await issueCert({ ca: s.ca, dnsNames: ['proxy.cluster.local'] });
    const before = s.certificate('proxy');
    const r = await call(s, {
      method: 'PUT',
      path: '/v1/cluster/certificates',
      body: { certificates: [{ name: 'proxy', certificate: next.chainPem, key: next.keyPem }] },
      auth: false,
    });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Basic realm="RS"');
    expect(s.certificate('proxy')).toEqual(before);
    expect(s.requests.at(-1)).toMatchObject({ status: 401, authorized: false });
  });
});

// ---- Active-Active databases ---------------------------------------------

const GUID_A = '1d7741cc-1110-4e2f-bc6c-935292783d24';
const GUID_B = '5b0d2e2a-6c1c-4f0a-9a57-7e0b7e64c0de';
const crdbList = [
  { guid: GUID_A, name: 'sessions', instances: [{ id: 1, cluster: { name: 'east.example.com' } }] },
  { guid: GUID_B, name: 'carts' },
];

interface TaskJson {
  id: string;
  crdb_guid: string;
  status: string;
  errors?: unknown[];
  started?: string;
  ended?: string;
}

async function forceUpdate(s: RsSimulator, guid: string, body: unknown = { force_update: true }) {
  return callJson(s, { method: 'POST', path: `/v1/crdbs/${guid}/updates`, body });
}

async function poll(s: RsSimulator, id: string): Promise<TaskJson> {
  const r = await callJson(s, { path: `/v1/crdb_tasks/${id}` });
  expect(r.status).toBe(200);
  return r.json as TaskJson;
}

describe('Active-Active (CRDB) routes', () => {
  it('GET /v1/crdbs lists the configured databases; setCrdbs replaces them; GET /v1/crdbs/{guid}', async () => {
    const s = await sim({ nodeListeners: false, crdbs: crdbList });
    expect(await callJson(s, { path: '/v1/crdbs' })).toEqual({ status: 200, json: crdbList });
    expect(await callJson(s, { path: `/v1/crdbs/${GUID_B}` })).toEqual({ status: 200, json: crdbList[1] });
    expect((await callJson(s, { path: '/v1/crdbs/nope' })).status).toBe(404);
    s.setCrdbs([]);
    expect(await callJson(s, { path: '/v1/crdbs' })).toEqual({ status: 200, json: [] });
    expect(s.crdbs).toEqual([]);
    const plain = await sim({ nodeListeners: false });
    expect(await callJson(plain, { path: '/v1/crdbs' })).toEqual({ status: 200, json: [] });
  });

  it('a forced update task goes queued → started → finished over the polls; 200, not 202', async () => {
    const s = await sim({ nodeListeners: false, crdbs: crdbList });
    const r = await forceUpdate(s, GUID_A);
    expect(r.status).toBe(200);
    const task = r.json as TaskJson;
    expect(task).toMatchObject({ crdb_guid: GUID_A, status: 'queued', operation: 'update_crdb' });
    expect(task.id).toMatch(/^[0-9a-f-]{36}$/);

    const started = await poll(s, task.id);
    expect(started).toMatchObject({ id: task.id, status: 'started' });
    expect(started.started).toBeDefined();
    const finished = await poll(s, task.id);
    expect(finished).toMatchObject({ status: 'finished', started: started.started });
    expect(finished.ended).toBeDefined();
    expect(finished.errors).toBeUndefined();
    expect((await poll(s, task.id)).status).toBe('finished');
    expect(s.crdbTask(task.id)).toEqual({ id: task.id, crdb_guid: GUID_A, status: 'finished', polls: 3 });

    expect(s.crdbUpdates).toEqual([
      {
        method: 'POST',
        path: `/v1/crdbs/${GUID_A}/updates`,
        status: 200,
        authorized: true,
        crdbGuid: GUID_A,
        forceUpdate: true,
        crdbTaskId: task.id,
      },
    ]);
  });

  it('the number of queued and started polls is configurable, per simulator and per GUID', async () => {
    const s = await sim({
      nodeListeners: false,
      crdbs: crdbList,
      crdbTask: { queuedPolls: 2, startedPolls: 2 },
    });
    const a = (await forceUpdate(s, GUID_A)).json as TaskJson;
    const seen = [];
    for (let i = 0; i < 5; i++) seen.push((await poll(s, a.id)).status);
    expect(seen).toEqual(['queued', 'queued', 'started', 'started', 'finished']);

    s.setCrdbTaskBehaviour(GUID_B, { queuedPolls: 0, startedPolls: 0 });
    const b = (await forceUpdate(s, GUID_B)).json as TaskJson;
    expect(b.status).toBe('queued');
    expect((await poll(s, b.id)).status).toBe('finished');
  });

  it('a GUID configured to fail ends its task in failed with errors', async () => {
    const s = await sim({ nodeListeners: false, crdbs: crdbList });
    const errors = [
      { cluster_name: 'west.example.com', error_code: 'peer_tls', description: 'TLS handshake failed' },
    ];
    s.setCrdbTaskBehaviour(GUID_B, { outcome: 'failed', errors });
    const b = (await forceUpdate(s, GUID_B)).json as TaskJson;
    expect((await poll(s, b.id)).status).toBe('started');
    const failed = await poll(s, b.id);
    expect(failed).toMatchObject({ id: b.id, crdb_guid: GUID_B, status: 'failed', errors });
    expect(s.crdbTask(b.id)).toMatchObject({ status: 'failed', errors });

    // Default errors name the GUID; the other GUID is unaffected.
    s.setCrdbTaskBehaviour(GUID_B, { outcome: 'failed', startedPolls: 0 });
    const again = (await forceUpdate(s, GUID_B)).json as TaskJson;
    expect(await poll(s, again.id)).toMatchObject({
      status: 'failed',
      errors: [{ error_code: 'crdb_update_failed', description: expect.stringContaining(GUID_B) }],
    });
    const a = (await forceUpdate(s, GUID_A)).json as TaskJson;
    await poll(s, a.id);
    expect((await poll(s, a.id)).status).toBe('finished');

    s.setCrdbTaskBehaviour(GUID_B, undefined);
    const healed = (await forceUpdate(s, GUID_B)).json as TaskJson;
    await poll(s, healed.id);
    expect((await poll(s, healed.id)).status).toBe('finished');
  });

  it('409 while a task of that GUID is running (recorded); other GUIDs and later updates are fine', async () => {
    const s = await sim({ nodeListeners: false, crdbs: crdbList });
    const first = (await forceUpdate(s, GUID_A)).json as TaskJson;
    const second = await forceUpdate(s, GUID_A);
    expect(second).toEqual({
      status: 409,
      json: {
        error_code: 'crdb_task_in_progress',
        description: `Active-Active database '${GUID_A}' has a task in progress: ${first.id}.`,
      },
    });
    expect((await forceUpdate(s, GUID_B)).status).toBe(200);
    expect((await poll(s, first.id)).status).toBe('started');
    expect((await forceUpdate(s, GUID_A)).status).toBe(409);
    expect((await poll(s, first.id)).status).toBe('finished');
    const third = await forceUpdate(s, GUID_A);
    expect(third.status).toBe(200);

    expect(s.crdbUpdates.map((r) => [r.crdbGuid, r.status, r.crdbTaskId])).toEqual([
      [GUID_A, 200, first.id],
      [GUID_A, 409, first.id],
      [GUID_B, 200, expect.any(String)],
      [GUID_A, 409, first.id],
      [GUID_A, 200, (third.json as TaskJson).id],
    ]);
    expect(s.crdbTasks.filter((t) => t.crdb_guid === GUID_A)).toHaveLength(2);
  });

  it('404 for an unknown GUID or task, 400 for a bad body; none creates a task', async () => {
    const s = await sim({ nodeListeners: false, crdbs: crdbList });
    expect(await forceUpdate(s, 'nope')).toEqual({
      status: 404,
      json: { error_code: 'crdb_not_found', description: "Unknown Active-Active database 'nope'." },
    });
    expect(await callJson(s, { path: '/v1/crdb_tasks/nope' })).toEqual({
      status: 404,
      json: { error_code: 'task_not_found', description: "Unknown CRDB task 'nope'." },
    });
    expect((await forceUpdate(s, GUID_A, { force_update: 'yes' })).status).toBe(400);
    expect((await forceUpdate(s, GUID_A, [true])).status).toBe(400);
    const raw = await callJson(s, { method: 'POST', path: `/v1/crdbs/${GUID_A}/updates`, rawBody: '{' });
    expect(raw.status).toBe(400);
    expect((await callJson(s, { method: 'GET', path: `/v1/crdbs/${GUID_A}/updates` })).status).toBe(404);
    expect(s.crdbTasks).toEqual([]);
    expect(s.crdbUpdates.map((r) => [r.crdbGuid, r.status])).toEqual([
      ['nope', 404],
      [GUID_A, 400],
      [GUID_A, 400],
      [GUID_A, 400],
    ]);
  });

  it('auth and faults work as on every route: 401 and injected statuses create no task, hang does not poll', async () => {
    const s = await sim({ nodeListeners: false, crdbs: crdbList });
    const denied = await call(s, {
      method: 'POST',
      path: `/v1/crdbs/${GUID_A}/updates`,
      body: { force_update: true },
      auth: false,
    });
    expect(denied.status).toBe(401);
    expect((await call(s, { path: '/v1/crdbs', auth: false })).status).toBe(401);
    s.injectFault({ kind: 'status', status: 500, method: 'POST' });
    expect((await forceUpdate(s, GUID_A)).status).toBe(500);
    expect(s.crdbTasks).toEqual([]);
    expect(s.crdbUpdates.map((r) => [r.status, r.authorized, r.fault, r.forceUpdate])).toEqual([
      [401, false, undefined, true],
      [500, true, 'status', true],
    ]);

    const task = (await forceUpdate(s, GUID_A)).json as TaskJson;
    s.injectFault({ kind: 'malformed-json', path: `/v1/crdb_tasks/${task.id}` });
    const cut = await call(s, { path: `/v1/crdb_tasks/${task.id}` });
    expect(cut.text.startsWith('{"id":')).toBe(true);
    expect(() => JSON.parse(cut.text)).toThrow();
    expect(s.crdbTask(task.id)?.polls).toBe(0);
    expect((await poll(s, task.id)).status).toBe('started');
  });
});

// ---- RS 8.x (rs8) ------------------------------------------------------------------------------

/** A request presenting a client certificate (and Basic only when `auth` is given). */
function callWithCertificate(
  s: RsSimulator,
  path: string,
  client: { certPem: string; keyPem: string } | undefined,
  auth?: { username: string; password: string },
): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (auth)
    headers.Authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const req = request(
      `${s.url}${path}`,
      { headers, ca: s.caPem, agent: false, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('RS 8.x: per-database certificates', () => {
  const databases = [
    { uid: 1, name: 'sessions', certificate: { notAfter: new Date(Date.now() + 5 * DAY) } },
    { uid: 2, name: 'carts', certificate: {} },
    { uid: 3, name: 'cache', certificate: null, listen: false },
    { uid: 4, name: 'queues', certificate: {}, tlsMode: 'disabled' as const, listen: false },
  ];

  it('lists every certificate, by page (from 1), with expires_before and tls_mode; never a key', async () => {
    const s = await sim({ nodeListeners: false, softwareVersion: '8.0.2-17', databases });
    const all = await callJson(s, { path: '/v1/bdbs/certificates' });
    expect(all.status).toBe(200);
    const items = all.json as Array<Record<string, string>>;
    expect(items.map((i) => i.bdb_uid)).toEqual(['1', '2', '4']);
    expect(Object.keys(items[0]!).sort()).toEqual(['bdb_uid', 'cert', 'not_after', 'not_before']);
    expect(JSON.stringify(all.json)).not.toContain('PRIVATE KEY');
    const page = (query: string) => callJson(s, { path: `/v1/bdbs/certificates?${query}` });
    expect(((await page('page=1&page_size=2')).json as unknown[]).length).toBe(2);
    expect(
      ((await page('page=2&page_size=2')).json as Array<{ bdb_uid: string }>).map((i) => i.bdb_uid),
    ).toEqual(['4']);
    expect((await page('page=3&page_size=2')).json).toEqual([]);
    const soon = new Date(Date.now() + 30 * DAY).toISOString();
    expect(
      ((await page(`expires_before=${soon}`)).json as Array<{ bdb_uid: string }>).map((i) => i.bdb_uid),
    ).toEqual(['1']);
    expect(
      ((await page('tls_mode=disabled')).json as Array<{ bdb_uid: string }>).map((i) => i.bdb_uid),
    ).toEqual(['4']);
    for (const bad of ['page=0', 'page_size=x', 'expires_before=tomorrow', 'tls_mode=maybe'])
      expect((await page(bad)).status, bad).toBe(400);
    expect(s.requests.at(-1)).toMatchObject({
      path: '/v1/bdbs/certificates',
      query: 'tls_mode=maybe',
      status: 400,
    });
  });

  it('answers 404 on a 7.x cluster (no such routes), and when opts turn them off', async () => {
    const old = await sim({ nodeListeners: false, databases });
    expect(old.databaseCertificatesApi).toBe(false);
    expect((await callJson(old, { path: '/v1/bdbs/certificates' })).status).toBe(404);
    expect((await callJson(old, { path: '/v1/bdbs/1/certificates' })).status).toBe(404);
    // GET /v1/bdbs exists on every version.
    expect((await callJson(old, { path: '/v1/bdbs?fields=uid,name' })).json).toEqual(
      databases.map((d) => ({ uid: d.uid, name: d.name })),
    );
    const off = await sim({
      nodeListeners: false,
      softwareVersion: '8.2.0-46',
      databaseCertificatesApi: false,
    });
    expect((await callJson(off, { path: '/v1/bdbs/certificates' })).status).toBe(404);
  });

  it('GET one, POST ?dry_run (validates, saves nothing), POST (saves and serves), DELETE', async () => {
    const s = await sim({ nodeListeners: false, softwareVersion: '8.0.2-17', databases });
    const endpoint = s.databaseEndpoint(2)!;
    expect(await servedFingerprint(endpoint.host, endpoint.port, s.caPem)).toBe(
      s.databaseCertificate(2)!.fingerprint256,
    );
    const bdb = (await callJson(s, { path: '/v1/bdbs/2' })).json as {
      endpoints: Array<Record<string, unknown>>;
    };
    expect(bdb.endpoints[0]).toMatchObject({
      dns_address: endpoint.dnsAddress,
      port: endpoint.port,
      addr: ['127.0.0.1'],
    });
    expect((await callJson(s, { path: '/v1/bdbs/3/certificates' })).status).toBe(404);
    expect((await callJson(s, { path: '/v1/bdbs/9/certificates' })).status).toBe(404);
    expect((await callJson(s, { path: '/v1/bdbs/9' })).status).toBe(404);

    const next = await issueCert({ ca: s.ca, dnsNames: [endpoint.dnsAddress], ipAddresses: ['127.0.0.1'] });
    const body = { cert: next.chainPem, private_key: next.keyPem };
    const dry = await callJson(s, { method: 'POST', path: '/v1/bdbs/2/certificates?dry_run=true', body });
    expect(dry).toMatchObject({ status: 200, json: { bdb_uid: '2' } });
    expect(s.databaseCertificate(2)!.fingerprint256).not.toBe(next.fingerprint256);
    expect(await callJson(s, { method: 'POST', path: '/v1/bdbs/2/certificates', body })).toMatchObject({
      status: 200,
    });
    expect(s.databaseCertificate(2)!.fingerprint256).toBe(next.fingerprint256);
    expect(await servedFingerprint(endpoint.host, endpoint.port, s.caPem)).toBe(next.fingerprint256);
    expect(
      s.requests.filter((r) => r.method === 'POST').map((r) => [r.query ?? '', r.postFingerprint256]),
    ).toEqual([
      ['dry_run=true', next.fingerprint256],
      ['', next.fingerprint256],
    ]);

    // A database without a certificate of its own is served the cluster's proxy certificate.
    expect((await callJson(s, { method: 'DELETE', path: '/v1/bdbs/2/certificates' })).status).toBe(200);
    expect(s.databaseCertificate(2)).toBeUndefined();
    expect(await servedFingerprint(endpoint.host, endpoint.port, s.caPem)).toBe(
      s.certificate('proxy')!.fingerprint256,
    );
    expect((await callJson(s, { method: 'DELETE', path: '/v1/bdbs/2/certificates' })).status).toBe(404);
  });

  it('POST refusals: 400 body or key, 404 database, 406 validity; injected 500 and hang per query', async () => {
    const s = await sim({ nodeListeners: false, softwareVersion: '8.0.2-17', databases });
    const good = await issueCert({ ca: s.ca, dnsNames: ['redis-10002.cluster.local'] });
    const other = await issueCert({ ca: s.ca, dnsNames: ['x.cluster.local'], freshKey: true });
    const expired = await issueCert({
      ca: s.ca,
      dnsNames: ['redis-10002.cluster.local'],
      notBefore: new Date(Date.now() - 9 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    const post = (uid: number, body: unknown, query = '') =>
      callJson(s, { method: 'POST', path: `/v1/bdbs/${uid}/certificates${query}`, body });
    expect((await post(2, { cert: good.chainPem })).status).toBe(400);
    expect((await post(2, { cert: good.chainPem, private_key: other.keyPem })).status).toBe(400);
    expect((await post(9, { cert: good.chainPem, private_key: good.keyPem })).status).toBe(404);
    expect((await post(2, { cert: expired.chainPem, private_key: expired.keyPem })).status).toBe(406);
    s.injectFault({
      kind: 'status',
      status: 500,
      method: 'POST',
      path: '/v1/bdbs/2/certificates',
      query: '',
    });
    expect((await post(2, { cert: good.chainPem, private_key: good.keyPem }, '?dry_run=true')).status).toBe(
      200,
    );
    expect((await post(2, { cert: good.chainPem, private_key: good.keyPem })).status).toBe(500);
    expect(s.databaseCertificate(2)!.fingerprint256).not.toBe(good.fingerprint256);
    s.injectFault({ kind: 'malformed-json', path: '/v1/bdbs/certificates' });
    const cut = await call(s, { path: '/v1/bdbs/certificates' });
    expect(() => JSON.parse(cut.text)).toThrow();
  });
});

describe('RS 8.x: internode, keyless certificates and the 8.2 cipher check', () => {
  it('internode certificates need an RSA key and clientAuth (400), from 7.22.2 on', async () => {
    const s = await sim({ nodeListeners: false, softwareVersion: '7.22.2-79' });
    const put = (name: string, cert: IssuedCert) =>
      callJson(s, {
        method: 'PUT',
        path: '/v1/cluster/certificates',
        body: { certificates: [{ name, certificate: cert.chainPem, key: cert.keyPem }] },
      });
    const ecdsa = await issueCert({ ca: s.ca, dnsNames: ['node.cluster.local'], keyKind: 'ecdsa' });
    const serverOnly = await issueCert({
      ca: s.ca,
      dnsNames: ['node.cluster.local'],
      extKeyUsage: ['serverAuth'],
    });
    const good = await issueCert({ ca: s.ca, dnsNames: ['node.cluster.local'] });
    const ec = await put('data_internode_encryption', ecdsa);
    expect(ec).toMatchObject({
      status: 400,
      json: { description: expect.stringMatching(/must use an RSA key/) },
    });
    const eku = await put('ccs_internode_encryption', serverOnly);
    expect(eku).toMatchObject({ status: 400, json: { description: expect.stringMatching(/clientAuth/) } });
    expect((await put('ccs_internode_encryption', good)).status).toBe(200);
    expect(s.certificate('ccs_internode_encryption')!.fingerprint256).toBe(good.fingerprint256);
  });

  it('mtls_trusted_ca comes without a key, and is uploaded without one', async () => {
    const trusted = await createCa({ commonName: 'Client CA' });
    const s = await sim({
      nodeListeners: false,
      softwareVersion: '8.0.6-12',
      certificates: { api: {}, proxy: {}, mtls_trusted_ca: { certPem: trusted.certPem, keyless: true } },
    });
    const body = (await callJson(s, { path: '/v1/cluster/certificates' })).json as Record<string, string>;
    expect(body.mtls_trusted_ca_cert).toBe(trusted.certPem);
    expect(body).not.toHaveProperty('mtls_trusted_ca_key');
    const next = await createCa({ commonName: 'Client CA 2' });
    const put = await callJson(s, {
      method: 'PUT',
      path: '/v1/cluster/certificates',
      body: { certificates: [{ name: 'mtls_trusted_ca', certificate: next.certPem }] },
    });
    expect(put.status).toBe(200);
    expect(s.certificate('mtls_trusted_ca')).toMatchObject({ certPem: next.certPem, keyPem: '' });
  });

  it('8.2 refuses a key the configured cipher suites cannot use (ECDSA with RSA-only suites)', async () => {
    const s = await sim({
      nodeListeners: false,
      softwareVersion: '8.2.0-46',
      cipherSuites: { control: 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256' },
    });
    const ecdsa = await apiCert(s, { keyKind: 'ecdsa' });
    const refused = await callJson(s, {
      method: 'PUT',
      path: '/v1/cluster/certificates',
      body: { certificates: [{ name: 'api', certificate: ecdsa.chainPem, key: ecdsa.keyPem }] },
    });
    expect(refused).toMatchObject({
      status: 400,
      json: {
        error_code: 'cipher_suites_mismatch',
        description: expect.stringMatching(/'api'.*cipher suites/),
      },
    });
    const rsa = await apiCert(s);
    expect(
      (
        await callJson(s, {
          method: 'PUT',
          path: '/v1/cluster/certificates',
          body: { certificates: [{ name: 'api', certificate: rsa.chainPem, key: rsa.keyPem }] },
        })
      ).status,
    ).toBe(200);
    // Before 8.2 nothing is checked against the suites.
    s.setSoftwareVersion('8.0.20-96');
    expect(
      (
        await callJson(s, {
          method: 'PUT',
          path: '/v1/cluster/certificates',
          body: { certificates: [{ name: 'api', certificate: ecdsa.chainPem, key: ecdsa.keyPem }] },
        })
      ).status,
    ).toBe(200);
  });
});

describe('RS 8.x: certificate login and Basic authentication turned off', () => {
  it('a certificate of a certificate user logs in without Basic; Basic off (8.2) is a 401 that says so', async () => {
    const clientCa = await createCa({ commonName: 'Watchdog client CA' });
    // DER order (O, OU, CN): RS's certificate_subject_line is its RFC 2253 form, CN first.
    const subject: Array<Record<string, string[]>> = [
      { O: ['Example'] },
      { OU: ['ops'] },
      { CN: ['rs-cert-watchdog'] },
    ];
    const client = await issueCert({ ca: clientCa, dnsNames: [], subject, extKeyUsage: ['clientAuth'] });
    const stranger = await issueCert({
      ca: clientCa,
      dnsNames: [],
      subject: [{ CN: ['someone'] }],
      extKeyUsage: ['clientAuth'],
    });
    const s = await sim({
      nodeListeners: false,
      softwareVersion: '8.2.0-46',
      certificates: { api: {}, proxy: {}, mtls_trusted_ca: { certPem: clientCa.certPem, keyless: true } },
      certificateAuthentication: {
        users: ['O=Example,OU=ops,CN=rs-cert-watchdog'.split(',').reverse().join(',')],
      },
    });
    const basic = { username: s.username, password: s.password };
    expect((await callWithCertificate(s, '/v1/nodes', client)).status).toBe(200);
    expect(s.requests.at(-1)).toMatchObject({
      authorized: true,
      authMethod: 'certificate',
      clientCertificate: client.fingerprint256,
    });
    expect((await callWithCertificate(s, '/v1/nodes', stranger)).status).toBe(401);
    expect((await callWithCertificate(s, '/v1/nodes', undefined, basic)).status).toBe(200);

    s.setBasicAuthentication(false);
    const off = await callWithCertificate(s, '/v1/nodes', undefined, basic);
    expect(off).toMatchObject({ status: 401, json: { error_code: 'basic_authentication_disabled' } });
    expect((await callWithCertificate(s, '/v1/nodes', client, basic)).status).toBe(200);
  });

  it('refuses an expired certificate, one without clientAuth, and one from another CA', async () => {
    const clientCa = await createCa({ commonName: 'Watchdog client CA' });
    const otherCa = await createCa({ commonName: 'Someone else' });
    const subject = [{ CN: ['rs-cert-watchdog'] }];
    const s = await sim({
      nodeListeners: false,
      certificates: { api: {}, mtls_trusted_ca: { certPem: clientCa.certPem, keyless: true } },
      certificateAuthentication: { users: ['CN=rs-cert-watchdog'] },
    });
    const cases = [
      await issueCert({
        ca: clientCa,
        dnsNames: [],
        subject,
        notBefore: new Date(Date.now() - 9 * DAY),
        notAfter: new Date(Date.now() - DAY),
      }),
      await issueCert({ ca: clientCa, dnsNames: [], subject, extKeyUsage: ['serverAuth'] }),
      await issueCert({ ca: otherCa, dnsNames: [], subject }),
    ];
    for (const client of cases) expect((await callWithCertificate(s, '/v1/nodes', client)).status).toBe(401);
    // Basic cannot be turned off before RS 8.2.
    s.setBasicAuthentication(false);
    expect(
      (await callWithCertificate(s, '/v1/nodes', undefined, { username: s.username, password: s.password }))
        .status,
    ).toBe(200);
  });
});
