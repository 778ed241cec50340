/**
 * The AWS Parameters and Secrets Lambda Extension on loopback: `GET /secretsmanager/get?secretId=…`
 * with the `X-Aws-Parameters-Secrets-Token` header, which must be the function's session token.
 * The extension asks Secrets Manager with the FUNCTION's credentials, so the call is authorized
 * against that function's role (recorded `via: 'extension'`). Its answers: 200 with the
 * GetSecretValue JSON; on a Secrets Manager error, that error's HTTP status and the Go SDK's error
 * text the extension relays (`… StatusCode: 400, RequestID: …, ResourceNotFoundException: …`); 401
 * without the right token.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LoopbackAws } from './loopback-aws';
import { AwsServiceError } from './protocols';
import type { SecretsManagerStandIn } from './secrets-manager';

/** Errors Secrets Manager's model declares (the Go SDK names them without "api error"). */
const MODELED = new Set([
  'ResourceNotFoundException',
  'InvalidParameterException',
  'InvalidRequestException',
  'DecryptionFailure',
  'InternalServiceError',
]);

export class SecretsExtensionStandIn {
  private server: Server | undefined;
  private v6: Server | undefined;
  port = 0;

  constructor(
    private readonly aws: LoopbackAws,
    private readonly secrets: SecretsManagerStandIn,
  ) {}

  async start(): Promise<this> {
    const handler: RequestListener = (req, res) => {
      const send = (status: number, body: string, type = 'text/plain') => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      };
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method !== 'GET' || url.pathname !== '/secretsmanager/get') return send(404, 'not found');
      const token = req.headers['x-aws-parameters-secrets-token'];
      const principal = this.aws.principalBySessionToken(typeof token === 'string' ? token : undefined);
      if (!principal) return send(401, 'Unauthorized: X-Aws-Parameters-Secrets-Token is missing or invalid');
      const secretId = url.searchParams.get('secretId');
      if (!secretId) return send(400, 'secretId is required');
      try {
        const value = this.secrets.getSecretValue(
          principal,
          {
            SecretId: secretId,
            ...(url.searchParams.get('versionId') ? { VersionId: url.searchParams.get('versionId') } : {}),
            ...(url.searchParams.get('versionStage')
              ? { VersionStage: url.searchParams.get('versionStage') }
              : {}),
          },
          this.aws.region,
          'extension',
        );
        send(200, JSON.stringify(value), 'application/json');
      } catch (error) {
        if (!(error instanceof AwsServiceError)) throw error;
        send(
          error.status,
          `operation error Secrets Manager: GetSecretValue, https response error StatusCode: ${error.status}, ` +
            `RequestID: ${randomUUID()}, ${MODELED.has(error.code) ? '' : 'api error '}${error.code}: ${error.message}`,
        );
      }
    };
    const server = createServer(handler);
    // The functions reach it as `localhost`, which may resolve to ::1 first: the same port on both
    // loopback families, so that no other process's [::1]:port can answer in its place.
    for (let attempt = 0; ; attempt++) {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      const v6 = createServer(handler);
      const bound = await new Promise<string | null>((resolve) => {
        v6.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
        v6.listen(port, '::1', () => resolve(null));
      });
      if (bound === null) this.v6 = v6;
      if (bound === null || bound === 'EADDRNOTAVAIL' || bound === 'EAFNOSUPPORT' || attempt >= 10) break;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.server, this.v6].map(
        (server) =>
          server &&
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }
}
