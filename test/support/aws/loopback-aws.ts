/**
 * One AWS account on loopback for the tests that run the Lambda bundles: a single HTTP server that
 * routes each SigV4-signed request to the stand-in of the service it was signed for (the credential
 * scope names it), an identity per caller (the access key id names a function role of one
 * deployment), the synthesized IAM policies of each role ENFORCED on every call, and a record of
 * every call (who, service, action, resource, decision).
 *
 * Adding a service: implement `LoopbackService` (its SigV4 signing name, the SDK's endpoint variable
 * suffix, and `handle`), call `aws.add(service)`; `endpointEnvironment()` then points every bundle's
 * SDK client at it through `AWS_ENDPOINT_URL_<SUFFIX>`. Inside `handle`, call `aws.authorize(...)`
 * once per IAM action the real service would check: it records the call and throws AccessDenied
 * when the caller's policies do not allow it.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Decision, evaluateIdentity, type Statement } from '../../cdk/support/policy-evaluator';
import { type AwsResponse, AwsServiceError } from './protocols';

export const LOOPBACK_ACCOUNT = '123456789012';
export const LOOPBACK_REGION = 'us-east-1';
/** The secret access key of every principal's credentials (the S3 stand-in verifies signatures with it). */
export const LOOPBACK_SECRET_ACCESS_KEY = 'loopback-secret-access-key';

/** Who signs a request: one function role of one deployment, or the test itself. */
export interface AwsPrincipal {
  /** The deployment (one localWorkflow) it belongs to; `test` for the test's own calls. */
  deployment: string;
  /** The function role (`check`, `issue`, …) or `test`. */
  role: string;
  accessKeyId: string;
  sessionToken: string;
  /** The role's identity policies, as synthesized; undefined: the test itself, never checked. */
  statements: readonly Statement[] | undefined;
  /** For messages: `arn:aws:sts::<account>:assumed-role/<role>/<session>`. */
  arn: string;
}

/** One IAM decision the stand-ins asked for. */
export interface AwsCall {
  deployment: string;
  role: string;
  service: string;
  action: string;
  resource: string;
  context?: Record<string, string | readonly string[]>;
  decision: Decision | 'unchecked';
  /** How the call arrived when not directly (the Parameters and Secrets extension). */
  via?: string;
}

export interface AwsRequest {
  principal: AwsPrincipal;
  /** The region of the credential scope. */
  region: string;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** The body as UTF-8 text. */
  body: string;
  /** The body's bytes, as sent (S3 objects need not be text). */
  bytes: Buffer;
}

export interface LoopbackService {
  /** The SigV4 signing name: `secretsmanager`, `sns`, `route53`, `acm-pca`, `dynamodb`. */
  readonly signingName: string;
  /** The SDK's endpoint variable suffix (its service id, upper case, `_` for spaces): `SECRETS_MANAGER`. */
  readonly endpointEnvName: string;
  handle(request: AwsRequest): Promise<AwsResponse>;
  /** Renders an error (AccessDenied, validation) in the service's protocol. */
  renderError(error: AwsServiceError): AwsResponse;
  close?(): Promise<void>;
}

export class LoopbackAws {
  readonly account = LOOPBACK_ACCOUNT;
  readonly region = LOOPBACK_REGION;
  /** Every IAM decision, in order. */
  readonly calls: AwsCall[] = [];
  readonly testPrincipal: AwsPrincipal;
  private readonly services = new Map<string, LoopbackService>();
  private readonly principals = new Map<string, AwsPrincipal>();
  private server: Server | undefined;
  private base = '';

  constructor() {
    this.testPrincipal = this.addPrincipal('test', 'test', undefined);
  }

