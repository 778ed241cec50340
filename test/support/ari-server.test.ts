import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { promisify } from 'node:util';
import acme from 'acme-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadX509 } from '../../lambdas/adapters/local-ca/x509';
import {
  ACME_ERROR,
  type AriServer,
  ariCertId,
  ariCertIdParts,
  certIdFrom,
  DEFAULT_PROFILES,
  startAriServer,
} from './ari-server';
import { type PebbleEnv, startPebble } from './pebble';

const execFileAsync = promisify(execFile);
const ecKey = await acme.crypto.createPrivateEcdsaKey();

/** acme-client 5.4's createOrder passes extra payload fields through; its types only lack them. */
type OrderRequest = Parameters<acme.Client['createOrder']>[0] & Record<string, unknown>;
type RenewalInfoBody = {
  suggestedWindow: { start: string; end: string };
  explanationURL?: string;
  /** Problem documents. */
  type?: string;
};
type OrderWithExtras = acme.Order & { profile?: string; replaces?: string };
const createOrder = (c: acme.Client, data: OrderRequest): Promise<OrderWithExtras> => c.createOrder(data);

// The worked example of RFC 9773 / Let's Encrypt's integration guide.
const EXAMPLE_AKI = '69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4';
const EXAMPLE_CERT_ID = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE';

/** A self-signed certificate built by the openssl CLI (independent of every JS library here). */
async function opensslCert(serialHex: string, ski: string): Promise<string> {
  const { stdout } = await execFileAsync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    '/dev/null',
    '-subj',
    '/CN=ari certID fixture',
    '-days',
    '1',
    '-set_serial',
    `0x${serialHex}`,
    '-addext',
    `subjectKeyIdentifier=${ski}`,
    // Self-signed: the AKI keyIdentifier is its own SKI, i.e. `ski`.
    '-addext',
    'authorityKeyIdentifier=keyid:always',
  ]);
  return stdout;
}

describe('ariCertId (test oracle)', () => {
  it('matches the worked example from raw bytes', () => {
    const aki = Buffer.from(EXAMPLE_AKI.replace(/:/g, ''), 'hex');
    expect(certIdFrom(aki, Buffer.from('0087654321', 'hex'))).toBe(EXAMPLE_CERT_ID);
  });

  it('matches the worked example from a real certificate (serial top bit set: 0x00 kept)', async () => {
    const pem = await opensslCert('87654321', EXAMPLE_AKI);
    expect(new X509Certificate(pem).serialNumber).toBe('87654321');
    expect(ariCertId(pem)).toBe(EXAMPLE_CERT_ID);
    expect(ariCertId(new X509Certificate(pem))).toBe(EXAMPLE_CERT_ID);
    expect(ariCertId(new X509Certificate(pem).raw)).toBe(EXAMPLE_CERT_ID);
    expect(ariCertIdParts(pem).serial.toString('hex')).toBe('0087654321');
  });

  it('keeps a serial with the top bit clear as is', async () => {
    const pem = await opensslCert('1234', EXAMPLE_AKI);
    expect(ariCertId(pem)).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.EjQ');
  });
});

