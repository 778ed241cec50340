/** A loopback HTTP server that keeps the JSON bodies posted to it: a stand-in Slack webhook. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookCapture {
  /** Base URL; any path is accepted. */
  url: string;
  received: unknown[];
  close(): Promise<void>;
}

export async function startWebhookCapture(): Promise<WebhookCapture> {
  const received: unknown[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
