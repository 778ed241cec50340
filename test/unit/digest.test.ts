/**
 * Issue 19 item 3: one digest per run. The pure digest (a line per problem, grouped, counted and
 * bounded), its email, its publication on the alert topic (SNS, aws-sdk-client-mock) for email and
 * the Slack forwarder's queue, the notify event `{digest}`, and which alerts still go out at once.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SnsNotifier } from '../../lambdas/adapters/sns/notifier';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import {
  buildDigest,
  fitDigest,
  formatDigest,
  immediateAlerts,
  isRunDigest,
  type RunDigest,
  type RunOutcomes,
} from '../../lambdas/domain/digest';
import { digestSlackMessages } from '../../lambdas/domain/digest-slack';
import { emptyFleetSummary, summarizeFleet } from '../../lambdas/domain/fleet-metrics';
import type { Alert } from '../../lambdas/domain/ports';
import type { RenewalContext } from '../../lambdas/domain/renewal/context';
import type { ClusterReport } from '../../lambdas/domain/report';
import { createNotifyHandler } from '../../lambdas/handlers/notify';
import { slackMessagesFor } from '../../lambdas/wiring/slack-forwarding';

const AT = '2026-11-23T06:00:00.000Z';
const sns = mockClient(SNSClient);

const failed = (cluster: string, certificate = 'proxy'): Alert => ({
  kind: 'renewal-failed',
  cluster,
  certificate,
  error: { name: 'NodesNotUpdatedError', message: `cluster "${cluster}" is half-updated` },
  action: 'check the nodes',
});
const alertOnly = (cluster: string, status: string, notAfter: string | null): Alert => ({
  kind: 'alert-only',
  cluster,
  certificate: 'syncer',
  status,
  notAfter,
  daysLeft: notAfter ? (Date.parse(notAfter) - Date.parse(AT)) / 86_400_000 : null,
  reason: 'not managed',
});
const renewed = (cluster: string): Alert => ({
  kind: 'renewed',
  cluster,
  certificate: 'proxy',
  domains: ['*.redis.example.com'],
  oldNotAfter: '2026-11-30T00:00:00.000Z',
  newNotAfter: '2027-02-21T00:00:00.000Z',
  serialNumber: '01',
  fingerprint256: 'AA',
  verification: 'ok',
});

function outcomes(alerts: Alert[], extra: Partial<RunOutcomes> = {}): RunOutcomes {
  const fleet = { ...emptyFleetSummary(new Date(AT)), clustersChecked: 5000, certificatesChecked: 30000 };
  return { generatedAt: AT, run: 'arn:aws:states:eu-west-1:1:execution:m:run-1', fleet, alerts, ...extra };
}

describe('the run digest', () => {
  it('groups a line per problem, most severe group first, soonest expiry first within a group', () => {
    const digest = buildDigest(
      outcomes([
        renewed('c1'),
        alertOnly('c2', 'expiring', '2026-12-10T00:00:00.000Z'),
        alertOnly('c3', 'expiring', '2026-12-01T00:00:00.000Z'),
        failed('c4'),
        {
          kind: 'cluster-unreachable',
          cluster: 'c5',
          error: { name: 'TlsTrustError', message: 'untrusted' },
        },
        alertOnly('c6', 'expired', '2026-11-20T00:00:00.000Z'),
        {
          kind: 'order-deferred',
          cluster: 'c7',
          certificate: 'api',
          status: 'expiring',
          notAfter: '2026-12-05T00:00:00.000Z',
          lane: 'new',
          budget: 250,
        },
      ]),
    );
    expect(digest.groups.map((g) => [g.key, g.total])).toEqual([
      ['renewal-failed', 1],
      ['cluster-unreachable', 1],
      ['expired', 1],
      ['order-deferred', 1],
      ['expiring', 2],
      ['renewed', 1],
    ]);
    expect(digest.groups.find((g) => g.key === 'expiring')?.lines).toEqual([
      'c3/syncer: expiring, expires 2026-12-01 00:00 UTC (7.8 days left)',
      'c2/syncer: expiring, expires 2026-12-10 00:00 UTC (16.8 days left)',
    ]);
    expect(digest.severity).toBe('critical');
    expect(digest.counts).toMatchObject({ failed: 1, renewed: 1, deferred: 1, clustersUnreadable: 1 });
    expect(digest.subject).toBe(
      '[rs-cert-watchdog] Run 2026-11-23: 1 failed, 1 expired, 1 unreachable, 1 deferred, 1 renewed',
    );
    expect(digest.subject.length).toBeLessThan(100);
  });

  it('stays bounded however large the run: lines capped per group, each line capped, totals kept', () => {
    const alerts = Array.from({ length: 20_000 }, (_, i) => failed(`cluster-${i}`, `c\n${'x'.repeat(1000)}`));
    const digest = buildDigest(outcomes(alerts, { report: { bucket: 'b', key: 'runs/run-1/report.json' } }));
    const group = digest.groups[0];
    expect(group?.total).toBe(20_000);
    expect(group?.lines).toHaveLength(20);
    for (const line of group?.lines ?? []) {
      expect(line.length).toBeLessThanOrEqual(200);
      expect(line).not.toContain('\n');
    }
    expect(JSON.stringify(digest).length).toBeLessThan(10_000);
    const email = formatDigest(digest);
    expect(email.text).toContain('FAILED RENEWALS (20,000)');
    expect(email.text).toContain('… and 19,980 more (in the full report)');
    expect(email.text).toContain('Full report: s3://b/runs/run-1/report.json');
  });

  it('says so when nothing needs a person', () => {
    const digest = buildDigest(outcomes([renewed('c1')]));
    expect(digest.severity).toBe('info');
    expect(digest.subject).toBe('[rs-cert-watchdog] Run 2026-11-23: 1 renewed');
    expect(buildDigest(outcomes([])).subject).toBe(
      '[rs-cert-watchdog] Run 2026-11-23: all 5,000 cluster(s) fine',
    );
    expect(formatDigest(buildDigest(outcomes([]))).text).toContain('Nothing needs a person.');
  });

  it('keeps the fleet numbers and the soonest expiries (after renewals) from the fleet summary', () => {
    const clusters: ClusterReport[] = [
      {
        name: 'east',
        error: null,
        certificates: [
          {
            name: 'proxy',
            status: 'expiring',
            notAfter: '2026-11-25T06:00:00.000Z',
            lifetimeDays: 90,
            action: 'none',
            managed: true,
          },
          {
            name: 'api',
            status: 'expired',
            notAfter: '2026-11-22T06:00:00.000Z',
            lifetimeDays: 90,
            action: 'none',
            managed: false,
          },
        ] as ClusterReport['certificates'],
      },
    ];
    const digest = buildDigest({
      generatedAt: AT,
      fleet: summarizeFleet(clusters, new Date(AT)),
      alerts: [],
    });
    expect(digest.counts).toMatchObject({
      clusters: 1,
      certificates: 2,
      certificatesExpired: 1,
      expiringWithin7Days: 1,
      minDaysLeft: -1,
    });
    expect(digest.soonest.map((s) => s.certificate)).toEqual(['api', 'proxy']);
  });

  it('sends at once only what cannot wait: failed renewals, expired certificates, Active-Active follow-ups to run or that failed', () => {
    const alerts: Alert[] = [
      renewed('a'),
      failed('b'),
      alertOnly('c', 'expired', '2026-11-20T00:00:00.000Z'),
      alertOnly('d', 'expiring', '2026-12-20T00:00:00.000Z'),
      alertOnly('e', 'invalid', null),
      { kind: 'cluster-unreachable', cluster: 'f', error: { name: 'ClusterTimeoutError', message: 'slow' } },
      { kind: 'active-active', cluster: 'g', certificates: ['proxy'], mode: 'failed', databases: [] },
      { kind: 'active-active', cluster: 'h', certificates: ['proxy'], mode: 'alert', databases: [] },
    ];
    expect(immediateAlerts(alerts).map((a) => a.cluster)).toEqual(['b', 'c', 'g', 'h']);
  });

  it('fits an SNS message by halving the lines, keeping the totals', () => {
    const digest = buildDigest(outcomes(Array.from({ length: 500 }, (_, i) => failed(`c${i}`))), {
      maxLinesPerGroup: 500,
    });
    const fitted = fitDigest(digest, (d) => JSON.stringify(d).length, 5_000);
    expect(JSON.stringify(fitted).length).toBeLessThanOrEqual(5_000);
    expect(fitted.groups[0]?.total).toBe(500);
    expect(fitted.groups[0]?.lines.length).toBeLessThan(500);
  });

  it('renders for Slack with every outside value escaped and the report link only when safe', () => {
    const hostile = failed('<!channel>');
    const safe = digestSlackMessages(
      buildDigest(
        outcomes([hostile], {
          report: { bucket: 'b', key: 'k', url: 'https://console.aws.amazon.com/s3/object/b?prefix=k' },
        }),
      ),
    );
    const text = JSON.stringify(safe);
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('<https://console.aws.amazon.com/s3/object/b?prefix=k|Open the full report>');
    const unsafe = digestSlackMessages(
      buildDigest(
        outcomes([hostile], { report: { bucket: 'b', key: 'k', url: 'https://x.example/|<!here>' } }),
      ),
    );
    expect(JSON.stringify(unsafe)).not.toContain('<!here>');
    expect(isRunDigest(buildDigest(outcomes([])))).toBe(true);
    expect(isRunDigest({ kind: 'digest', version: 2 })).toBe(false);
  });
});

describe('publishing the digest', () => {
  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
  });

  it('publishes the email text and, for the Slack forwarder’s queue, the digest itself', async () => {
    const digest = buildDigest(outcomes([failed('prod-east')]));
    await new SnsNotifier('arn:aws:sns:eu-west-1:1:alerts', new SNSClient({})).sendDigest(digest);
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.Subject).toBe(digest.subject);
    expect(input?.MessageAttributes?.kind?.StringValue).toBe('digest');
    expect(input?.MessageAttributes?.severity?.StringValue).toBe('critical');
    const message = JSON.parse(input?.Message ?? '{}') as Record<string, string>;
    expect(message.email).toContain('FAILED RENEWALS (1)');
    expect(JSON.parse(message.sqs ?? '{}')).toEqual(digest);
    // What the forwarder makes of it, as its queue delivers it (SNS's envelope).
    const envelope = { Type: 'Notification', MessageId: 'x', Subject: input?.Subject, Message: message.sqs };
    const { messages, kind } = slackMessagesFor({ body: JSON.stringify(envelope) });
    expect(kind).toBe('digest');
    expect(messages[0]?.text).toBe(digest.subject);
  });

  it('stays under SNS’s 256 KB however long its lines', async () => {
    const digest: RunDigest = buildDigest(outcomes(Array.from({ length: 3000 }, (_, i) => failed(`c${i}`))), {
      maxLinesPerGroup: 3000,
      maxLineLength: 400,
    });
    await new SnsNotifier('arn:aws:sns:eu-west-1:1:alerts', new SNSClient({})).sendDigest(digest);
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(Buffer.byteLength(input?.Message ?? '')).toBeLessThanOrEqual(250_000);
    expect((JSON.parse(JSON.parse(input?.Message ?? '{}').sqs) as RunDigest).groups[0]?.total).toBe(3000);
  });

  it('is one notify event, {digest}, sent once through the context’s digest notifier', async () => {
    const sent: RunDigest[] = [];
    const context = {
      config: { clusters: [] } as unknown as WatchdogConfig,
      digests: { sendDigest: async (d: RunDigest) => void sent.push(d) },
    } as unknown as RenewalContext;
    const digest = buildDigest(outcomes([failed('a')]));
    await expect(createNotifyHandler(() => context)({ digest })).resolves.toEqual({ sent: 1 });
    expect(sent).toEqual([digest]);
  });
});
