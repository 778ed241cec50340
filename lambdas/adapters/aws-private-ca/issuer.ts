/**
 * Issues certificates through AWS Private CA: `issuer` =
 * {"type":"aws-private-ca","certificateAuthorityArn","templateArn"?,"validityDays"}.
 * IssueCertificate with a CSR made here (the key never leaves this function), asking for serverAuth
 * and clientAuth through the API passthrough template (or the operator's template, which then sets
 * them); GetCertificate until the CA has issued it, with a bounded wait; the chain from
 * GetCertificateAuthorityCertificate. IAM: acm-pca:IssueCertificate and acm-pca:GetCertificate and
 * acm-pca:GetCertificateAuthorityCertificate on that CA only.
 */
import { webcrypto } from 'node:crypto';
import {
  type ACMPCAClient,
  GetCertificateAuthorityCertificateCommand,
  GetCertificateCommand,
  IssueCertificateCommand,
  type IssueCertificateCommandInput,
} from '@aws-sdk/client-acm-pca';
import type { AwsPrivateCaIssuerConfig, KeyType } from '../../domain/config/types';
import { PrivateCaError } from '../../domain/errors';
import type { CertificateIssuer, IssuedPair, IssueOptions } from '../../domain/ports';
import { backoffDelayMs, PRIVATE_CA_ISSUE, sleep as realSleep } from '../../domain/retry';
import { keyFor } from '../keys';
import { loadX509 } from '../local-ca/x509';

/** The AWS-managed template that takes extensions from ApiPassthrough (and SANs from it too). */
export const PASSTHROUGH_TEMPLATE_ARN = 'arn:aws:acm-pca:::template/EndEntityCertificate_APIPassthrough/V1';

export interface AwsPrivateCaOptions {
  config: AwsPrivateCaIssuerConfig;
  client: ACMPCAClient;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

export class AwsPrivateCaIssuer implements CertificateIssuer {
  private chain: Promise<string> | undefined;

  constructor(private readonly options: AwsPrivateCaOptions) {}

  async issue(domains: string[], keyType: KeyType, options?: IssueOptions): Promise<IssuedPair> {
    const { config, client } = this.options;
    const key = await keyFor(keyType, options);
    const csr = await certificateRequest(
      domains,
      keyType,
      key.privateKey,
      key.publicKey,
      options?.sameSubjectAs,
    );
    const input: IssueCertificateCommandInput = {
      CertificateAuthorityArn: config.certificateAuthorityArn,
      Csr: new TextEncoder().encode(csr),
      SigningAlgorithm: config.signingAlgorithm ?? 'SHA256WITHRSA',
      Validity: validity(config.validityDays, (this.options.now ?? (() => new Date()))()),
      TemplateArn: config.templateArn ?? PASSTHROUGH_TEMPLATE_ARN,
      ...(config.templateArn
        ? {}
        : {
            ApiPassthrough: {
              Extensions: {
                ExtendedKeyUsage: [
                  { ExtendedKeyUsageType: 'SERVER_AUTH' },
                  { ExtendedKeyUsageType: 'CLIENT_AUTH' },
                ],
                ...(domains.length > 0
                  ? { SubjectAlternativeNames: domains.map((DnsName) => ({ DnsName })) }
                  : {}),
              },
            },
          }),
    };
    let certificateArn: string | undefined;
    try {
      certificateArn = (await client.send(new IssueCertificateCommand(input))).CertificateArn;
    } catch (error) {
      throw awsError(`AWS Private CA refused to issue for ${domains.join(', ')}`, error, config);
    }
    if (!certificateArn)
      throw new PrivateCaError('AWS Private CA answered IssueCertificate without a certificate ARN');
    const [leaf, chain] = await Promise.all([this.waitForCertificate(certificateArn), this.caChain()]);
    return { certificatePem: `${leaf.trim()}\n${chain}`, keyPem: key.keyPem };
  }

