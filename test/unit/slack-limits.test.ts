/**
 * Every Slack message stays within Block Kit's limits (domain/alerts.ts SLACK_LIMITS): Slack refuses
 * a message past any of them whole (`invalid_blocks`, `msg_blocks_too_long`), and the operator hears
 * nothing. Checked on what really reaches a webhook, from the local Slack notifier (the CLI's) and
 * from the AWS Slack forwarder (an SQS record holding the SNS envelope, as its queue delivers it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackWebhookNotifier } from '../../lambdas/adapters/slack/notifier';
import { slackMessage, slackTextMessage } from '../../lambdas/domain/alerts';
import { toErrorInfo } from '../../lambdas/domain/errors';
import type { Alert } from '../../lambdas/domain/ports';
import { crdbUpdateCommand } from '../../lambdas/domain/renewal/active-active';
import { unknownProfile } from '../../lambdas/domain/renewal/renewal-info';
import { createSlackForwarder } from '../../lambdas/handlers/slack-forwarder';
import { type Block, expectWithinBlockKit } from '../support/block-kit';
import { topicQueueEvent } from '../support/topic-queue';
import { startWebhookCapture, type WebhookCapture } from '../support/webhook-capture';

const guid = (i: number) => `1a2b3c4d-0000-4000-8000-${String(i).padStart(12, '0')}`;
const profiles = (n: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`profile-${i}`, `description of profile ${i}`]));

function activeActive(n: number, mode: 'alert' | 'failed' = 'alert'): Alert {
  return {
    kind: 'active-active',
    cluster: 'prod-east',
    certificates: ['proxy'],
    mode,
    databases: Array.from({ length: n }, (_, i) => ({
      guid: guid(i),
      name: `database-${i}`,
      command: crdbUpdateCommand(guid(i)),
      ...(mode === 'failed'
        ? { status: 'failed', error: 'crdb_update_failed: peer cluster west rejected the update' }
        : {}),
    })),
  };
}

const failed = (message: string): Alert => ({
  kind: 'renewal-failed',
  cluster: 'prod-east',
  certificate: 'proxy',
  error: { name: 'AcmeProfileError', message, hint: 'fix acme.profile' },
  action: 'fix the configuration and run renew again',
});

/** The alerts at and past every limit. */
const CASES: Array<[string, Alert]> = [
  [
    'a failure listing 3,000 offered profiles (one 50,000-character line)',
    failed(toErrorInfo(unknownProfile('nope', profiles(3000))).message),
  ],
  ['an Active-Active alert for 60 databases', activeActive(60)],
  ['an Active-Active alert for 1,000 databases', activeActive(1000)],
  ['a failed Active-Active follow-up for 500 databases', activeActive(500, 'failed')],
  ['a line of exactly 3,000 characters', failed('x'.repeat(3000 - 'Error: AcmeProfileError: '.length))],
  ['a line of 3,001 characters', failed('x'.repeat(3001 - 'Error: AcmeProfileError: '.length))],
  ['a line that escaping triples (& is &amp;)', failed('&'.repeat(2000))],
  [
    'a 5,000-character cluster name',
    {
      kind: 'cluster-unreachable',
      cluster: 'c'.repeat(5000),
      error: { name: 'ClusterServerError', message: 'm' },
    },
  ],
  ['a 1,000-character certificate name', { ...failed('m'), certificate: `😀${'n'.repeat(999)}` } as Alert],
];

describe('Slack messages within Block Kit limits', () => {
  let slack: WebhookCapture;
  beforeAll(async () => {
    slack = await startWebhookCapture();
  });
  afterAll(() => slack.close());

  it.each(CASES)('%s: from the local notifier and from the AWS forwarder', async (_what, alert) => {
    slack.received.length = 0;
    await new SlackWebhookNotifier(`${slack.url}/local`).send(alert);
    const forward = createSlackForwarder(async () => `${slack.url}/forwarder`);
    expect(await forward(topicQueueEvent([JSON.stringify(alert)], 'x'))).toEqual({ batchItemFailures: [] });
    expect(slack.received).toHaveLength(2);
    // The forwarder renders our alert as the same message the local notifier sends (not as raw JSON).
    expect(slack.received[1]).toEqual(slack.received[0]);
    const shown = expectWithinBlockKit(slack.received[0]);
    expect(shown).not.toContain('"kind"');
  });

  it('keeps a line of exactly 3,000 characters whole, and cuts one of 3,001 saying how much is left out', () => {
    const exact = slackMessage(failed('x'.repeat(3000 - 'Error: AcmeProfileError: '.length)));
    const blocks = exact.blocks as Block[];
    expect(blocks.some((b) => b.text?.text === `Error: AcmeProfileError: ${'x'.repeat(3000 - 25)}`)).toBe(
      true,
    );
    const over = slackMessage(failed('x'.repeat(3001 - 25)));
    const cut = (over.blocks as Block[]).find((b) => b.text?.text.startsWith('Error: AcmeProfileError: x'))!;
    expect(cut.text!.text.length).toBeLessThanOrEqual(3000);
    expect(cut.text!.text).toMatch(/x … \(\d+ more characters\)$/);
  });

  it('splits a long list across sections, then says how many lines it left out', () => {
    const sixty = expectWithinBlockKit(slackMessage(activeActive(60)));
    // 60 databases fit (8,000 characters of commands): every GUID is there, across several sections.
    for (let i = 0; i < 60; i++) expect(sixty).toContain(guid(i));
    expect(
      (slackMessage(activeActive(60)).blocks as Block[]).filter((b) => b.type === 'section').length,
    ).toBeGreaterThan(2);
    const thousand = expectWithinBlockKit(slackMessage(activeActive(1000)));
    expect(thousand).toContain(guid(0));
    const omitted = /… and ([\d,]+) more lines not shown here/.exec(thousand);
    expect(omitted).not.toBeNull();
    const shownDatabases = (thousand.match(/crdb-cli crdb update/g) ?? []).length;
    // 1,000 databases are 2,001 lines (the text's first line, then a name and a command each).
    expect(Number(omitted![1]!.replace(/,/g, '')) + 2 * shownDatabases + 1).toBeGreaterThanOrEqual(2001);
  });

  it('keeps a text message (anything else on the topic) within the limits too', () => {
    expectWithinBlockKit(
      slackTextMessage('s'.repeat(400), `${'line of text\n'.repeat(5000)}${'&'.repeat(4000)}`),
    );
    expectWithinBlockKit(slackTextMessage(null, ''));
  });
});
