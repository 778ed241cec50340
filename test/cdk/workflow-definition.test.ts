/**
 * The state machine's definition as deployed (ASL). Its executed behaviour is tested in
 * test/integration/workflow.test.ts and test/faults; this file holds the shape, the retry numbers
 * (all from lambdas/domain/retry.ts) and the timeouts derived from them.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/adapters/config-file';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import {
  ACME_ORDER,
  ACTIVE_ACTIVE_RETRY,
  DNS_PROPAGATION,
  issueTimeoutMs,
  MIGRATION_RETRY,
  RS_GET_RETRY,
  RS_REQUEST_TIMEOUT_MS,
  TRANSIENT_LAMBDA_RETRY,
  VERIFY_PROBE,
} from '../../lambdas/domain/retry';
import { STATE_NAMES, STEP_TIMEOUTS } from '../../lib/workflow';
import { type AslState, synthesizedDefinition, testFunctionArn } from '../support/synthesized-definition';

const exampleFile = fileURLToPath(new URL('../../config.example.json', import.meta.url));
const example = loadConfig(exampleFile);
const exampleAws = example.aws as NonNullable<WatchdogConfig['aws']>;
const asl = synthesizedDefinition(exampleFile);
const state = (name: string): AslState => {
  const found = asl.States[name];
  if (!found) throw new Error(`no state ${name}`);
  return found;
};
const renewDue = state(STATE_NAMES.renewDue);
const iteration = renewDue.ItemProcessor?.States ?? {};
const checkFleet = state(STATE_NAMES.checkFleet);
/** The check map's child definition: one Check task per shard. */
const shard = checkFleet.ItemProcessor?.States ?? {};
const inner = (name: string): AslState => {
  const found = iteration[name];
  if (!found) throw new Error(`no state ${name} in the Map`);
  return found;
};

const transient = {
  ErrorEquals: [...TRANSIENT_LAMBDA_RETRY.errors],
  IntervalSeconds: TRANSIENT_LAMBDA_RETRY.intervalSeconds,
  MaxAttempts: TRANSIENT_LAMBDA_RETRY.maxAttempts,
  BackoffRate: TRANSIENT_LAMBDA_RETRY.backoffRate,
  MaxDelaySeconds: TRANSIENT_LAMBDA_RETRY.maxDelaySeconds,
  JitterStrategy: TRANSIENT_LAMBDA_RETRY.jitter,
};

