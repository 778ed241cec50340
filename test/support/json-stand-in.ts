/**
 * A loopback HTTP server speaking an AWS JSON protocol (X-Amz-Target + JSON body), as the SDK and
 * our own DynamoDB client send it: the shape the KMS and Secrets Manager stand-ins share. Signatures
 * are not checked. Errors go out as AWS sends them: a 400 with `__type` and `message`, and the
 * `x-amzn-errortype` header.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface JsonStandIn {
  url: string;
  /** Every call, in order: its operation (the part of X-Amz-Target after the dot). */
  calls: string[];
  close(): Promise<void>;
}

export async function startJsonStandIn(
  handle: (operation: string, input: Record<string, unknown>) => Promise<unknown> | unknown,
  contentType: string,
): Promise<JsonStandIn> {
  const calls: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const operation =
        String(req.headers['x-amz-target'] ?? '')
          .split('.')
          .pop() ?? '';
      calls.push(operation);
      try {
        const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        const output = await handle(operation, input);
        res.writeHead(200, { 'content-type': contentType });
        res.end(JSON.stringify(output ?? {}));
      } catch (error) {
        const e = error instanceof AwsError ? error : new AwsError('InternalFailure', String(error), 500);
        res.writeHead(e.status, { 'content-type': contentType, 'x-amzn-errortype': e.type });
        res.end(JSON.stringify({ __type: e.type, message: e.message }));
      }
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
