/**
 * Issue 19 item 3: the Slack forwarder reads the alert topic through an SQS queue and paces itself
 * under Slack's rate. Against a loopback webhook (test/support/webhook-capture.ts) with a virtual
 * clock: the pacing is asserted on the clock, never on wall time.
 */
import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { QueueVisibility } from '../../lambdas/adapters/sqs';
import { buildDigest } from '../../lambdas/domain/digest';
import { emptyFleetSummary } from '../../lambdas/domain/fleet-metrics';
import type { Alert } from '../../lambdas/domain/ports';
import { createSlackForwarder } from '../../lambdas/handlers/slack-forwarder';
import { SLACK_MIN_INTERVAL_MS } from '../../lambdas/wiring/slack-forwarding';
import { startWebhookCapture, type WebhookCapture } from '../support/webhook-capture';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/alerts-to-slack';

/** A clock that moves only when the code under test sleeps (or a post "takes" time). */
function virtualClock(start = 1_000_000) {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
  };
}

const alert = (cluster: string): Alert => ({
  kind: 'cluster-unreachable',
  cluster,
  error: { name: 'ClusterTimeoutError', message: 'no answer' },
});

/** An SQS event whose records carry SNS envelopes, as the queue's (not raw) subscription delivers. */
function queueEvent(messages: string[]): SQSEvent {
  return {
    Records: messages.map((Message, i) => ({
      messageId: `m${i}`,
      receiptHandle: `handle-${i}`,
      body: JSON.stringify({ Type: 'Notification', MessageId: `sns-${i}`, Subject: 'subject', Message }),
      attributes: {},
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:alerts-to-slack',
      awsRegion: 'eu-west-1',
    })),
  } as unknown as SQSEvent;
}

