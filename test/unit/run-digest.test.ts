/**
 * Issue 19 part B: NotifyDigest's reading of a run (`digestRun`) and the map results it reads
 * (`readMapResults`). A run is checked by the real checkShard and gathered; the renewals map's
 * child executions are written as Step Functions' ResultWriter writes them, one per way an
 * iteration ends: NotifyRenewed, RenewedNotReported, FailureReported, NotifyFailed, a failed child,
 * a child whose output is not JSON; and the renewals map failing as a whole.
 */
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../lambdas/adapters/in-memory';
import type { RunDigest } from '../../lambdas/domain/digest';
import type { Alert } from '../../lambdas/domain/ports';
import { failedAlert, renewedAlert } from '../../lambdas/domain/renewal/outcome';
import type { ClusterBatch, RenewalStep } from '../../lambdas/domain/renewal/steps';
import { type DigestRunInput, digestRun } from '../../lambdas/domain/run/digest-run';
import { gatherRun } from '../../lambdas/domain/run/gather';
import { type ChildExecution, readMapResults } from '../../lambdas/domain/run/map-results';
import { runKeys } from '../../lambdas/domain/run/objects';
import {
  checkContext,
  checkShards,
  clustersOf,
  DAY,
  executionArn,
  expectNoSecrets,
  fleetConfig,
  json,
  lambdaCause,
  NOW,
  writeMapResults,
} from './run-fixtures';

const RUN = 'nightly-2026-07-02';
const EXECUTION = executionArn(RUN);
const KEYS = runKeys(EXECUTION);
// rs-000: 2 days, rs-001: 5, rs-002: 9, rs-003: 60 (fine), rs-004: unreadable, rs-005: 2 …
const FLEET = clustersOf(10, [2, 5, 9, 60, 'unreadable']);
const NAMES = FLEET.map((c) => c.name);

/** A checked and gathered run: its store, its summary and its due batches. */
async function gathered(input: { dryRun?: boolean } = {}) {
  const config = fleetConfig(FLEET);
  const ctx = await checkContext(config, FLEET);
  const store = new MemoryObjectStore('rs-cert-watchdog-reports');
  const records = await checkShards(ctx, store, [NAMES.slice(0, 5), NAMES.slice(5)], EXECUTION, input);
  const manifest = await writeMapResults(store, 'check-run', records);
  const summary = await gatherRun(config, store, { manifest, execution: EXECUTION, input }, NOW);
  const batches = await json<ClusterBatch[]>(store, KEYS.due);
  return { store, summary, batches };
}

/** What Issue, Push and Verify hand on for a batch they renewed (never a key). */
function renewedBatch(batch: ClusterBatch): ClusterBatch {
  return {
    ...batch,
    steps: batch.items.map(
      (item, i): RenewalStep => ({
        ...item,
        fingerprint256: `${'AB:'.repeat(31)}0${i}`,
        notAfter: new Date(NOW.getTime() + 90 * DAY).toISOString(),
        serialNumber: `04${String(i).padStart(34, '0')}`,
        reused: false,
        lock: {
          key: `locks/${item.cluster}/${item.certificate}`,
          owner: { id: `${EXECUTION}/RenewDue:child`, description: 'a Step Functions execution' },
          expiresAt: new Date(NOW.getTime() + 3_600_000).toISOString(),
        },
        replacedNotAfter: item.currentNotAfter,
        replacedFingerprint256: item.currentFingerprint256,
        verification: 'served by every node',
      }),
    ),
    push: { id: 'p'.repeat(32), api: 'certificates', certificates: batch.items.map((i) => i.certificate) },
  };
}

const byCluster = (batches: ClusterBatch[], cluster: string) =>
  batches.find((b) => b.cluster === cluster) as ClusterBatch;

