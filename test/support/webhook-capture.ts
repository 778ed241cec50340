/** A loopback HTTP server that keeps the JSON bodies posted to it: a stand-in Slack webhook. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An answer the stand-in gives instead of 200 "ok" (e.g. Slack's 429 with Retry-After). */
export interface WebhookAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface WebhookCapture {
  /** Base URL; any path is accepted. */
  url: string;
  /** The bodies answered 200 (delivered). */
  received: unknown[];
  /** Every body posted, with the status it was answered. */
  attempts: Array<{ body: unknown; status: number }>;
  /** Answers for the next posts, in order; then 200 "ok" again. */
  script(answers: WebhookAnswer[]): void;
  close(): Promise<void>;
}

export async function startWebhookCapture(): Promise<WebhookCapture> {
  const received: unknown[] = [];
  const attempts: WebhookCapture['attempts'] = [];
  const scripted: WebhookAnswer[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const parsed: unknown = JSON.parse(body);
      const answer = scripted.shift() ?? { status: 200, body: 'ok' };
      attempts.push({ body: parsed, status: answer.status });
      if (answer.status === 200) received.push(parsed);
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    attempts,
    script: (answers) => scripted.push(...answers),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