describe('ARI server in front of Pebble', () => {
  let pebble: PebbleEnv;
  let ari: AriServer;
  let agent: https.Agent | undefined;
  let client: acme.Client;
  const savedAgent = acme.axios.defaults.httpsAgent;

  beforeAll(async () => {
    pebble = await startPebble();
    ari = await startAriServer(pebble);
    // Pebble's own TLS CA is trusted only for the one direct-to-Pebble test below.
    agent = new https.Agent({
      keepAlive: true,
      secureContext: tls.createSecureContext({ ca: [ari.tlsCaPem, pebble.tlsCaPem] }),
    });
    acme.axios.defaults.httpsAgent = agent;
    client = newClient(ari.directoryUrl);
    await client.createAccount({ termsOfServiceAgreed: true });
  });

  afterAll(async () => {
    acme.axios.defaults.httpsAgent = savedAgent;
    agent?.destroy();
    await ari?.close();
    await pebble?.stop();
  });

  beforeEach(() => ari.reset());

  function newClient(directoryUrl: string, accountKey = ecKey): acme.Client {
    return new acme.Client({
      directoryUrl,
      accountKey,
      backoffAttempts: 20,
      backoffMin: 20,
      backoffMax: 500,
    });
  }

  /** One DNS-01 order end to end; `extra` goes into the newOrder payload. */
  async function issue(names: string[], extra: Record<string, unknown> = {}): Promise<string> {
    let order = await createOrder(client, {
      identifiers: names.map((value) => ({ type: 'dns', value })),
      ...extra,
    });
    const authzs = await client.getAuthorizations(order);
    for (const authz of authzs) {
      if (authz.status === 'valid') continue;
      const challenge = authz.challenges.find((c) => c.type === 'dns-01');
      if (!challenge) throw new Error(`no dns-01 challenge for ${authz.identifier.value}`);
      await pebble.dns.setTxt(
        `_acme-challenge.${authz.identifier.value}.`,
        await client.getChallengeKeyAuthorization(challenge),
      );
      await client.completeChallenge(challenge);
      await client.waitForValidStatus(challenge);
    }
    const [, csr] = await acme.crypto.createCsr(
      { commonName: names[0], altNames: names },
      await acme.crypto.createPrivateEcdsaKey(),
    );
    order = await client.finalizeOrder(order, csr);
    order = await client.waitForValidStatus(order);
    const chain = await client.getCertificate(order);
    return acme.crypto.splitPemChain(chain)[0] ?? '';
  }

  it('adds renewalInfo and meta.profiles to the directory', async () => {
    const { data } = await acme.axios.get<Record<string, unknown>>(ari.directoryUrl);
    expect(data.renewalInfo).toBe(`${ari.origin}/renewal-info`);
    expect(data.renewalInfo).toBe(ari.renewalInfoUrl);
    expect((data.meta as Record<string, unknown>).profiles).toEqual(DEFAULT_PROFILES);
    // Pebble's own fields survive, and its URLs point back at the proxy (Host passed through).
    expect((data.meta as Record<string, unknown>).termsOfService).toMatch(/^data:/);
    expect(data.newOrder).toBe(`${ari.origin}/order-plz`);

    // acme-client's own directory handling sees the same (internal API, no typings).
    const http = (client as unknown as { http: { getResourceUrl(r: string): Promise<string> } }).http;
    expect(await http.getResourceUrl('renewalInfo')).toBe(ari.renewalInfoUrl);

    ari.setProfiles(null);
    const { data: bare } = await acme.axios.get<Record<string, unknown>>(ari.directoryUrl);
    expect((bare.meta as Record<string, unknown>).profiles).toBeUndefined();
  });

  it('records replaces and profile of a real order, which Pebble 2.4 issues', async () => {
    const names = ['ari.example.com', 'www.ari.example.com'];
    const leafPem = await issue(names, { replaces: EXAMPLE_CERT_ID, profile: 'tlsserver' });
    expect(new X509Certificate(leafPem).subjectAltName).toBe('DNS:ari.example.com, DNS:www.ari.example.com');

    expect(ari.newOrders).toHaveLength(1);
    const [rec] = ari.newOrders;
    expect(rec?.status).toBe(201);
    expect(rec?.payload).toEqual({
      identifiers: names.map((value) => ({ type: 'dns', value })),
      replaces: EXAMPLE_CERT_ID,
      profile: 'tlsserver',
    });
    expect(rec?.protectedHeader.url).toBe(`${ari.origin}/order-plz`);
    expect(rec?.orderUrl).toMatch(new RegExp(`^${ari.origin}/my-order/`));
    // Pebble does not echo them; the proxy does, on the order object wherever it is returned.
    const order: OrderWithExtras = await client.getOrder({ url: rec?.orderUrl ?? '' } as acme.Order);
    expect(order).toMatchObject({ status: 'valid', profile: 'tlsserver', replaces: EXAMPLE_CERT_ID });
    // Everything went through the proxy.
    expect(ari.hits.some((h) => h.path.startsWith('/finalize-order/') && h.status === 200)).toBe(true);

    // The oracle agrees with @peculiar/x509 and node's serialNumber on a Pebble certificate.
    const certId = ariCertId(leafPem);
    const { AuthorityKeyIdentifierExtension, X509Certificate: PeculiarX509 } = await loadX509();
    const peculiar = new PeculiarX509(leafPem);
    const akiHex = peculiar.getExtension(AuthorityKeyIdentifierExtension)?.keyId ?? '';
    const serialHex = new X509Certificate(leafPem).serialNumber.toLowerCase().padStart(2, '0');
    const serialDer = (Number.parseInt(serialHex.slice(0, 2), 16) >= 0x80 ? '00' : '') + serialHex;
    expect(certId).toBe(certIdFrom(Buffer.from(akiHex, 'hex'), Buffer.from(serialDer, 'hex')));
  });

  it('answers renewalInfo per certID with Retry-After, a default window, and injected errors', async () => {
    // Plain HTTPS, not acme.axios: acme-client's axios follows Retry-After on 5xx by itself.
    const get = (certId: string, method = 'GET') =>
      new Promise<{ status: number; headers: IncomingHttpHeaders; data: RenewalInfoBody }>(
        (resolve, reject) => {
          const req = https.request(`${ari.renewalInfoUrl}/${certId}`, { method, agent }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                data: JSON.parse(Buffer.concat(chunks).toString('utf8')) as RenewalInfoBody,
              }),
            );
          });
          req.on('error', reject);
          req.end();
        },
      );
    const start = new Date('2026-01-01T00:00:00Z');
    const end = new Date('2026-01-02T00:00:00Z');
    ari.setWindow(EXAMPLE_CERT_ID, { start, end, explanationURL: 'https://example.com/why' });
    ari.setWindow('AQ.Ag', { start: start.toISOString(), end: end.toISOString(), retryAfterSeconds: 60 });

    let res = await get(EXAMPLE_CERT_ID);
    expect(res.status).toBe(200);
    expect(res.data).toEqual({
      suggestedWindow: { start: '2026-01-01T00:00:00.000Z', end: '2026-01-02T00:00:00.000Z' },
      explanationURL: 'https://example.com/why',
    });
    expect(res.headers['retry-after']).toBe('21600');
    res = await get('AQ.Ag');
    expect(res.headers['retry-after']).toBe('60');
    expect(res.data.explanationURL).toBeUndefined();

    // Default window for a certID with none set: not yet due.
    res = await get('AA.AA');
    expect(res.status).toBe(200);
    expect(Date.parse(res.data.suggestedWindow.start)).toBeGreaterThan(Date.now() + 29 * 86_400_000);

    // Injected failures: once for one certID, then always for all; null default = unknown certID 404.
    ari.failRenewalInfo({ status: 500, certId: EXAMPLE_CERT_ID, times: 1, retryAfterSeconds: 5 });
    res = await get(EXAMPLE_CERT_ID);
    expect(res.status).toBe(500);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.data.type).toBe(ACME_ERROR.serverInternal);
    expect((await get(EXAMPLE_CERT_ID)).status).toBe(200);
    ari.setDefaultWindow(null);
    expect((await get('AA.AA')).status).toBe(404);
    ari.failRenewalInfo({ status: 503 });
    expect((await get(EXAMPLE_CERT_ID)).status).toBe(503);

    // A padded or otherwise malformed certID is refused (a client bug the test should see).
    ari.reset();
    expect((await get(`${EXAMPLE_CERT_ID}=`)).status).toBe(400);
    expect((await get(EXAMPLE_CERT_ID, 'POST')).status).toBe(405);

    expect(ari.renewalInfoRequests.map((r) => [r.certId, r.method, r.status])).toEqual([
      [`${EXAMPLE_CERT_ID}=`, 'GET', 400],
      [EXAMPLE_CERT_ID, 'POST', 405],
    ]);
  });

  it('refuses replaces with alreadyReplaced (once, always) and the client can go on without it', async () => {
    const identifiers = [{ type: 'dns', value: 'replaced.example.com' }];
    ari.rejectReplaces(1);
    await expect(createOrder(client, { identifiers, replaces: EXAMPLE_CERT_ID })).rejects.toThrow(
      'already has a replacement order',
    );
    // The retry without replaces goes through on the same client (the refusal carried a fresh nonce).
    const order = await client.createOrder({ identifiers });
    expect(order.status).toBe('pending');
    // Once only: the next order with replaces passes.
    await createOrder(client, { identifiers, replaces: EXAMPLE_CERT_ID });

    ari.rejectReplaces('always');
    for (let i = 0; i < 2; i++) {
      await expect(createOrder(client, { identifiers, replaces: EXAMPLE_CERT_ID })).rejects.toThrow(
        'already has a replacement order',
      );
    }
    expect(ari.newOrders.map((o) => [o.payload.replaces ?? null, o.status, o.problemType ?? null])).toEqual([
      [EXAMPLE_CERT_ID, 409, ACME_ERROR.alreadyReplaced],
      [null, 201, null],
      [EXAMPLE_CERT_ID, 201, null],
      [EXAMPLE_CERT_ID, 409, ACME_ERROR.alreadyReplaced],
      [EXAMPLE_CERT_ID, 409, ACME_ERROR.alreadyReplaced],
    ]);
    // The refusals never reached Pebble.
    expect(ari.hits.filter((h) => h.path === '/order-plz').map((h) => h.status)).toEqual([
      409, 201, 201, 409, 409,
    ]);
  });

  it('refuses a profile the directory does not offer with invalidProfile', async () => {
    const identifiers = [{ type: 'dns', value: 'profile.example.com' }];
    await expect(createOrder(client, { identifiers, profile: 'tlsclient' })).rejects.toThrow(
      'profile "tlsclient" is not offered',
    );
    const order = await createOrder(client, { identifiers, profile: 'shortlived' });
    expect(order.profile).toBe('shortlived');
    expect(ari.newOrders.map((o) => [o.status, o.problemType ?? null])).toEqual([
      [400, ACME_ERROR.invalidProfile],
      [201, null],
    ]);
  });

  it('Pebble 2.4 itself ignores unknown newOrder fields (so orders are forwarded as signed)', async () => {
    const direct = newClient(pebble.directoryUrl, await acme.crypto.createPrivateEcdsaKey());
    await direct.createAccount({ termsOfServiceAgreed: true });
    const order = await createOrder(direct, {
      identifiers: [{ type: 'dns', value: 'direct.example.com' }],
      replaces: EXAMPLE_CERT_ID,
      profile: 'nonesuch',
      somethingElse: 1,
    });
    expect(order.status).toBe('pending');
    expect(order).not.toHaveProperty('profile');
    expect(order).not.toHaveProperty('replaces');
  });
});