describe('the Slack forwarder on its queue', () => {
  let slack: WebhookCapture;
  const sqs = mockClient(SQSClient);
  beforeAll(async () => {
    slack = await startWebhookCapture();
  });
  afterAll(async () => {
    await slack.close();
  });
  beforeEach(() => {
    slack.received.length = 0;
    slack.attempts.length = 0;
    sqs.reset();
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
  });

  const forwarder = (clock: ReturnType<typeof virtualClock>) =>
    createSlackForwarder(async () => `${slack.url}/hook`, {
      now: clock.now,
      sleep: clock.sleep,
      visibility: new QueueVisibility(new SQSClient({ region: 'eu-west-1' }), QUEUE_URL),
    });
  const context = (clock: ReturnType<typeof virtualClock>, budgetMs = 60_000) => {
    const deadline = clock.now() + budgetMs;
    return { getRemainingTimeInMillis: () => deadline - clock.now() };
  };

  it('posts one message at a time, at least 1.1 s apart, across batches too', async () => {
    const clock = virtualClock();
    const forward = forwarder(clock);
    const first = await forward(
      queueEvent(['a', 'b', 'c'].map((c) => JSON.stringify(alert(c)))),
      context(clock),
    );
    expect(first).toEqual({ batchItemFailures: [] });
    expect(slack.received).toHaveLength(3);
    // The first post of a container goes at once; each next one waits out the interval.
    expect(clock.sleeps).toEqual([SLACK_MIN_INTERVAL_MS, SLACK_MIN_INTERVAL_MS]);
    clock.advance(300);
    await forward(queueEvent([JSON.stringify(alert('d'))]), context(clock));
    expect(clock.sleeps.at(-1)).toBe(SLACK_MIN_INTERVAL_MS - 300);
    expect(slack.received).toHaveLength(4);
  });

  it("honours Slack's 429 Retry-After when it fits the time left: same message again, nothing lost", async () => {
    const clock = virtualClock();
    slack.script([{ status: 429, headers: { 'Retry-After': '7' }, body: 'rate_limited' }]);
    const result = await forwarder(clock)(
      queueEvent(['a', 'b'].map((c) => JSON.stringify(alert(c)))),
      context(clock),
    );
    expect(result).toEqual({ batchItemFailures: [] });
    expect(slack.attempts.map((a) => a.status)).toEqual([429, 200, 200]);
    expect(clock.sleeps).toContain(7000);
    expect(sqs.commandCalls(ChangeMessageVisibilityBatchCommand)).toHaveLength(0);
  });

  it('hands the rest back when Retry-After outlasts the invocation, visible again exactly then', async () => {
    const clock = virtualClock();
    slack.script([{ status: 200 }, { status: 429, headers: { 'Retry-After': '120' }, body: 'rate_limited' }]);
    const result = await forwarder(clock)(
      queueEvent(['a', 'b', 'c', 'd'].map((c) => JSON.stringify(alert(c)))),
      context(clock, 60_000),
    );
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m1', 'm2', 'm3']);
    // b was throttled; c and d were never tried.
    expect(slack.attempts).toHaveLength(2);
    const calls = sqs.commandCalls(ChangeMessageVisibilityBatchCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      QueueUrl: QUEUE_URL,
      Entries: [
        { Id: 'r0', ReceiptHandle: 'handle-1', VisibilityTimeout: 120 },
        { Id: 'r1', ReceiptHandle: 'handle-2', VisibilityTimeout: 120 },
        { Id: 'r2', ReceiptHandle: 'handle-3', VisibilityTimeout: 120 },
      ],
    });
  });

  it('fails only the message Slack refuses for itself (400); stops at a webhook that is gone (404)', async () => {
    let clock = virtualClock();
    slack.script([{ status: 400, body: 'invalid_blocks' }]);
    const refused = await forwarder(clock)(
      queueEvent(['a', 'b'].map((c) => JSON.stringify(alert(c)))),
      context(clock),
    );
    expect(refused.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    expect(slack.received).toHaveLength(1);

    clock = virtualClock();
    slack.attempts.length = 0;
    slack.script([{ status: 404, body: 'no_service' }]);
    const gone = await forwarder(clock)(
      queueEvent(['a', 'b', 'c'].map((c) => JSON.stringify(alert(c)))),
      context(clock),
    );
    expect(gone.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m0', 'm1', 'm2']);
    expect(slack.attempts).toHaveLength(1);
    // Not throttled: no visibility change (the queue retries after its own timeout, then the DLQ).
    expect(sqs.commandCalls(ChangeMessageVisibilityBatchCommand)).toHaveLength(0);
  });

  it('hands back, untried, what would not finish before the invocation ends', async () => {
    const clock = virtualClock();
    const forward = forwarder(clock);
    // 13 s left: one post fits the 12 s reserve; the next one's 1.1 s pacing wait would not.
    const result = await forward(
      queueEvent(['a', 'b', 'c'].map((c) => JSON.stringify(alert(c)))),
      context(clock, 13_000),
    );
    expect(slack.received).toHaveLength(1);
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m1', 'm2']);
  });

  it('posts a run digest as Block Kit within Slack’s limits, in several messages when it is long', async () => {
    const clock = virtualClock();
    const alerts: Alert[] = Array.from({ length: 4000 }, (_, i) => ({
      kind: 'renewal-failed',
      cluster: `cluster-${String(i).padStart(5, '0')}`,
      certificate: 'proxy',
      error: { name: 'NodesNotUpdatedError', message: `<!channel> ${'x'.repeat(300)}` },
      action: 'retry',
    }));
    const digest = buildDigest(
      {
        generatedAt: '2026-11-23T06:00:00.000Z',
        fleet: { ...emptyFleetSummary(new Date('2026-11-23T06:00:00Z')), clustersChecked: 4000 },
        alerts,
      },
      { maxLinesPerGroup: 2000, maxLineLength: 400 },
    );
    const result = await forwarder(clock)(queueEvent([JSON.stringify(digest)]), context(clock, 120_000));
    expect(result).toEqual({ batchItemFailures: [] });
    const posted = slack.received as Array<{
      text: string;
      blocks: Array<{ type: string; text?: { text: string } }>;
    }>;
    expect(posted.length).toBeGreaterThan(1);
    expect(posted.length).toBeLessThanOrEqual(3);
    for (const message of posted) {
      expect(message.blocks.length).toBeLessThanOrEqual(50);
      for (const block of message.blocks) {
        if (block.type === 'section') expect(block.text?.text.length).toBeLessThanOrEqual(3000);
        if (block.type === 'header') expect(block.text?.text.length).toBeLessThanOrEqual(150);
      }
      expect(JSON.stringify(message)).not.toContain('<!channel>');
    }
    expect(posted[0]?.text).toMatch(/\(1\/\d\)$/);
    expect(JSON.stringify(posted.at(-1))).toMatch(/more line\(s\)/);
  });
});
