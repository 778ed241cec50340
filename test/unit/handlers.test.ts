import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../lambdas/domain/ports';
import { errorFromCatch } from '../../lambdas/handlers/notify';
import { createSlackForwarder } from '../../lambdas/handlers/slack-forwarder';
import { startWebhookCapture } from '../support/webhook-capture';

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
  it('posts each queued SNS message as a Block Kit message, reading the webhook once', async () => {
    const slack = await startWebhookCapture();
    let reads = 0;
    try {
      const url = `${slack.url}/hook`;
      const forward = createSlackForwarder(
        async () => {
          reads++;
          return url;
        },
        { sleep: async () => undefined },
      );
      const alert: Alert = {
        kind: 'cluster-unreachable',
        cluster: 'prod-east',
        error: { name: 'TlsTrustError', message: 'not trusted' },
      };
      const envelope = { Type: 'Notification', MessageId: 'sns-1', Message: JSON.stringify(alert) };
      const event = {
        Records: [{ messageId: 'm1', receiptHandle: 'h1', body: JSON.stringify(envelope) }],
      } as unknown as SQSEvent;
      await forward(event);
      await forward(event);
      expect(reads).toBe(1);
      expect((slack.received as Array<{ text: string }>).map((p) => p.text)).toEqual([
        '[rs-cert-watchdog] Cannot read certificates of prod-east',
        '[rs-cert-watchdog] Cannot read certificates of prod-east',
      ]);
    } finally {
      await slack.close();
    }
  });
});
