/**
 * RS 8.x, piece by piece: the configuration rules (databases, internode, keyless, clientCertificate),
 * the RS client's mapping of every status of the per-database routes and of a 401, the client
 * certificate where it lives (files written atomically and recovered; a Secrets Manager secret
 * written as a new version), and a cluster answer that names the watchdog's own rows.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  pendingCertificatePath,
  readClientCertificateFiles,
  writeClientCertificateFiles,
} from '../../lambdas/adapters/config-file/client-certificate';
import { connectCluster, RsTransport } from '../../lambdas/adapters/rs-https';
import { SecretsManagerCredentialsProvider } from '../../lambdas/adapters/secrets-manager/credentials';
import { checkCluster } from '../../lambdas/domain/check';
import { checkConfig, formatPath } from '../../lambdas/domain/config/schema';
import type { ClusterConfig } from '../../lambdas/domain/config/types';
import type { ClusterTransport, HttpMethod, RawResponse } from '../../lambdas/domain/ports';
import { RsClient } from '../../lambdas/domain/rs/client';
import { startRsSimulator } from '../sim/rs-simulator';
import { createCa, type IssuedCert, issueCert } from '../support/pki';
import { keyBody } from '../support/world';

const cluster = {
  name: 'prod-east',
  endpoint: 'https://cluster.example.com:9443',
  username: 'admin@example.com',
  passwordEnv: 'RS_PASSWORD',
};
const issues = (document: unknown): string[] => {
  const checked = checkConfig(document);
  return checked.ok ? [] : checked.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
};
const lab = { type: 'local-ca', certFile: 'ca.pem', keyFile: 'ca.key', validityDays: 90 };

describe('configuration (RS 8.x)', () => {
  it('databases are listed by uid, renewed like certificates', () => {
    expect(
      issues({
        clusters: [{ ...cluster, databases: { '12': { domains: ['a.example.com'], issuer: lab } } }],
      }),
    ).toEqual([]);
    expect(
      issues({ clusters: [{ ...cluster, databases: { abc: { domains: ['a.example.com'] } } }] }),
    ).toEqual([expect.stringMatching(/database uids are positive integers/)]);
    expect(
      issues({ clusters: [{ ...cluster, databases: { '12': { domains: ['a.example.com'] } } }] }),
    ).toEqual(['(root): acme, dns: required when a cluster lists certificates renewed through ACME']);
  });

  it('clientCertificate: username and password become optional; exactly one key source', () => {
    const client = { certFile: 'client.pem', keyFile: 'client.key' };
    const { username: _u, passwordEnv: _p, ...bare } = cluster;
    expect(issues({ clusters: [{ ...bare, clientCertificate: client }] })).toEqual([]);
    expect(issues({ clusters: [bare] })).toEqual([
      expect.stringMatching(
        /clusters\[0\]\.password: set exactly one of .* \(or log in with "clientCertificate"\)/,
      ),
      'clusters[0].username: is required unless credentialsSecret or clientCertificate is set',
    ]);
    expect(issues({ clusters: [{ ...bare, passwordEnv: 'X', clientCertificate: client }] })).toEqual([
      'clusters[0].username: is required unless credentialsSecret is set (password and passwordEnv need it)',
    ]);
    expect(
      issues({ clusters: [{ ...bare, clientCertificate: { ...client, keySecret: 'rs/client-key' } }] }),
    ).toEqual([
      expect.stringMatching(/clientCertificate\.keyFile: set exactly one of "keyFile" or "keySecret"/),
    ]);
    expect(issues({ clusters: [{ ...bare, clientCertificate: { ...client, issuer: 'acme' } }] })).toEqual([
      expect.stringMatching(/clientCertificate\.issuer: /),
    ]);
  });

  it('keyless certificates and "client" are never managed', () => {
    const listed = (name: string) => ({
      clusters: [{ ...cluster, certificates: { [name]: { domains: ['a.example.com'], issuer: lab } } }],
    });
    expect(issues(listed('mtls_trusted_ca'))).toEqual([
      expect.stringMatching(
        /^clusters\[0\]\.certificates\.mtls_trusted_ca: mtls_trusted_ca comes without a key/,
      ),
    ]);
    expect(issues(listed('sso_issuer'))).toEqual([expect.stringMatching(/sso_issuer comes without a key/)]);
    expect(issues(listed('client'))).toEqual([
      expect.stringMatching(/configure it under "clientCertificate"/),
    ]);
  });

  it('internode certificates: a private CA, an RSA key, a renewal point beyond 5 days plus the longest gap', () => {
    const internode = (settings: object, extra: object = {}) => ({
      ...extra,
      clusters: [
        {
          ...cluster,
          certificates: { ccs_internode_encryption: { domains: ['n.example.com'], ...settings } },
        },
      ],
    });
    const acme = {
      acme: { email: 'ops@example.com', keyType: 'ecdsa-p256' },
      dns: { provider: 'httpreq', endpoint: 'http://127.0.0.1:9' },
    };
    expect(issues(internode({ issuer: lab }))).toEqual([]);
    expect(issues(internode({}, acme))).toEqual([
      expect.stringMatching(/certificates\.ccs_internode_encryption\.issuer: .*needs a private CA/),
    ]);
    // The key type defaults to acme.keyType: the message says so.
    expect(issues(internode({ issuer: lab }, acme))).toEqual([
      expect.stringMatching(/keyType: .*must have an RSA key.*\(acme\.keyType is the default\)/),
    ]);
    // 12 days renew 4 days before expiry (two thirds): not enough even for daily runs.
    expect(issues(internode({ issuer: { ...lab, validityDays: 12 } }))).toEqual([
      expect.stringMatching(
        /validityDays: .*renews 4 days before it expires.*more than 6 days before expiry/,
      ),
    ]);
    // 18 days renew exactly 6 days before: not "more than"; 19 days do.
    expect(issues(internode({ issuer: { ...lab, validityDays: 18 } }))).toHaveLength(1);
    expect(issues(internode({ issuer: { ...lab, validityDays: 19 } }))).toEqual([]);
    expect(
      issues(internode({ issuer: { ...lab, validityDays: 19 } }, { aws: { schedule: 'rate(2 days)' } })),
    ).toEqual([
      expect.stringMatching(/runs can be 48 hours apart: the renewal point must be more than 7 days/),
    ]);
  });
});

/** A transport answering from a list of (method, path) → response, recording what it was sent. */
function fakeTransport(
  answer: (method: HttpMethod, path: string) => RawResponse,
): ClusterTransport & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    send: async (method, path) => {
      sent.push(`${method} ${path}`);
      return answer(method, path);
    },
    close: () => undefined,
  };
}
const json = (status: number, body: unknown): RawResponse => ({ status, body: JSON.stringify(body) });
const item = (uid: number, cert: unknown = 'PEM') => ({
  bdb_uid: String(uid),
  cert,
  not_before: null,
  not_after: null,
});

