import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ACMPCAClient,
  GetCertificateAuthorityCertificateCommand,
  GetCertificateCommand,
  IssueCertificateCommand,
  RequestInProgressException,
} from '@aws-sdk/client-acm-pca';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsPrivateCaIssuer, PASSTHROUGH_TEMPLATE_ARN } from '../../lambdas/adapters/aws-private-ca';
import { LocalCaIssuer } from '../../lambdas/adapters/local-ca';
import {
  describeLeaf,
  EKU_CLIENT_AUTH,
  EKU_SERVER_AUTH,
  keyMatchesLeaf,
  parseCertificateChain,
  parsePrivateKey,
} from '../../lambdas/domain/certificate';
import { LocalCaFileError, PrivateCaError } from '../../lambdas/domain/errors';
import { createCa, issueCert, type TestCa } from '../support/pki';

const CA_ARN =
  'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/11111111-2222-3333-4444-555555555555';
const CERT_ARN = `${CA_ARN}/certificate/abcdef`;
const DAY = 86_400_000;

describe('AwsPrivateCaIssuer', () => {
  const pca = mockPca();
  let root: TestCa;
  let issuing: TestCa;
  const sleeps: number[] = [];
  const issuer = (extra: Partial<ConstructorParameters<typeof AwsPrivateCaIssuer>[0]['config']> = {}) =>
    new AwsPrivateCaIssuer({
      config: { type: 'aws-private-ca', certificateAuthorityArn: CA_ARN, validityDays: 30, ...extra },
      client: new ACMPCAClient({ region: 'eu-west-1' }),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      now: () => new Date('2026-06-01T00:00:00Z'),
    });

  beforeAll(async () => {
    root = await createCa({ commonName: 'PCA test root' });
    issuing = await createCa({ commonName: 'PCA test issuing CA', issuer: root });
  });
  beforeEach(() => {
    pca.reset();
    sleeps.length = 0;
    pca.on(sdk(GetCertificateAuthorityCertificateCommand)).resolves({
      Certificate: issuing.certPem,
      CertificateChain: root.certPem,
    });
  });

  it('asks for serverAuth and clientAuth through the API passthrough, waits until issued, and returns leaf + CA chain', async () => {
    const leaf = await issueCert({ ca: issuing, dnsNames: ['syncer.example.com'] });
    pca.on(sdk(IssueCertificateCommand)).resolves({ CertificateArn: CERT_ARN });
    pca
      .on(sdk(GetCertificateCommand))
      .rejectsOnce(new RequestInProgressException({ message: 'not yet', $metadata: {} }))
      .rejectsOnce(new RequestInProgressException({ message: 'not yet', $metadata: {} }))
      .resolves({ Certificate: leaf.certPem, CertificateChain: issuing.certPem });

    const pair = await issuer().issue(['syncer.example.com', 'syncer2.example.com'], 'ecdsa-p256');

    const input = pca.commandCalls(sdk(IssueCertificateCommand))[0]!.args[0].input;
    expect(input).toMatchObject({
      CertificateAuthorityArn: CA_ARN,
      TemplateArn: PASSTHROUGH_TEMPLATE_ARN,
      Validity: { Type: 'DAYS', Value: 30 },
      ApiPassthrough: {
        Extensions: {
          ExtendedKeyUsage: [
            { ExtendedKeyUsageType: 'SERVER_AUTH' },
            { ExtendedKeyUsageType: 'CLIENT_AUTH' },
          ],
          SubjectAlternativeNames: [{ DnsName: 'syncer.example.com' }, { DnsName: 'syncer2.example.com' }],
        },
      },
    });
    // The CSR carries the new key, whose private half stays here.
    const csrPem = Buffer.from(input.Csr as Uint8Array).toString('utf8');
    expect(csrPem).toMatch(/BEGIN CERTIFICATE REQUEST/);
    expect(pair.keyPem).toMatch(/BEGIN PRIVATE KEY/);
    expect(sleeps).toHaveLength(2);
    expect(pca.commandCalls(sdk(GetCertificateCommand))).toHaveLength(3);
    const chain = parseCertificateChain(pair.certificatePem);
    expect(chain.map((c) => c.subject)).toEqual([
      new X509Certificate(leaf.certPem).subject,
      new X509Certificate(issuing.certPem).subject,
      new X509Certificate(root.certPem).subject,
    ]);
  });

  it("uses the operator's template as given (no passthrough), and a fraction of a day as an absolute end", async () => {
    const leaf = await issueCert({ ca: issuing, dnsNames: ['ldap.example.com'] });
    pca.on(sdk(IssueCertificateCommand)).resolves({ CertificateArn: CERT_ARN });
    pca.on(sdk(GetCertificateCommand)).resolves({ Certificate: leaf.certPem });
    const templateArn = 'arn:aws:acm-pca:::template/EndEntityClientAuthCertificate/V1';
    await issuer({ templateArn, validityDays: 0.25 }).issue(['ldap.example.com'], 'rsa-2048');
    const input = pca.commandCalls(sdk(IssueCertificateCommand))[0]!.args[0].input;
    expect(input.TemplateArn).toBe(templateArn);
    expect(input.ApiPassthrough).toBeUndefined();
    expect(input.Validity).toEqual({
      Type: 'ABSOLUTE',
      Value: Date.parse('2026-06-01T06:00:00Z') / 1000,
    });
  });

  it('gives up after a bounded wait when the CA never finishes', async () => {
    pca.on(sdk(IssueCertificateCommand)).resolves({ CertificateArn: CERT_ARN });
    pca
      .on(sdk(GetCertificateCommand))
      .rejects(new RequestInProgressException({ message: 'not yet', $metadata: {} }));
    await expect(issuer().issue(['a.example.com'], 'ecdsa-p256')).rejects.toThrow(
      /had not issued .*certificate\/abcdef/,
    );
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(60_000);
    expect(sleeps.length).toBeGreaterThan(3);
  });

  it('names the IAM grants when access is denied', async () => {
    pca
      .on(sdk(IssueCertificateCommand))
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const error = await issuer()
      .issue(['a.example.com'], 'ecdsa-p256')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrivateCaError);
    expect((error as PrivateCaError).hint).toContain('acm-pca:IssueCertificate');
    expect((error as PrivateCaError).hint).toContain(CA_ARN);
  });
});