describe('the renewal workflow', () => {
  it('has exactly the states of STATE_NAMES', () => {
    expect([...Object.keys(asl.States), ...Object.keys(shard), ...Object.keys(iteration)].sort()).toEqual(
      Object.values(STATE_NAMES).sort(),
    );
    expect(asl.TimeoutSeconds).toBe(7200);
  });

  it('moves the state of version 0.1 first (once; retried from where it stopped), with the execution input left to the run', () => {
    expect(asl.StartAt).toBe('MigrateState');
    expect(state('MigrateState')).toMatchObject({
      Type: 'Task',
      Resource: testFunctionArn('migrateState'),
      Parameters: {},
      ResultPath: null,
      Next: 'IsRollback',
      Retry: [
        {
          ErrorEquals: [...MIGRATION_RETRY.errors],
          IntervalSeconds: MIGRATION_RETRY.intervalSeconds,
          MaxAttempts: MIGRATION_RETRY.maxAttempts,
          BackoffRate: MIGRATION_RETRY.backoffRate,
        },
        transient,
      ],
    });
    // No Catch: a migration that cannot finish fails the execution (and pages), never runs on half the state.
    expect(state('MigrateState').Catch).toBeUndefined();
  });

  it('checks the fleet in shards, gathers, reports findings, renews the due clusters, then sends the digest', () => {
    expect(state('IsRollback')).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.rollback', IsPresent: true, Next: 'PlanRollback' }],
      Default: 'CheckFleet',
    });
    // The check map (its Distributed Map fields are asserted in fleet-scale-maps.test.ts).
    expect(checkFleet).toMatchObject({ Type: 'Map', ResultPath: '$.checkRun', Next: 'Gather' });
    expect(checkFleet.Catch).toBeUndefined();
    expect(checkFleet.ItemProcessor?.StartAt).toBe('Check');
    expect(Object.keys(shard)).toEqual(['Check']);
    // A shard's Check gets the batch as its input ({Items, BatchInput}) and ends the child execution.
    expect(shard.Check).toMatchObject({ Type: 'Task', Resource: testFunctionArn('check'), End: true });
    expect(shard.Check?.Parameters).toBeUndefined();
    expect(state('Gather')).toMatchObject({
      Type: 'Task',
      Resource: testFunctionArn('check'),
      Parameters: {
        gather: {
          'manifest.$': '$.checkRun.ResultWriterDetails',
          'execution.$': '$$.Execution.Id',
          'input.$': '$',
        },
      },
      Next: 'HasFindings',
    });
    // Gather's RunSummary replaces the state: counts and keys only.
    expect(state('Gather').ResultPath).toBeUndefined();
    expect(state('HasFindings')).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.hasFindings', BooleanEquals: true, Next: 'NotifyFindings' }],
      Default: 'RenewDue',
    });
    // The findings travel as an object reference ({bucket, key, count}); notify reads them from S3.
    expect(state('NotifyFindings')).toMatchObject({
      Type: 'Task',
      Resource: testFunctionArn('notify'),
      Parameters: { 'findingsOf.$': '$.findings' },
      ResultPath: null,
      Next: 'RenewDue',
    });
    expect(renewDue).toMatchObject({
      Type: 'Map',
      MaxConcurrency: exampleAws.mapConcurrency,
      ItemSelector: {
        'cluster.$': '$$.Map.Item.Value.cluster',
        'items.$': '$$.Map.Item.Value.items',
        'execution.$': '$$.Execution.Id',
      },
      ResultPath: '$.renewals',
      Next: 'NotifyDigest',
    });
    expect(renewDue.ItemsPath).toBeUndefined();
    expect(state('NotifyDigest')).toMatchObject({
      Type: 'Task',
      Resource: testFunctionArn('notify'),
      Parameters: { 'digestOf.$': '$' },
      ResultPath: '$.digest',
      Next: 'Done',
    });
    expect(state('NotifyDigest').Catch).toBeUndefined();
    expect(state('Done').Type).toBe('Succeed');
  });

  it('plans a rollback with the check function instead of checking, then runs the same renewals', () => {
    expect(state('PlanRollback')).toMatchObject({
      Type: 'Task',
      Resource: testFunctionArn('check'),
      Parameters: { planRollback: { 'requests.$': '$.rollback', 'execution.$': '$$.Execution.Id' } },
      Next: 'HasFindings',
    });
  });

  it('ends in the digest even when the renewals map cannot run (its due list unreadable)', () => {
    expect(renewDue.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.renewDueError', Next: 'NotifyDigest' },
    ]);
  });

  it('goes on to the renewals when the findings cannot be sent', () => {
    expect(state('NotifyFindings').Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.notifyFindingsError', Next: 'RenewDue' },
    ]);
  });

  it('runs Issue → Push → Verify → ActiveActive → NotifyRenewed in each iteration', () => {
    expect(renewDue.ItemProcessor?.StartAt).toBe('Issue');
    expect(inner('Issue')).toMatchObject({ Resource: testFunctionArn('issue'), Next: 'Push' });
    expect(inner('Push')).toMatchObject({ Resource: testFunctionArn('push'), Next: 'Verify' });
    expect(inner('Verify')).toMatchObject({ Resource: testFunctionArn('verify'), Next: 'ActiveActive' });
    expect(inner('ActiveActive')).toMatchObject({
      Resource: testFunctionArn('activeActive'),
      Next: 'NotifyRenewed',
    });
    expect(inner('NotifyRenewed')).toMatchObject({
      Resource: testFunctionArn('notify'),
      Parameters: { 'renewed.$': '$' },
      End: true,
    });
  });

  it('sets a certificate another execution holds aside inside Issue (no retry; its whole-batch failures go to NotifyFailed)', () => {
    expect(inner('Issue').Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'NotifyFailed' },
    ]);
    expect(inner('Issue').Retry).toEqual([transient]);
  });

  it('gives ActiveActive its own Retry, and a Catch that still reports the renewals', () => {
    expect(inner('ActiveActive').Retry?.[0]).toMatchObject({
      ErrorEquals: [...ACTIVE_ACTIVE_RETRY.errors],
      MaxAttempts: ACTIVE_ACTIVE_RETRY.maxAttempts,
    });
    expect(inner('ActiveActive').Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.activeActiveError', Next: 'NotifyRenewed' },
    ]);
  });

  it('reports every failure of Push and Verify through NotifyFailed, which ends the iteration', () => {
    for (const name of ['Push', 'Verify']) {
      expect(inner(name).Catch, name).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'NotifyFailed' },
      ]);
    }
    expect(inner('NotifyFailed')).toMatchObject({
      Type: 'Task',
      Resource: testFunctionArn('notify'),
      Parameters: { failed: { 'item.$': '$', 'error.$': '$.error' } },
      Next: 'FailureReported',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.notifyError', Next: 'FailureReported' }],
    });
    expect(inner('FailureReported').Type).toBe('Succeed');
  });

  it('never turns a renewal whose alert failed into a failure alert', () => {
    expect(inner('NotifyRenewed').Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.notifyError', Next: 'RenewedNotReported' },
    ]);
    expect(inner('RenewedNotReported').Type).toBe('Succeed');
  });

  it("retries Push on a 409 with the config's pushRetry first, then on transient Lambda errors", () => {
    expect(inner('Push').Retry).toEqual([
      {
        ErrorEquals: ['NodesNotUpdatedError'],
        IntervalSeconds: example.pushRetry.intervalSeconds,
        BackoffRate: example.pushRetry.backoffRate,
        MaxDelaySeconds: example.pushRetry.maxDelaySeconds,
        MaxAttempts: example.pushRetry.maxAttempts,
        JitterStrategy: example.pushRetry.jitter,
      },
      transient,
    ]);
  });

  it('retries every task on transient Lambda errors with the policy of lambdas/domain/retry.ts', () => {
    for (const [name, s] of [
      ...Object.entries(asl.States),
      ...Object.entries(shard),
      ...Object.entries(iteration),
    ]) {
      if (s.Type === 'Task') expect(s.Retry?.at(-1), name).toEqual(transient);
    }
  });

  it('rounds a retry to what Step Functions accepts (whole seconds, at least 1)', () => {
    const retry = synthesizedDefinition({
      ...example,
      pushRetry: {
        maxAttempts: 2,
        intervalSeconds: 0.5,
        backoffRate: 1.5,
        maxDelaySeconds: 0,
        jitter: 'NONE',
      },
    }).States.RenewDue?.ItemProcessor?.States.Push?.Retry?.[0];
    expect(retry).toEqual({
      ErrorEquals: ['NodesNotUpdatedError'],
      IntervalSeconds: 1,
      BackoffRate: 1.5,
      MaxDelaySeconds: 1,
      MaxAttempts: 2,
      JitterStrategy: 'NONE',
    });
  });

  it('invokes only our functions, directly (payload only), in JSONPath', () => {
    const tasks = [...Object.values(asl.States), ...Object.values(shard), ...Object.values(iteration)].filter(
      (s) => s.Type === 'Task',
    );
    // MigrateState, PlanRollback, Check, Gather, NotifyFindings, NotifyDigest; Issue, Push, Verify,
    // ActiveActive, NotifyRenewed, NotifyFailed.
    expect(tasks).toHaveLength(12);
    const arns = (
      ['migrateState', 'check', 'issue', 'push', 'verify', 'activeActive', 'notify'] as const
    ).map(testFunctionArn);
    for (const task of tasks) expect(arns).toContain(task.Resource);
    expect(JSON.stringify(asl)).not.toMatch(/JSONata|Arguments|lambda:invoke/);
  });
});