describe('digestRun', () => {
  it('says every iteration’s outcome, however it ended, in alerts.json and the digest', async () => {
    const { store, summary, batches } = await gathered();
    expect(batches.map((b) => b.cluster)).toEqual([
      'rs-000',
      'rs-001',
      'rs-002',
      'rs-005',
      'rs-006',
      'rs-007',
    ]);
    const findings = await json<Alert[]>(store, KEYS.findings);
    expect(findings).toHaveLength(2);

    const notified = renewedBatch(byCluster(batches, 'rs-000'));
    const notifiedAlerts = (notified.steps ?? []).map((s) =>
      renewedAlert(
        s,
        { ...s, domains: [`${s.cluster}.redis.example.com`] },
        s.replacedNotAfter ?? null,
        'served by every node',
      ),
    );
    const notReported = renewedBatch(byCluster(batches, 'rs-001'));
    const refused = byCluster(batches, 'rs-002');
    const failedChild = byCluster(batches, 'rs-005');
    const garbled = byCluster(batches, 'rs-006');
    const reportedFailure = byCluster(batches, 'rs-007');
    const reportedAlerts = reportedFailure.items.map((i) =>
      failedAlert(i, { name: 'Dns01Error', message: 'the TXT record never appeared' }),
    );
    const manifest = await writeMapResults(store, 'renew-run', [
      // NotifyRenewed answered its alerts.
      {
        status: 'SUCCEEDED',
        input: byCluster(batches, 'rs-000'),
        output: { sent: 2, alerts: notifiedAlerts },
      },
      // RenewedNotReported: renewed and verified, NotifyRenewed failed.
      {
        status: 'SUCCEEDED',
        input: byCluster(batches, 'rs-001'),
        output: {
          ...notReported,
          notifyError: {
            Error: 'NotificationError',
            Cause: lambdaCause('NotificationError', 'SNS throttled'),
          },
        },
      },
      // FailureReported: Push refused, then NotifyFailed failed too.
      {
        status: 'SUCCEEDED',
        input: refused,
        output: {
          ...refused,
          error: {
            Error: 'InvalidCertificateError',
            Cause: lambdaCause(
              'InvalidCertificateError',
              'the cluster refused the certificate (400 invalid_certificate)',
            ),
          },
          notifyError: { Error: 'States.Timeout', Cause: 'The task timed out' },
        },
      },
      // The child's output is not JSON (ResultWriter keeps it as it is).
      { status: 'SUCCEEDED', input: garbled, rawOutput: '<html>502 Bad Gateway' },
      // NotifyFailed answered its alerts.
      { status: 'SUCCEEDED', input: reportedFailure, output: { sent: 2, alerts: reportedAlerts } },
      // The child execution failed as a whole.
      {
        status: 'FAILED',
        input: failedChild,
        error: 'States.Timeout',
        cause: 'The execution timed out after 3600 seconds',
      },
    ]);

    const input: DigestRunInput = { ...summary, renewals: { ResultWriterDetails: manifest } };
    const before = store.keys();
    const { digest, alerts } = await digestRun(store, input, {
      reportUrl: ({ bucket, key }) => `https://console.aws.amazon.com/s3/object/${bucket}?prefix=${key}`,
    });
    expect(store.keys().filter((k) => !before.includes(k))).toEqual([KEYS.alerts, KEYS.digest]);

    const written = await json<Alert[]>(store, KEYS.alerts);
    const renewedNotReported = (notReported.steps ?? []).map((s) =>
      renewedAlert(s, { ...s, domains: [] }, s.replacedNotAfter ?? null, 'served by every node'),
    );
    expect(written).toEqual([
      ...findings,
      ...notifiedAlerts,
      ...renewedNotReported,
      ...refused.items.map((i) =>
        failedAlert(i, {
          name: 'InvalidCertificateError',
          message: 'the cluster refused the certificate (400 invalid_certificate)',
        }),
      ),
      ...garbled.items.map((i) =>
        failedAlert(i, {
          name: 'States.Unknown',
          message: 'the renewal ended without reporting its outcome: check the cluster',
        }),
      ),
      ...reportedAlerts,
      ...failedChild.items.map((i) =>
        failedAlert(i, { name: 'States.Timeout', message: 'The execution timed out after 3600 seconds' }),
      ),
    ]);
    expect(alerts).toBe(written.length);
    expect(alerts).toBe(2 + 12);

    expect(await json<RunDigest>(store, KEYS.digest)).toEqual(digest);
    expect(digest).toMatchObject({
      kind: 'digest',
      run: EXECUTION,
      generatedAt: NOW.toISOString(),
      counts: { clusters: 10, clustersUnreadable: 2, renewed: 4, failed: 8 },
      report: {
        bucket: 'rs-cert-watchdog-reports',
        key: KEYS.html,
        url: `https://console.aws.amazon.com/s3/object/rs-cert-watchdog-reports?prefix=${KEYS.html}`,
      },
    });
    expect(digest.dryRun ?? false).toBe(false);
    const group = (key: string) => digest.groups.find((g) => g.key === key);
    expect(group('renewed')?.total).toBe(4);
    expect(group('renewal-failed')?.total).toBe(8);
    expect(group('cluster-unreachable')?.total).toBe(2);
    expectNoSecrets(store);
  });

  it('fails every due batch when the renewals map failed as a whole', async () => {
    const { store, summary, batches } = await gathered();
    const { digest, alerts } = await digestRun(store, {
      ...summary,
      renewDueError: {
        Error: 'States.ItemReaderFailed',
        Cause: 'Access Denied reading runs/nightly-2026-07-02/due.json',
      },
    });
    const written = await json<Alert[]>(store, KEYS.alerts);
    expect(written.slice(2)).toEqual(
      batches.flatMap((b) =>
        b.items.map((i) =>
          failedAlert(i, {
            name: 'States.ItemReaderFailed',
            message: 'Access Denied reading runs/nightly-2026-07-02/due.json',
          }),
        ),
      ),
    );
    expect(alerts).toBe(14);
    expect(digest.counts).toMatchObject({ renewed: 0, failed: 12 });
    // Without a Cause: the map's failure is still said.
    await digestRun(store, { ...summary, renewDueError: {} });
    expect((await json<Alert[]>(store, KEYS.alerts)).slice(2, 3)).toEqual([
      failedAlert(batches[0]?.items[0] as never, {
        name: 'States.Runtime',
        message: 'the renewals map failed',
      }),
    ]);
  });

  it('a dry run (nothing due) tells only the findings, and reads no due list', async () => {
    const { store, summary } = await gathered({ dryRun: true });
    expect(summary.due.batches).toBe(0);
    const { digest, alerts } = await digestRun(store, {
      ...summary,
      due: { ...summary.due, key: 'runs/elsewhere/due.json' },
      renewDueError: { Error: 'States.Runtime' },
    });
    expect(alerts).toBe(2);
    expect(digest).toMatchObject({
      dryRun: true,
      counts: { renewed: 0, failed: 0 },
      report: { key: KEYS.html },
    });
    expect(digest.report).not.toHaveProperty('url');
  });

  it('points at report.json when the run has no page (a rollback)', async () => {
    const { store, summary } = await gathered();
    const { digest } = await digestRun(store, { ...summary, report: { key: KEYS.report } });
    expect(digest.report).toEqual({ bucket: 'rs-cert-watchdog-reports', key: KEYS.report });
  });

  it('names what is missing: the findings, the renewals manifest, a result file', async () => {
    const { store, summary } = await gathered();
    await expect(
      digestRun(store, { ...summary, findings: { ...summary.findings, key: 'runs/gone/findings.json' } }),
    ).rejects.toThrow(
      "runs/gone/findings.json is not in rs-cert-watchdog-reports (the run's objects expired or were removed)",
    );
    await expect(
      digestRun(store, {
        ...summary,
        renewals: { ResultWriterDetails: { Bucket: store.bucket, Key: 'runs/results/gone/manifest.json' } },
      }),
    ).rejects.toThrow(
      "the map run's manifest runs/results/gone/manifest.json is not in rs-cert-watchdog-reports",
    );
    await store.put(
      'runs/results/partial/manifest.json',
      JSON.stringify({
        ResultFiles: {
          SUCCEEDED: [{ Key: 'runs/results/partial/SUCCEEDED_0.json', Size: 2 }],
          FAILED: [{ Key: 'runs/results/partial/FAILED_0.json', Size: 2 }],
        },
      }),
      'application/json',
    );
    await store.put('runs/results/partial/SUCCEEDED_0.json', '[]', 'application/json');
    await expect(
      digestRun(store, {
        ...summary,
        renewals: {
          ResultWriterDetails: { Bucket: store.bucket, Key: 'runs/results/partial/manifest.json' },
        },
      }),
    ).rejects.toThrow(
      "the map run's result file runs/results/partial/FAILED_0.json is not in rs-cert-watchdog-reports",
    );
    expect(await store.getText(KEYS.digest)).toBeNull();
  });
});