  /** GetCertificate until the CA has issued it: RequestInProgressException means "not yet". */
  private async waitForCertificate(certificateArn: string): Promise<string> {
    const { client, config } = this.options;
    const sleep = this.options.sleep ?? realSleep;
    let waited = 0;
    for (let retry = 1; ; retry++) {
      try {
        const answer = await client.send(
          new GetCertificateCommand({
            CertificateAuthorityArn: config.certificateAuthorityArn,
            CertificateArn: certificateArn,
          }),
        );
        if (answer.Certificate) return answer.Certificate;
        throw new PrivateCaError(`AWS Private CA returned no certificate for ${certificateArn}`);
      } catch (error) {
        if ((error as { name?: string }).name !== 'RequestInProgressException') {
          if (error instanceof PrivateCaError) throw error;
          throw awsError(`AWS Private CA could not return ${certificateArn}`, error, config);
        }
        const delay = backoffDelayMs(PRIVATE_CA_ISSUE.backoff, retry, false);
        if (waited + delay > PRIVATE_CA_ISSUE.timeoutMs) {
          throw new PrivateCaError(
            `AWS Private CA had not issued ${certificateArn} after ${Math.round(waited / 1000)} s`,
            { hint: 'the CA is slow or busy; the next run orders again' },
          );
        }
        await sleep(delay);
        waited += delay;
      }
    }
  }

  /** The CA's certificate and the chain above it, read once per process. */
  private caChain(): Promise<string> {
    const { client, config } = this.options;
    this.chain ??= client
      .send(
        new GetCertificateAuthorityCertificateCommand({
          CertificateAuthorityArn: config.certificateAuthorityArn,
        }),
      )
      .then((answer) => {
        if (!answer.Certificate) throw new PrivateCaError('AWS Private CA returned no CA certificate');
        return [answer.Certificate, answer.CertificateChain]
          .filter((pem): pem is string => Boolean(pem))
          .map((pem) => `${pem.trim()}\n`)
          .join('');
      })
      .catch((error: unknown) => {
        this.chain = undefined;
        if (error instanceof PrivateCaError) throw error;
        throw awsError('AWS Private CA could not return its CA certificate', error, config);
      });
    return this.chain;
  }
}

/** Whole days as DAYS; a fraction (e.g. 0.25 for 6 hours) as an absolute end time in seconds. */
function validity(days: number, now: Date): { Type: 'DAYS' | 'ABSOLUTE'; Value: number } {
  if (Number.isInteger(days)) return { Type: 'DAYS', Value: days };
  return { Type: 'ABSOLUTE', Value: Math.floor((now.getTime() + days * 86_400_000) / 1000) };
}

async function certificateRequest(
  domains: string[],
  keyType: KeyType,
  privateKey: import('node:crypto').KeyObject,
  publicKey: import('node:crypto').KeyObject,
  sameSubjectAs?: string,
): Promise<string> {
  const algorithm =
    keyType === 'rsa-2048'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
      : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = {
    privateKey: await webcrypto.subtle.importKey(
      'pkcs8',
      privateKey.export({ type: 'pkcs8', format: 'der' }),
      algorithm,
      false,
      ['sign'],
    ),
    publicKey: await webcrypto.subtle.importKey(
      'spki',
      publicKey.export({ type: 'spki', format: 'der' }),
      algorithm,
      true,
      ['verify'],
    ),
  };
  const { Pkcs10CertificateRequestGenerator, X509Certificate } = await loadX509();
  const csr = await Pkcs10CertificateRequestGenerator.create(
    {
      // The passthrough template issues the CSR's subject: the client certificate keeps its own.
      name: sameSubjectAs ? new X509Certificate(sameSubjectAs).subjectName : `CN=${domains[0] ?? ''}`,
      keys,
      signingAlgorithm: algorithm,
    },
    webcrypto,
  );
  return csr.toString('pem');
}

function awsError(what: string, error: unknown, config: AwsPrivateCaIssuerConfig): PrivateCaError {
  const name = (error as { name?: string }).name ?? 'Error';
  const message = (error as Error).message;
  const hint =
    name === 'AccessDeniedException'
      ? `grant acm-pca:IssueCertificate, acm-pca:GetCertificate and acm-pca:GetCertificateAuthorityCertificate on ${config.certificateAuthorityArn}`
      : name === 'InvalidStateException'
        ? 'the CA is not ACTIVE (disabled, expired or pending its certificate)'
        : name === 'MalformedCSRException' || name === 'InvalidArgsException'
          ? 'check signingAlgorithm against the CA key type (SHA256WITHECDSA for an EC CA) and templateArn'
          : undefined;
  return new PrivateCaError(`${what}: ${name}: ${message}`, { cause: error, ...(hint ? { hint } : {}) });
}