describe('LocalCaIssuer (@peculiar/x509)', () => {
  let dir: string;
  let rsaCa: TestCa;
  let ecCa: TestCa;
  const now = () => new Date();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-ca-'));
    rsaCa = await createCa({ commonName: 'Lab RSA CA', keyKind: 'rsa' });
    ecCa = await createCa({ commonName: 'Lab EC CA', keyKind: 'ecdsa' });
    await writeFile(join(dir, 'rsa-ca.pem'), rsaCa.certPem);
    await writeFile(join(dir, 'rsa-ca.key'), rsaCa.keyPem);
    await writeFile(join(dir, 'ec-ca.pem'), ecCa.certPem);
    await writeFile(join(dir, 'ec-ca.key'), ecCa.keyPem);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const local = (name: 'rsa' | 'ec', validityDays = 30, keyFile = `${name}-ca.key`) =>
    new LocalCaIssuer({
      config: {
        type: 'local-ca',
        certFile: join(dir, `${name}-ca.pem`),
        keyFile: join(dir, keyFile),
        validityDays,
      },
      readFile: (path) => readFile(path, 'utf8'),
      now,
    });

  it.each([
    ['rsa', 'rsa-2048'],
    ['ec', 'ecdsa-p256'],
    ['rsa', 'ecdsa-p256'],
    ['ec', 'rsa-2048'],
  ] as const)(
    'a %s CA signs a %s certificate with serverAuth + clientAuth that chains to it',
    async (ca, keyType) => {
      const pair = await local(ca, 6).issue(['syncer.example.com', '*.example.com'], keyType);
      const chain = parseCertificateChain(pair.certificatePem);
      const details = describeLeaf(chain);
      const caCert = new X509Certificate(ca === 'rsa' ? rsaCa.certPem : ecCa.certPem);
      expect(details.extKeyUsage).toEqual(expect.arrayContaining([EKU_SERVER_AUTH, EKU_CLIENT_AUTH]));
      expect(details.dnsNames).toEqual(['syncer.example.com', '*.example.com']);
      expect(chain[0]!.verify(caCert.publicKey)).toBe(true);
      expect(chain[0]!.checkIssued(caCert)).toBe(true);
      expect(chain[1]!.fingerprint256).toBe(caCert.fingerprint256);
      expect(keyMatchesLeaf(chain[0]!, parsePrivateKey(pair.keyPem))).toBe(true);
      expect(pair.keyPem).toMatch(keyType === 'rsa-2048' ? /BEGIN RSA PRIVATE KEY/ : /BEGIN PRIVATE KEY/);
      const lifetime = details.notAfter.getTime() - details.notBefore.getTime();
      expect(Math.abs(lifetime - 6 * DAY - 5 * 60_000)).toBeLessThan(2_000);
      expect(chain[0]!.ca).toBe(false);
    },
  );

  it('refuses a validity that outlives the CA', async () => {
    const shortCa = await createCa({
      commonName: 'Lab CA ending soon',
      notAfter: new Date(Date.now() + 20 * DAY),
    });
    await writeFile(join(dir, 'short-ca.pem'), shortCa.certPem);
    await writeFile(join(dir, 'short-ca.key'), shortCa.keyPem);
    const issuer = new LocalCaIssuer({
      config: {
        type: 'local-ca',
        certFile: join(dir, 'short-ca.pem'),
        keyFile: join(dir, 'short-ca.key'),
        validityDays: 30,
      },
      readFile: (path) => readFile(path, 'utf8'),
    });
    await expect(issuer.issue(['a.example.com'], 'ecdsa-p256')).rejects.toThrow(/expires .* before a 30-day/);
  });

  it("refuses a key that is not the CA certificate's, without showing the key", async () => {
    const error = await local('rsa', 30, 'ec-ca.key')
      .issue(['a.example.com'], 'ecdsa-p256')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalCaFileError);
    expect((error as Error).message).toMatch(/does not belong/);
    expect((error as Error).message).not.toContain('PRIVATE KEY');
  });

  it.each([
    [
      'garbage between PEM markers',
      'ca.pem',
      '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
      /certificate #1 does not parse as X\.509 \((?!.*error:).*\); expected the CA certificate in PEM/,
    ],
    [
      'no PEM at all',
      'ca.pem',
      'just some text\n',
      /holds no PEM certificate; expected the CA certificate in PEM/,
    ],
    [
      'the key instead of the certificate',
      'ca.pem',
      'KEY',
      /holds no PEM certificate \(it holds a private key: certFile and keyFile swapped\?\)/,
    ],
    [
      'a leaf instead of the CA',
      'ca.pem',
      'LEAF',
      /is not a CA \(basicConstraints cA is not set, or its key usage does not include certificate signing\)/,
    ],
    [
      'garbage between key markers',
      'ca.key',
      '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n',
      /the local CA key .*ca\.key does not parse \(.*\); expected the CA's unencrypted private key in PEM/,
    ],
    [
      'an encrypted key',
      'ca.key',
      '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n',
      /is encrypted; expected the CA's unencrypted private key/,
    ],
    [
      'the certificate instead of the key',
      'ca.key',
      'CERT',
      /holds no PEM private key \(it holds a certificate: certFile and keyFile swapped\?\)/,
    ],
  ])(
    'names the file and what was expected for %s (LocalCaFileError)',
    async (_what, file, content, message) => {
      const leaf = await issueCert({ ca: ecCa, dnsNames: ['leaf.example.com'], keyKind: 'ecdsa' });
      const text =
        content === 'KEY'
          ? ecCa.keyPem
          : content === 'CERT'
            ? ecCa.certPem
            : content === 'LEAF'
              ? leaf.certPem
              : content;
      const bad = await mkdtemp(join(dir, 'bad-'));
      await writeFile(join(bad, 'ca.pem'), file === 'ca.pem' ? text : ecCa.certPem);
      await writeFile(join(bad, 'ca.key'), file === 'ca.key' ? text : ecCa.keyPem);
      const error = await new LocalCaIssuer({
        config: {
          type: 'local-ca',
          certFile: join(bad, 'ca.pem'),
          keyFile: join(bad, 'ca.key'),
          validityDays: 6,
        },
        readFile: (path) => readFile(path, 'utf8'),
      })
        .issue(['a.example.com'], 'ecdsa-p256')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LocalCaFileError);
      expect((error as LocalCaFileError).name).toBe('LocalCaFileError');
      expect((error as Error).message).toContain(join(bad, file));
      expect((error as Error).message).toMatch(message);
      expect((error as LocalCaFileError).hint).toBeTruthy();
      // Never the content: not the key, not the garbage.
      expect((error as Error).message).not.toMatch(/bm90|MII[A-Za-z0-9+/]{6}/);
    },
  );
});

/**
 * client-acm-pca 3.523.0 (the one version the registry offers) types its commands against an older
 * @smithy/types than aws-sdk-client-mock resolves; at run time they are the same SDK v3 shapes.
 */
function mockPca() {
  // biome-ignore lint/suspicious/noExplicitAny: see above
  return mockClient(ACMPCAClient as any) as ReturnType<typeof mockClient<any, any, any>>;
}

// biome-ignore lint/suspicious/noExplicitAny: see mockPca
const sdk = (command: unknown) => command as any;