  /** Starts the one HTTP server on 127.0.0.1. */
  async start(): Promise<this> {
    const server = createServer((req, res) => {
      this.dispatch(req)
        .then((response) => {
          res.writeHead(response.status, {
            'content-length': Buffer.byteLength(response.body),
            ...response.headers,
          });
          res.end(response.body);
        })
        .catch((error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`loopback AWS: ${(error as Error).stack ?? String(error)}`);
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  get url(): string {
    return this.base;
  }

  add<S extends LoopbackService>(service: S): S {
    this.services.set(service.signingName, service);
    return service;
  }

  service<S extends LoopbackService>(signingName: string): S {
    const service = this.services.get(signingName);
    if (!service) throw new Error(`no loopback service ${signingName}`);
    return service as S;
  }

  /**
   * The one place that points a process's AWS SDK at loopback: an endpoint per service, the region,
   * and the principal's credentials. Host configuration files are out of the picture.
   */
  endpointEnvironment(principal: AwsPrincipal): Record<string, string> {
    const env: Record<string, string> = {
      AWS_REGION: this.region,
      AWS_ACCESS_KEY_ID: principal.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOOPBACK_SECRET_ACCESS_KEY,
      AWS_SESSION_TOKEN: principal.sessionToken,
      // Nothing from the host's ~/.aws may redirect or re-credential a bundle.
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    };
    for (const service of this.services.values())
      env[`AWS_ENDPOINT_URL_${service.endpointEnvName}`] = this.base;
    return env;
  }

  /** A function role of a deployment, with its synthesized identity policies. */
  addPrincipal(deployment: string, role: string, statements: readonly Statement[] | undefined): AwsPrincipal {
    const accessKeyId = `LOOPBACK-${deployment}-${role}`;
    const principal: AwsPrincipal = {
      deployment,
      role,
      accessKeyId,
      sessionToken: `loopback-session-${randomUUID()}`,
      statements,
      arn: `arn:aws:sts::${this.account}:assumed-role/rs-cert-watchdog-${role}/${deployment}`,
    };
    this.principals.set(accessKeyId, principal);
    return principal;
  }

  /** The principal whose session token this is (the secrets extension authenticates by it). */
  principalBySessionToken(token: string | undefined): AwsPrincipal | undefined {
    return [...this.principals.values()].find((p) => p.sessionToken === token);
  }

  /**
   * Records the call and applies the caller's identity policies, as IAM would before the service
   * acts. Throws the service's AccessDenied when not allowed.
   */
  authorize(
    principal: AwsPrincipal,
    call: {
      service: string;
      action: string;
      resource: string;
      context?: Record<string, string | readonly string[]>;
    },
    options: { via?: string; deniedCode?: string; deniedStatus?: number; deniedMessage?: string } = {},
  ): void {
    const decision =
      principal.statements === undefined
        ? ('unchecked' as const)
        : evaluateIdentity(principal.statements, {
            action: call.action,
            resource: call.resource,
            ...(call.context ? { context: call.context } : {}),
          });
    this.calls.push({
      deployment: principal.deployment,
      role: principal.role,
      ...call,
      decision,
      ...(options.via ? { via: options.via } : {}),
    });
    if (decision === 'allowed' || decision === 'unchecked') return;
    throw new AwsServiceError(
      options.deniedCode ?? 'AccessDeniedException',
      options.deniedMessage ??
        `User: ${principal.arn} is not authorized to perform: ${call.action} on resource: ${call.resource} because ${
          decision === 'explicitly denied'
            ? 'an explicit deny in an identity-based policy'
            : `no identity-based policy allows the ${call.action} action`
        }`,
      options.deniedStatus ?? 400,
    );
  }

  /** Calls that were denied (or would be: `implicitly denied`), for one deployment or all. */
  denied(deployment?: string): AwsCall[] {
    return this.calls.filter(
      (c) =>
        c.decision !== 'allowed' &&
        c.decision !== 'unchecked' &&
        (!deployment || c.deployment === deployment),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.services.values()].map((s) => s.close?.()));
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async dispatch(req: IncomingMessage): Promise<AwsResponse> {
    const bytes = await readBytes(req);
    const body = bytes.toString('utf8');
    const scope = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(
      req.headers.authorization ?? '',
    );
    const service = scope ? this.services.get(scope[3] as string) : undefined;
    if (!scope || !service) {
      return {
        status: 403,
        headers: { 'content-type': 'text/plain' },
        body: scope ? `no loopback service for ${scope[3]}` : 'MissingAuthenticationToken',
      };
    }
    const principal = this.principals.get(scope[1] as string);
    if (!principal) {
      return service.renderError(
        new AwsServiceError(
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
        ),
      );
    }
    const url = new URL(req.url ?? '/', this.base);
    try {
      return await service.handle({
        principal,
        region: scope[2] as string,
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        bytes,
      });
    } catch (error) {
      if (error instanceof AwsServiceError) return service.renderError(error);
      throw error;
    }
  }
}

export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBytes(req)).toString('utf8');
}

export function readBytes(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
