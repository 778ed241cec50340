/** A stand-in for AWS Private CA's signing, shared by the CLI and the state machine tests. */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import type { IssueCertificateCommandInput } from '@aws-sdk/client-acm-pca';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  Pkcs10CertificateRequest,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
} from '@peculiar/x509';
import type { TestCa } from './pki';

/** What AWS Private CA does with the passthrough template: the CSR's key, the requested EKUs and SANs. */
export async function signAsPrivateCa(input: IssueCertificateCommandInput, ca: TestCa): Promise<string> {
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
