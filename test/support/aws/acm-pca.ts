/**
 * AWS Private CA on loopback (AWS JSON 1.1): IssueCertificate, GetCertificate and
 * GetCertificateAuthorityCertificate, each authorized on the CA's ARN. What the CA does is a
 * `PrivateCaBackend`: by default it signs with a test CA as the API passthrough template does
 * (test/support/private-ca.ts); a test may give its own (an ACMPCAClient-like `send`), which sees the
 * decoded SDK command, e.g. to answer RequestInProgressException first.
 */
import {
  GetCertificateAuthorityCertificateCommand,
  GetCertificateCommand,
  IssueCertificateCommand,
} from '@aws-sdk/client-acm-pca';
import { createCa, type TestCa } from '../pki';
import { signAsPrivateCa } from '../private-ca';
import type { AwsRequest, LoopbackAws, LoopbackService } from './loopback-aws';
import { type AwsResponse, AwsServiceError, jsonError, jsonResponse } from './protocols';

/** What a CA answers: an ACMPCAClient-like object, per region (the region of the request's signature). */
export type PrivateCaBackend = (region: string) => { send(command: unknown): Promise<unknown> };

export class AcmPcaStandIn implements LoopbackService {
  readonly signingName = 'acm-pca';
  readonly endpointEnvName = 'ACM_PCA';
  /** The CA's behaviour for the functions of one deployment; default: signs at once with a test CA. */
  private readonly backends = new Map<string, PrivateCaBackend>();
  private defaultBackend: PrivateCaBackend | undefined;
  private readonly clients = new Map<string, ReturnType<PrivateCaBackend>>();

  constructor(private readonly aws: LoopbackAws) {}

  setBackend(deployment: string, backend: PrivateCaBackend): void {
    this.backends.set(deployment, backend);
  }

  renderError(error: AwsServiceError): AwsResponse {
    return jsonError(error);
  }

  async handle(request: AwsRequest): Promise<AwsResponse> {
    const target = String(request.headers['x-amz-target'] ?? '');
    const input = JSON.parse(request.body || '{}') as Record<string, unknown>;
    const operation = target.replace(/^ACMPrivateCA\./, '');
    const make = COMMANDS[operation];
    if (!make)
      throw new AwsServiceError(
        'UnknownOperationException',
        `the loopback stand-in does not serve ${target}`,
      );
    this.aws.authorize(request.principal, {
      service: 'acm-pca',
      action: `acm-pca:${operation}`,
      resource: String(input.CertificateAuthorityArn ?? ''),
    });
    this.defaultBackend ??= defaultBackend();
    const backend = this.backends.get(request.principal.deployment) ?? this.defaultBackend;
    // One CA client per deployment and region, as each issue function makes one per region.
    const key = `${request.principal.deployment} ${request.region}`;
    let client = this.clients.get(key);
    if (!client) {
      client = backend(request.region);
      this.clients.set(key, client);
    }
    try {
      const output = await client.send(make(input));
      return jsonResponse(output);
    } catch (error) {
      if (error instanceof AwsServiceError) throw error;
      const name = (error as Error).name;
      throw new AwsServiceError(
        name && name !== 'Error' ? name : 'InternalFailure',
        (error as Error).message,
      );
    }
  }
}

const COMMANDS: Record<string, (input: Record<string, unknown>) => unknown> = {
  // Blobs travel base64 in AWS JSON: the command gets the bytes, as the SDK's own would.
  IssueCertificate: (input) =>
    new IssueCertificateCommand({
      ...input,
      Csr: new Uint8Array(Buffer.from(String(input.Csr ?? ''), 'base64')),
    } as never),
  GetCertificate: (input) => new GetCertificateCommand(input as never),
  GetCertificateAuthorityCertificate: (input) =>
    new GetCertificateAuthorityCertificateCommand(input as never),
};

/** Issues at once, signed by one test CA made on first use. */
function defaultBackend(): PrivateCaBackend {
  let ca: Promise<TestCa> | undefined;
  const issued = new Map<string, string>();
  const client = {
    async send(command: unknown) {
      ca ??= createCa({ commonName: 'Loopback AWS Private CA' });
      const authority = await ca;
      if (command instanceof IssueCertificateCommand) {
        const arn = `${command.input.CertificateAuthorityArn}/certificate/${issued.size + 1}`;
        issued.set(arn, await signAsPrivateCa(command.input, authority));
        return { CertificateArn: arn };
      }
      if (command instanceof GetCertificateCommand) {
        const pem = issued.get(command.input.CertificateArn as string);
        if (!pem)
          throw Object.assign(new Error('no such certificate'), { name: 'ResourceNotFoundException' });
        return { Certificate: pem, CertificateChain: authority.certPem };
      }
      if (command instanceof GetCertificateAuthorityCertificateCommand)
        return { Certificate: authority.certPem };
      throw new Error('unexpected command');
    },
  };
  return () => client;
}
