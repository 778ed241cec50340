/** A stand-in for AWS Private CA's signing, shared by the CLI and the state machine tests. */
import { webcrypto } from 'node:crypto';
import type { IssueCertificateCommandInput } from '@aws-sdk/client-acm-pca';
// The library through the product's loader, as in ./pki.ts: no test installs the polyfill itself.
import { loadX509 } from '../../lambdas/adapters/local-ca/x509';
import type { TestCa } from './pki';

/** What AWS Private CA does with the passthrough template: the CSR's key, the requested EKUs and SANs. */
export async function signAsPrivateCa(input: IssueCertificateCommandInput, ca: TestCa): Promise<string> {
  const {
    AuthorityKeyIdentifierExtension,
    BasicConstraintsExtension,
    ExtendedKeyUsage,
    ExtendedKeyUsageExtension,
    Pkcs10CertificateRequest,
    SubjectAlternativeNameExtension,
    SubjectKeyIdentifierExtension,
    X509CertificateGenerator,
  } = await loadX509();
  const csr = new Pkcs10CertificateRequest(Buffer.from(input.Csr as Uint8Array).toString('utf8'));
  const extensions = input.ApiPassthrough?.Extensions;
  const ekus = (extensions?.ExtendedKeyUsage ?? []).map((e) =>
    e.ExtendedKeyUsageType === 'CLIENT_AUTH' ? ExtendedKeyUsage.clientAuth : ExtendedKeyUsage.serverAuth,
  );
  const caKeyId = ca.cert.getExtension(SubjectKeyIdentifierExtension)?.keyId;
  const publicKey = await csr.publicKey.export(webcrypto);
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: '0a1b2c3d4e5f',
      subject: csr.subjectName,
      issuer: ca.cert.subjectName,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + (input.Validity?.Value ?? 1) * 86_400_000),
      publicKey,
      signingKey: await ca.key.signingKey(),
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' },
      extensions: [
        new BasicConstraintsExtension(false, undefined, true),
        new ExtendedKeyUsageExtension(ekus),
        // A request without names gets no SAN extension (GeneralNames cannot be empty).
        ...((extensions?.SubjectAlternativeNames ?? []).length > 0
          ? [
              new SubjectAlternativeNameExtension(
                (extensions?.SubjectAlternativeNames ?? []).map((n) => ({
                  type: 'dns' as const,
                  value: n.DnsName ?? '',
                })),
              ),
            ]
          : []),
        ...(caKeyId ? [new AuthorityKeyIdentifierExtension(caKeyId)] : []),
      ],
    },
    webcrypto,
  );
  return cert.toString('pem');
}

export interface PrivateCaStandIn {
  /** http://127.0.0.1:PORT, the ACM PCA endpoint the CLI is pointed at. */
  url: string;
  /** What a CLI process needs to talk to it: the endpoint and throwaway credentials, nothing real. */
  env: NodeJS.ProcessEnv;
  /** Every call, in order: the operation (X-Amz-Target without its prefix) and its JSON input. */
  calls: Array<{ operation: string; input: Record<string, unknown> }>;
  close(): Promise<void>;
}

/**
 * A loopback stand-in for AWS Private CA that a separate process (dist/cli.mjs) can reach: the
 * SDK's awsJson1_1 protocol (POST / with X-Amz-Target) on 127.0.0.1, found through the SDK's own
 * AWS_ENDPOINT_URL_ACM_PCA. IssueCertificate signs the CSR with `ca` as signAsPrivateCa does;
 * GetCertificate answers RequestInProgressException `pendingPolls` times first, as a CA that is
 * still issuing; GetCertificateAuthorityCertificate returns the CA.
 */
export async function startPrivateCaStandIn(
  ca: TestCa,
  options: {
    pendingPolls?: number;
    /** Issue these extended key usages whatever the request asks for (a CA whose template overrides them). */
    extKeyUsage?: Array<'SERVER_AUTH' | 'CLIENT_AUTH'>;
  } = {},
): Promise<PrivateCaStandIn> {
  const { createServer } = await import('node:http');
  const calls: PrivateCaStandIn['calls'] = [];
  const issued = new Map<string, string>();
  let pending = options.pendingPolls ?? 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      const operation = String(req.headers['x-amz-target'] ?? '').replace(/^ACMPrivateCA\./, '');
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        reply(400, { __type: 'InvalidRequestException', message: 'not JSON' });
        return;
      }
      calls.push({ operation, input });
      void (async () => {
        if (operation === 'IssueCertificate') {
          const arn = `${String(input.CertificateAuthorityArn)}/certificate/${issued.size + 1}`;
          const csr = Buffer.from(String(input.Csr), 'base64');
          const asked = input as { ApiPassthrough?: { Extensions?: Record<string, unknown> } };
          const extensions = {
            ...asked.ApiPassthrough?.Extensions,
            ...(options.extKeyUsage
              ? {
                  ExtendedKeyUsage: options.extKeyUsage.map((ExtendedKeyUsageType) => ({
                    ExtendedKeyUsageType,
                  })),
                }
              : {}),
          };
          const request = { ...input, Csr: csr, ApiPassthrough: { Extensions: extensions } };
          issued.set(arn, await signAsPrivateCa(request as unknown as IssueCertificateCommandInput, ca));
          reply(200, { CertificateArn: arn });
        } else if (operation === 'GetCertificate') {
          if (pending > 0) {
            pending--;
            reply(400, { __type: 'RequestInProgressException', message: 'the certificate is being issued' });
            return;
          }
          const pem = issued.get(String(input.CertificateArn));
          if (pem) reply(200, { Certificate: pem, CertificateChain: ca.certPem });
          else reply(400, { __type: 'ResourceNotFoundException', message: 'no such certificate' });
        } else if (operation === 'GetCertificateAuthorityCertificate') {
          reply(200, { Certificate: ca.certPem });
        } else {
          reply(400, { __type: 'InvalidRequestException', message: `${operation} is not stood in for` });
        }
      })().catch((error: unknown) => reply(500, { __type: 'InternalFailure', message: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    env: {
      AWS_ENDPOINT_URL_ACM_PCA: url,
      AWS_ACCESS_KEY_ID: 'AKIASTANDIN000000000',
      AWS_SECRET_ACCESS_KEY: 'stand-in-secret-not-a-credential',
      // No shared config or credentials file is read from the machine running the tests.
      AWS_CONFIG_FILE: '/nonexistent/rs-cert-watchdog-tests/config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/rs-cert-watchdog-tests/credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