describe('step timeouts', () => {
  it('give issue one DNS propagation wait plus the ACME order, its polling and the AWS calls', () => {
    const { clientBackoff } = ACME_ORDER;
    let polling = 0;
    for (let i = 0; i < clientBackoff.attempts; i++)
      polling += Math.min(clientBackoff.maxMs, clientBackoff.minMs * 2 ** i);
    const ms =
      DNS_PROPAGATION.timeoutMs +
      DNS_PROPAGATION.callsMs +
      ACME_ORDER.attempts * (ACME_ORDER.requestTimeoutMs + ACME_ORDER.maxRetryAfterSeconds * 1000) +
      polling +
      30_000;
    expect(STEP_TIMEOUTS.issue.toSeconds()).toBe(Math.ceil(ms / 1000));
    // One propagation wait, not one per challenge: two names would not fit twice.
    expect(STEP_TIMEOUTS.issue.toMilliseconds()).toBeLessThan(2 * DNS_PROPAGATION.timeoutMs + 120_000);
    expect(STEP_TIMEOUTS.issue.toSeconds()).toBeLessThanOrEqual(900);
    // The longest propagation wait a config may set still fits Lambda's 900 s.
    expect(issueTimeoutMs(DNS_PROPAGATION.maxTimeoutSeconds * 1000)).toBeLessThanOrEqual(900_000);
  });

  it('give notify enough for its failure path: two RS reads with retries, a probe, the AWS calls', () => {
    const { retries, backoff } = RS_GET_RETRY;
    let waits = 0;
    for (let i = 0; i < retries; i++) waits += Math.min(backoff.maxMs, backoff.baseMs * backoff.rate ** i);
    const rsGet = (retries + 1) * RS_REQUEST_TIMEOUT_MS + waits;
    expect(STEP_TIMEOUTS.notify.toSeconds()).toBe(
      Math.ceil((2 * rsGet + VERIFY_PROBE.timeoutMs + 30_000) / 1000),
    );
    expect(STEP_TIMEOUTS.notify.toSeconds()).toBeGreaterThan(30);
  });
});
