import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SNSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../lambdas/domain/ports';
import { errorFromCatch } from '../../lambdas/handlers/notify';
import { createSlackForwarder } from '../../lambdas/handlers/slack-forwarder';

describe('notify: errors from a Step Functions Catch', () => {
  it('reads the Lambda error JSON that AWS puts in Cause', () => {
    const cause = JSON.stringify({
      errorType: 'NodesNotUpdatedError',
      errorMessage: 'cluster "a" is half-updated',
      trace: ['at x'],
    });
    expect(errorFromCatch({ Error: 'NodesNotUpdatedError', Cause: cause })).toEqual({
      name: 'NodesNotUpdatedError',
      message: 'cluster "a" is half-updated',
    });
  });

  it('takes a plain Cause as the message, and the name when there is none', () => {
    expect(errorFromCatch({ Error: 'States.Timeout', Cause: 'Task timed out' })).toEqual({
      name: 'States.Timeout',
      message: 'Task timed out',
    });
    expect(errorFromCatch({ Error: 'States.Timeout' })).toEqual({
      name: 'States.Timeout',
      message: 'States.Timeout',
    });
  });
});

describe('Slack forwarder', () => {
  it('posts each SNS record as a Block Kit message, reading the webhook once', async () => {
    const posted: Array<{ text: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        posted.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    let reads = 0;
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const forward = createSlackForwarder(async () => {
        reads++;
        return url;
      });
      const alert: Alert = {
        kind: 'cluster-unreachable',
        cluster: 'prod-east',
        error: { name: 'TlsTrustError', message: 'not trusted' },
      };
      const event = { Records: [{ Sns: { Message: JSON.stringify(alert) } }] } as unknown as SNSEvent;
      await forward(event);
      await forward(event);
      expect(reads).toBe(1);
      expect(posted.map((p) => p.text)).toEqual([
        '[rs-cert-watchdog] Cannot read certificates of prod-east',
        '[rs-cert-watchdog] Cannot read certificates of prod-east',
      ]);
    } finally {
      server.close();
    }
  });
});