describe('RS client: per-database routes', () => {
  it('reads every page until a short one; 404 on the first page means no such API', async () => {
    const transport = fakeTransport((_m, path) => {
      const page = Number(/page=(\d+)/.exec(path)?.[1]);
      return json(200, page < 3 ? [item(page * 2 - 1), item(page * 2)] : [item(9, 42)]);
    });
    const list = await new RsClient('c', transport).listDatabaseCertificates({ pageSize: 2 });
    expect(list?.map((c) => c.bdbUid)).toEqual(['1', '2', '3', '4', '9']);
    expect(list?.[4]).toMatchObject({ certificatePem: undefined, field: 42 });
    expect(transport.sent).toEqual([1, 2, 3].map((p) => `GET /v1/bdbs/certificates?page=${p}&page_size=2`));
    expect(
      await new RsClient(
        'c',
        fakeTransport(() => json(404, {})),
      ).listDatabaseCertificates(),
    ).toBeNull();
  });

  it('refuses a server that ignores paging, one without end, and items without a uid', async () => {
    const same = new RsClient(
      'c',
      fakeTransport(() => json(200, [item(1), item(2)])),
    );
    await expect(same.listDatabaseCertificates({ pageSize: 2 })).rejects.toMatchObject({
      name: 'BadResponseError',
      message: expect.stringMatching(/listed database 1 again: the cluster does not page as asked/),
    });
    let n = 0;
    const endless = new RsClient(
      'c',
      fakeTransport(() => json(200, [item(++n), item(++n)])),
    );
    await expect(endless.listDatabaseCertificates({ pageSize: 2, maxPages: 3 })).rejects.toMatchObject({
      name: 'BadResponseError',
      message: expect.stringMatching(/more than 3 pages/),
    });
    const broken = new RsClient(
      'c',
      fakeTransport(() => json(200, [{ cert: 'PEM' }])),
    );
    await expect(broken.listDatabaseCertificates()).rejects.toMatchObject({ name: 'BadResponseError' });
  });

  it.each([
    ['GET', 400, 'UnexpectedStatusError', /refused the request's parameters/],
    ['GET', 403, 'PermissionDeniedError', /view_all_bdbs_info/],
    ['GET', 500, 'ClusterServerError', /next run/],
    ['POST', 400, 'InvalidCertificateError', /kept in the state store/],
    ['POST', 403, 'PermissionDeniedError', /update_bdb/],
    ['POST', 404, 'DatabaseNotFoundError', /GET \/v1\/bdbs/],
    ['POST', 406, 'ExpiredCertificateError', /clocks/],
    ['POST', 500, 'ClusterServerError', /next run/],
    ['POST', 409, 'UnexpectedStatusError', /RS REST API/],
  ] as const)('%s %d is %s', async (method, status, name, hint) => {
    const client = new RsClient(
      'c',
      fakeTransport(() => json(status, { error_code: 'x', description: 'y' })),
    );
    const call =
      method === 'GET'
        ? client.listDatabaseCertificates()
        : client.uploadDatabaseCertificate('12', { certificate: 'C', key: 'K' }, { dryRun: false });
    await expect(call).rejects.toMatchObject({ name, hint: expect.stringMatching(hint) });
  });

  it('a refusal naming the cipher suites is CipherSuiteMismatchError, on PUT and POST, naming keyType', async () => {
    const cipher = json(400, {
      error_code: 'cipher_suites_mismatch',
      description: "'api': does not match the configured cipher suites",
    });
    const put = new RsClient(
      'c',
      fakeTransport(() => cipher),
    ).updateCertificates([{ name: 'api', key: 'K', certificate: 'C' }]);
    await expect(put).rejects.toMatchObject({
      name: 'CipherSuiteMismatchError',
      hint: expect.stringMatching(/"keyType" of api/),
    });
    const post = new RsClient(
      'c',
      fakeTransport(() => cipher),
    ).uploadDatabaseCertificate('7', { certificate: 'C', key: 'K' }, { dryRun: true });
    await expect(post).rejects.toMatchObject({
      name: 'CipherSuiteMismatchError',
      message: expect.stringMatching(/"keyType" of bdb:7/),
    });
  });

  it('DELETE: 200 true, 404 false (it had none)', async () => {
    expect(
      await new RsClient(
        'c',
        fakeTransport(() => json(200, {})),
      ).deleteDatabaseCertificate('3'),
    ).toBe(true);
    expect(
      await new RsClient(
        'c',
        fakeTransport(() => json(404, {})),
      ).deleteDatabaseCertificate('3'),
    ).toBe(false);
  });
});

describe('RS client: what a 401 means', () => {
  const off = json(401, {
    error_code: 'basic_authentication_disabled',
    description: 'Basic authentication is disabled',
  });
  const plain = json(401, { error_code: 'unauthorized', description: 'Authentication required.' });
  it.each([
    [{ basic: true, certificate: false }, off, 'BasicAuthDisabledError', /configure "clientCertificate"/],
    [{ basic: true, certificate: false }, plain, 'AuthenticationError', /log in with "clientCertificate"/],
    [{ basic: false, certificate: true }, plain, 'ClientCertificateRefusedError', /mtls_trusted_ca/],
    [{ basic: true, certificate: true }, plain, 'AuthenticationError', /clientCertificate/],
  ] as const)('%j %j is %s', async (authentication, answer, name, hint) => {
    const client = new RsClient(
      'c',
      fakeTransport(() => answer),
      authentication,
    );
    await expect(client.getCertificates()).rejects.toMatchObject({
      name,
      status: 401,
      hint: expect.stringMatching(hint),
    });
  });
});

describe('the client certificate where it lives', () => {
  let dir: string;
  let first: IssuedCert;
  let second: IssuedCert;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rs8-client-'));
    const ca = await createCa();
    const subject = [{ CN: ['rs-cert-watchdog'] }];
    first = await issueCert({ ca, dnsNames: [], subject, extKeyUsage: ['clientAuth'], freshKey: true });
    second = await issueCert({ ca, dnsNames: [], subject, extKeyUsage: ['clientAuth'], freshKey: true });
  });
  const files = (name: string) => ({ certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) });

  it('files: written with the key 0600 and the certificate keeping its mode; a write cut short is finished on read', async () => {
    const config = files('a');
    await writeFile(config.certFile, first.chainPem, { mode: 0o644 });
    await writeFile(config.keyFile, first.keyPem, { mode: 0o600 });
    expect(readClientCertificateFiles(config, 'c').keyPem).toBe(first.keyPem);
    const where = await writeClientCertificateFiles(config, {
      certificatePem: second.chainPem,
      keyPem: second.keyPem,
    });
    expect(where).toMatch(/a\.pem and .*a\.key \(key 0600\)/);
    expect((await stat(config.keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(config.certFile)).mode & 0o777).toBe(0o644);
    expect(readClientCertificateFiles(config, 'c')).toEqual({
      certificatePem: second.chainPem,
      keyPem: second.keyPem,
    });

    // A crash between the key's rename and the certificate's: the new key, the old certificate, and
    // the new certificate waiting beside it. The next read finishes the write.
    await writeFile(config.certFile, first.chainPem);
    await writeFile(pendingCertificatePath(config.certFile), second.chainPem);
    expect(readClientCertificateFiles(config, 'c').certificatePem).toBe(second.chainPem);
    expect(await readFile(config.certFile, 'utf8')).toBe(second.chainPem);
    // Without it, a mismatch is a configuration error that quotes neither file.
    await writeFile(config.certFile, first.chainPem);
    const error = (() => {
      try {
        readClientCertificateFiles(config, 'clusters[0].clientCertificate');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toMatchObject({
      name: 'ConfigError',
      message: expect.stringMatching(/does not belong to the certificate/),
    });
    expect(error?.message).not.toContain(keyBody(second.keyPem));
  });

  it('one combined file is written in one atomic write', async () => {
    const path = join(dir, 'combined.pem');
    await writeFile(path, `${first.keyPem}${first.chainPem}`, { mode: 0o600 });
    const config = { certFile: path, keyFile: path };
    await writeClientCertificateFiles(config, { certificatePem: second.chainPem, keyPem: second.keyPem });
    expect(readClientCertificateFiles(config, 'c')).toEqual({
      certificatePem: second.chainPem,
      keyPem: second.keyPem,
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  describe('Secrets Manager (AWS mode)', () => {
    const secrets = mockClient(SecretsManagerClient);
    afterEach(() => secrets.reset());
    const withSecret = (certFile: string): ClusterConfig =>
      ({
        ...cluster,
        passwordEnv: undefined,
        username: undefined,
        certificates: {},
        probe: {},
        databases: {},
        clientCertificate: { certFile, keySecret: 'rs/prod-east/client-key' },
      }) as unknown as ClusterConfig;

    it('reads the key (the certificate from certFile), writes key and chain as one new version, reads it next', async () => {
      const certFile = join(dir, 'bundled.pem');
      await writeFile(certFile, first.chainPem);
      let value = first.keyPem;
      secrets.on(GetSecretValueCommand).callsFake(async () => ({ SecretString: value }));
      secrets.on(PutSecretValueCommand).callsFake(async (input: { SecretString: string }) => {
        value = input.SecretString;
        return {};
      });
      const provider = new SecretsManagerCredentialsProvider(new SecretsManagerClient({}));
      const config = withSecret(certFile);
      expect(await provider.resolve(config)).toEqual({
        username: '',
        password: '',
        caPem: undefined,
        clientCertificate: { certificatePem: first.chainPem, keyPem: first.keyPem },
      });
      const where = await provider.writeClientCertificate(config, {
        certificatePem: second.chainPem,
        keyPem: second.keyPem,
      });
      expect(where).toBe('a new version of secret rs/prod-east/client-key');
      const put = secrets.commandCalls(PutSecretValueCommand)[0]!.args[0].input;
      expect(put).toMatchObject({
        SecretId: 'rs/prod-east/client-key',
        SecretString: `${second.keyPem}${second.chainPem}`,
      });
      expect(put.ClientRequestToken).toMatch(/^[0-9a-f]{64}$/);
      // The same pair again is the same version (a retried push).
      await provider.writeClientCertificate(config, {
        certificatePem: second.chainPem,
        keyPem: second.keyPem,
      });
      expect(secrets.commandCalls(PutSecretValueCommand)[1]!.args[0].input.ClientRequestToken).toBe(
        put.ClientRequestToken,
      );
      expect((await provider.resolve(config)).clientCertificate).toEqual({
        certificatePem: second.chainPem,
        keyPem: second.keyPem,
      });
      expect(new X509Certificate(second.certPem).fingerprint256).toBe(second.fingerprint256);
    });

    it('a key that does not belong to the certificate is ClientCertificateStoreError, never quoted', async () => {
      const certFile = join(dir, 'bundled-mismatch.pem');
      await writeFile(certFile, first.chainPem);
      secrets
        .on(GetSecretValueCommand, { SecretId: 'rs/prod-east/client-key' })
        .resolves({ SecretString: second.keyPem });
      const error = await new SecretsManagerCredentialsProvider(new SecretsManagerClient({}))
        .resolve(withSecret(certFile))
        .catch((e: Error) => e);
      expect(error).toMatchObject({
        name: 'ClientCertificateStoreError',
        message: expect.stringMatching(/does not belong/),
      });
      expect((error as Error).message).not.toContain(keyBody(second.keyPem));
    });
  });
});

describe("a cluster answer naming the watchdog's own rows", () => {
  it('is that cluster\'s BadResponseError (RS names no certificate "client" or "bdb:…")', async () => {
    const sim = await startRsSimulator({ nodeListeners: false });
    try {
      sim.setCertificateField('client_cert', sim.certificate('api')!.certPem);
      const config = {
        ...cluster,
        endpoint: sim.url,
        username: sim.username,
        password: sim.password,
        passwordEnv: undefined,
        certificates: {},
        probe: {},
        databases: {},
        timeoutSeconds: 5,
        pushApi: 'auto',
        activeActive: 'alert',
      } as unknown as ClusterConfig;
      const report = await checkCluster({ renewBeforeDays: 30 }, config, {
        credentials: {
          resolve: async () => ({ username: sim.username, password: sim.password, caPem: sim.caPem }),
        },
        connect: connectCluster,
      });
      expect(report.error).toMatchObject({
        name: 'BadResponseError',
        message: expect.stringMatching(/named "client"/),
      });
    } finally {
      await sim.close();
    }
  });
});

describe('the transport presents the client certificate', () => {
  it('a TLS alert about it (the server refused it in the handshake) is ClientCertificateRefusedError', async () => {
    // openssl s_server as the server: it answers a client certificate it cannot verify with a TLS
    // alert (unknown CA), as a TLS terminator in front of an API does (Node's server just hangs up).
    const { spawn } = await import('node:child_process');
    const { createServer, connect } = await import('node:net');
    const dir = await mkdtemp(join(tmpdir(), 'rs8-alert-'));
    const serverCa = await createCa({ commonName: 'server CA' });
    const server = await issueCert({ ca: serverCa, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const trustedClients = await createCa({ commonName: 'trusted clients' });
    const stranger = await issueCert({
      ca: await createCa({ commonName: 'stranger' }),
      dnsNames: [],
      extKeyUsage: ['clientAuth'],
    });
    await writeFile(join(dir, 'server.pem'), server.chainPem);
    await writeFile(join(dir, 'server.key'), server.keyPem);
    await writeFile(join(dir, 'clients.pem'), trustedClients.certPem);
    // TLS 1.3 (the alert arrives after the client's handshake) and TLS 1.2 (during it).
    for (const version of ['-tls1_3', '-tls1_2']) {
      const port = await new Promise<number>((resolve) => {
        const probe = createServer().listen(0, '127.0.0.1', () => {
          const { port: free } = probe.address() as { port: number };
          probe.close(() => resolve(free));
        });
      });
      const opensslServer = spawn(
        'openssl',
        ['s_server', version, '-accept', `127.0.0.1:${port}`, '-cert', join(dir, 'server.pem')]
          .concat(['-key', join(dir, 'server.key'), '-Verify', '1', '-verify_return_error'])
          .concat(['-CAfile', join(dir, 'clients.pem'), '-www', '-quiet']),
        { stdio: 'ignore' },
      );
      try {
        for (let ready = false; !ready; ) {
          ready = await new Promise<boolean>((resolve) => {
            const socket = connect(port, '127.0.0.1', () => {
              socket.destroy();
              resolve(true);
            });
            socket.on('error', () => setTimeout(() => resolve(false), 50));
          });
        }
        const transport = new RsTransport({
          cluster: 'c',
          baseUrl: new URL(`https://127.0.0.1:${port}`),
          username: '',
          password: '',
          clientCertificate: { certificatePem: stranger.chainPem, keyPem: stranger.keyPem },
          extraCa: [serverCa.certPem],
          connectTimeoutMs: 5_000,
          requestTimeoutMs: 5_000,
          getRetries: 0,
          retryBackoff: { baseMs: 1, rate: 1, maxMs: 1 },
        });
        try {
          await expect(transport.send('GET', '/v1/nodes'), version).rejects.toMatchObject({
            name: 'ClientCertificateRefusedError',
            message: expect.stringMatching(/refused the client certificate during the TLS handshake/),
            hint: expect.stringMatching(/mtls_trusted_ca/),
          });
        } finally {
          transport.close();
        }
      } finally {
        opensslServer.kill();
      }
    }
  });

  it("a key that is not the certificate's is ClientCertificateStoreError before any connection", async () => {
    const ca = await createCa();
    const a = await issueCert({ ca, dnsNames: ['a.example.com'], freshKey: true });
    const b = await issueCert({ ca, dnsNames: ['b.example.com'], freshKey: true });
    let error: unknown;
    try {
      connectCluster({
        cluster: 'c',
        endpoint: 'https://127.0.0.1:9',
        username: '',
        password: '',
        clientCertificate: { certificatePem: a.chainPem, keyPem: b.keyPem },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: 'ClientCertificateStoreError' });
    expect((error as Error).message).not.toContain(keyBody(b.keyPem));
  });
});

describe('the check function reads the client key through the Parameters and Secrets extension', () => {
  it('with the certificate from the bundled certFile, no SDK', async () => {
    const { createServer } = await import('node:http');
    const { SecretsExtensionCredentialsProvider } = await import('../../lambdas/adapters/secrets-extension');
    const dir = await mkdtemp(join(tmpdir(), 'rs8-extension-'));
    const ca = await createCa();
    const client = await issueCert({
      ca,
      dnsNames: [],
      subject: [{ CN: ['rs-cert-watchdog'] }],
      freshKey: true,
    });
    await writeFile(join(dir, 'client.pem'), client.chainPem);
    const asked: string[] = [];
    const server = createServer((req, res) => {
      asked.push(decodeURIComponent(req.url ?? ''));
      const id = new URL(req.url ?? '', 'http://x').searchParams.get('secretId');
      res.end(
        JSON.stringify({
          SecretString: id === 'rs/prod-east' ? JSON.stringify({ caPem: ca.certPem }) : client.keyPem,
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const provider = new SecretsExtensionCredentialsProvider({ port, sessionToken: 'tok' });
      const config = {
        ...cluster,
        username: undefined,
        passwordEnv: undefined,
        credentialsSecret: 'rs/prod-east',
        clientCertificate: { certFile: join(dir, 'client.pem'), keySecret: 'rs/prod-east/client-key' },
      } as unknown as ClusterConfig;
      expect(await provider.resolve(config)).toEqual({
        username: '',
        password: '',
        caPem: ca.certPem,
        clientCertificate: { certificatePem: client.chainPem, keyPem: client.keyPem },
      });
      expect(asked).toEqual([
        '/secretsmanager/get?secretId=rs/prod-east',
        '/secretsmanager/get?secretId=rs/prod-east/client-key',
      ]);
    } finally {
      server.close();
    }
  });
});
