/**
 * A stand-in that puts IAM in front of a local emulator speaking an AWS JSON protocol (dynalite for
 * DynamoDB, say): each request is authorized against the caller's synthesized policies first (the
 * IAM actions, resources and condition keys `authorize` derives from it), then forwarded as it came
 * and the emulator's answer relayed. Denied requests never reach the emulator.
 *
 *   aws.add(new ForwardingJsonService(aws, {
 *     signingName: 'dynamodb', endpointEnvName: 'DYNAMODB', upstream: dynalite.url,
 *     contentType: 'application/x-amz-json-1.0',
 *     authorize: ({ operation, input, region }) => [{ action: `dynamodb:${operation}`,
 *       resource: `arn:aws:dynamodb:${region}:${aws.account}:table/${input.TableName}` }],
 *   }));
 */
import type { AwsRequest, LoopbackAws, LoopbackService } from './loopback-aws';
import { type AwsResponse, type AwsServiceError, jsonError } from './protocols';

export interface ForwardedCall {
  /** The operation, from `X-Amz-Target` (`DynamoDB_20120810.PutItem` → `PutItem`). */
  operation: string;
  input: Record<string, unknown>;
  region: string;
}

export interface ForwardingOptions {
  signingName: string;
  endpointEnvName: string;
  /** The emulator's base URL, e.g. `http://127.0.0.1:4567`. */
  upstream: string;
  /** The IAM checks the real service makes for this request (each recorded, and enforced). */
  authorize(
    call: ForwardedCall,
  ): Array<{ action: string; resource: string; context?: Record<string, string | readonly string[]> }>;
  /** @default application/x-amz-json-1.0 */
  contentType?: string;
}

export class ForwardingJsonService implements LoopbackService {
  readonly signingName: string;
  readonly endpointEnvName: string;

  constructor(
    private readonly aws: LoopbackAws,
    private readonly options: ForwardingOptions,
  ) {
    this.signingName = options.signingName;
    this.endpointEnvName = options.endpointEnvName;
  }

  renderError(error: AwsServiceError): AwsResponse {
    return jsonError(error, this.options.contentType ?? 'application/x-amz-json-1.0');
  }

  async handle(request: AwsRequest): Promise<AwsResponse> {
    const target = String(request.headers['x-amz-target'] ?? '');
    const call: ForwardedCall = {
      operation: target.slice(target.indexOf('.') + 1),
      input: JSON.parse(request.body || '{}') as Record<string, unknown>,
      region: request.region,
    };
    for (const check of this.options.authorize(call))
      this.aws.authorize(request.principal, { service: this.signingName, ...check });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value === 'string' && !['host', 'content-length', 'connection'].includes(name))
        headers[name] = value;
    }
    const answer = await fetch(`${this.options.upstream}${request.path}`, {
      method: request.method,
      headers,
      ...(request.method === 'GET' || request.method === 'HEAD' ? {} : { body: request.body }),
    });
    const relayed: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (!['content-length', 'transfer-encoding', 'connection', 'content-encoding'].includes(name))
        relayed[name] = value;
    });
    return { status: answer.status, headers: relayed, body: await answer.text() };
  }
}