describe('readMapResults', () => {
  it('reads every file the manifest names, as Step Functions wrote them', async () => {
    const store = new MemoryObjectStore('reports');
    const manifest = await writeMapResults(
      store,
      'm1',
      [
        { status: 'SUCCEEDED', input: { n: 1 }, output: { ok: 1 } },
        {
          status: 'FAILED',
          input: { n: 2 },
          error: 'States.TaskFailed',
          cause: lambdaCause('Error', 'boom'),
        },
        { status: 'SUCCEEDED', input: { n: 3 }, rawOutput: 'not JSON' },
        { status: 'PENDING', input: { n: 4 } },
        { status: 'SUCCEEDED', input: { n: 5 }, output: null },
        { status: 'FAILED', input: { n: 6 } },
      ],
      2,
    );
    expect(store.keys('runs/results/m1/')).toEqual([
      'runs/results/m1/FAILED_0.json',
      'runs/results/m1/PENDING_0.json',
      'runs/results/m1/SUCCEEDED_0.json',
      'runs/results/m1/SUCCEEDED_1.json',
      'runs/results/m1/manifest.json',
    ]);
    const seen: ChildExecution[] = [];
    const counts = await readMapResults(store, manifest.Key, (child) => void seen.push(child));
    expect(counts).toEqual({ succeeded: 3, failed: 2, pending: 1 });
    expect(seen).toEqual([
      { status: 'SUCCEEDED', input: { n: 1 }, output: { ok: 1 } },
      { status: 'SUCCEEDED', input: { n: 3 }, output: 'not JSON' },
      { status: 'SUCCEEDED', input: { n: 5 }, output: null },
      { status: 'FAILED', input: { n: 2 }, error: 'States.TaskFailed', cause: lambdaCause('Error', 'boom') },
      { status: 'FAILED', input: { n: 6 }, error: 'States.Unknown' },
      { status: 'PENDING', input: { n: 4 }, error: 'NotRun' },
    ]);
  });

  it('reads a map run with no children (an empty cluster list or due list)', async () => {
    const store = new MemoryObjectStore('reports');
    const manifest = await writeMapResults(store, 'empty', []);
    expect(await readMapResults(store, manifest.Key, () => undefined)).toEqual({
      succeeded: 0,
      failed: 0,
      pending: 0,
    });
  });
});
