/**
 * The renewal workflow as a Step Functions definition (JSONPath). Nothing that grows with the fleet
 * travels in its state (256 KiB per state): the cluster list, the reports, the due list, the
 * findings and the outcomes are objects in the report bucket, and the states pass counts and keys.
 *
 *   [MigrateState →] IsRollback ─no→ CheckFleet ⟦ Check ⟧ → Gather ─┐
 *                       └─yes→ PlanRollback ──────────────────────┴→ HasFindings ─true→ NotifyFindings ─┐
 *                                                                       └───────────────────────────────┴→ RenewDue ⟦ Issue → … ⟧ → NotifyDigest → Done
 *
 * CheckFleet is a Distributed Map: its ItemReader reads the cluster list the deployment wrote
 * (config/clusters.json), its ItemBatcher makes shards of `aws.checkShards.clustersPerShard`
 * clusters, each shard an Express child execution whose Check task reads those clusters and writes
 * their report and plan. A failed shard is tolerated (its clusters become findings in Gather).
 * Gather spends the order budget over every shard's due list, writes the run's due list (a batch per
 * item), findings, report and page, and returns a RunSummary.
 *
 * RenewDue is a Distributed Map over the due list: one Standard child execution per batch (a 409's
 * Retry may outlast Express's 5 minutes), each with its own small history, running the item
 * processor below. Its ResultWriter keeps every child's outcome for NotifyDigest, which sends the
 * run's one digest (email and Slack) with a link to the report page.
 *
 * MigrateState (present while the construct's `migrateLegacyState` is on) moves the state secrets
 * of version 0.1 into the state table, once; afterwards it reads one item and returns.
 *
 *   Issue → Push → Verify → ActiveActive → NotifyRenewed ─→ (end)
 *     │       │       │         │               └─ any error → RenewedNotReported (Succeed: renewed)
 *     │       │       │         └─ any error (after its Retry) → NotifyRenewed, with $.activeActiveError
 *     └───────┴───────┴─ any error → NotifyFailed → FailureReported (Succeed; also when it fails)
 *
 * Issue sets aside, per certificate, what it cannot order and what another execution holds (no
 * alert for those); the batch goes on with the rest. A rollback execution (`{"rollback": [...]}`)
 * runs the same item processor with the kept certificates.
 *
 * Every retry number comes from lambdas/domain/retry.ts, through `retryProps`. State names are part
 * of the contract: tests, aws-local-stepfunctions and the CLI's local runner address steps by them.
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { WatchdogConfig } from '../lambdas/domain/config/types';
import { longestPropagationMs } from '../lambdas/domain/dns-settings';
import { RENEWAL_STEPS } from '../lambdas/domain/renewal/steps';
import {
  ACTIVE_ACTIVE_RETRY,
  issueTimeoutMs,
  MIGRATION_RETRY,
  type PushRetryPolicy,
  pushRetry,
  type RetryPolicy,
  STEP_TIMEOUT_MS,
  TRANSIENT_LAMBDA_RETRY,
} from '../lambdas/domain/retry';
import { CLUSTER_LIST_KEY, MAP_RESULTS_PREFIX } from '../lambdas/domain/run/objects';

/** The functions the workflow invokes, one per step. */
export interface WorkflowFunctions {
  readonly check: IFunction;
  readonly issue: IFunction;
  readonly push: IFunction;
  readonly verify: IFunction;
  readonly activeActive: IFunction;
  readonly notify: IFunction;
  /** Moves the state of version 0.1 into the table; without it there is no MigrateState. */
  readonly migrateState?: IFunction;
}

export interface WorkflowOptions {
  /** Renewal child executions (clusters renewed) side by side. */
  readonly mapConcurrency: number;
  /** How the fleet check is split into shards (aws.checkShards). */
  readonly checkShards: { readonly clustersPerShard: number; readonly concurrency: number };
  /** The bucket of the cluster list, the runs' objects and the maps' results. */
  readonly reportBucket: IBucket;
  /** How Push is retried on a 409; the CLI's push loop reads the same policy. */
  readonly pushRetry: PushRetryPolicy;
}

/**
 * The state names, exactly as they appear in the definition. The states of one iteration are the
 * renewal steps the CLI's runner runs (lambdas/domain/renewal/steps.ts), named once there.
 */
export const STATE_NAMES = {
  migrateState: 'MigrateState',
  isRollback: 'IsRollback',
  planRollback: 'PlanRollback',
  checkFleet: 'CheckFleet',
  check: 'Check',
  gather: 'Gather',
  hasFindings: 'HasFindings',
  notifyFindings: 'NotifyFindings',
  renewDue: 'RenewDue',
  ...RENEWAL_STEPS,
  notifyDigest: 'NotifyDigest',
  done: 'Done',
} as const;

/** The Lambda timeouts: lambdas/domain/retry.ts derives them from the waits each step may make. */
/** The issue function's timeout for a config: the longest DNS propagation wait it allows, then the order. */
export function issueStepTimeout(config: Pick<WatchdogConfig, 'dns' | 'clusters'>): Duration {
  return Duration.millis(issueTimeoutMs(longestPropagationMs(config)));
}

export const STEP_TIMEOUTS = {
  migrateState: Duration.millis(STEP_TIMEOUT_MS.migrateState),
  check: Duration.millis(STEP_TIMEOUT_MS.check),
  issue: Duration.millis(STEP_TIMEOUT_MS.issue),
  push: Duration.millis(STEP_TIMEOUT_MS.push),
  verify: Duration.millis(STEP_TIMEOUT_MS.verify),
  activeActive: Duration.millis(STEP_TIMEOUT_MS.activeActive),
  notify: Duration.millis(STEP_TIMEOUT_MS.notify),
} as const;

/**
 * A retry policy as a Step Functions Retry: the one conversion. Step Functions takes whole seconds
 * of at least 1 for IntervalSeconds and MaxDelaySeconds; a policy may hold fractions and 0.
 */
export function retryProps(policy: RetryPolicy): sfn.RetryProps {
  const seconds = (s: number) => Duration.seconds(Math.max(1, Math.ceil(s)));
  return {
    errors: [...policy.errors],
    interval: seconds(policy.intervalSeconds),
    backoffRate: policy.backoffRate,
    maxDelay: seconds(policy.maxDelaySeconds),
    maxAttempts: policy.maxAttempts,
    jitterStrategy: policy.jitter === 'FULL' ? sfn.JitterType.FULL : sfn.JitterType.NONE,
  };
}

/** Builds the definition; its start state is Check. */
export function renewalWorkflow(
  scope: Construct,
  functions: WorkflowFunctions,
  options: WorkflowOptions,
): sfn.IChainable {
  /** A Lambda task: its own retries first (Step Functions takes the first that matches), then the transient one. */
  const invoke = (
    stateName: string,
    lambdaFunction: IFunction,
    props: Partial<tasks.LambdaInvokeProps> = {},
    retries: RetryPolicy[] = [],
  ) => {
    const task = new tasks.LambdaInvoke(scope, stateName, {
      stateName,
      lambdaFunction,
      payloadResponseOnly: true,
      // Our own transient retry instead: CDK's default would be listed before the 409 retry on Push.
      retryOnServiceExceptions: false,
      ...props,
    });
    for (const policy of [...retries, TRANSIENT_LAMBDA_RETRY]) task.addRetry(retryProps(policy));
    return task;
  };
  const succeed = (name: string) => new sfn.Succeed(scope, name, { stateName: name });
  const catchAll = (resultPath: string): sfn.CatchProps => ({ errors: [sfn.Errors.ALL], resultPath });

  // The failure path of one iteration: report it (the notify function also releases the lock and
  // removes the DNS records), then end the iteration successfully, even if the report failed.
  const notifyFailed = invoke(STATE_NAMES.notifyFailed, functions.notify, {
    payload: sfn.TaskInput.fromObject({
      failed: { item: sfn.JsonPath.entirePayload, error: sfn.JsonPath.objectAt('$.error') },
    }),
  });
  const failureReported = succeed(STATE_NAMES.failureReported);
  notifyFailed.addCatch(failureReported, catchAll('$.notifyError')).next(failureReported);
  const toNotifyFailed = catchAll('$.error');

  const issue = invoke(STATE_NAMES.issue, functions.issue).addCatch(notifyFailed, toNotifyFailed);
  // A half-updated cluster (409) gets the SAME saved set again until all nodes have it.
  const push = invoke(STATE_NAMES.push, functions.push, {}, [pushRetry(options.pushRetry)]).addCatch(
    notifyFailed,
    toNotifyFailed,
  );
  const verify = invoke(STATE_NAMES.verify, functions.verify).addCatch(notifyFailed, toNotifyFailed);
  const notifyRenewed = invoke(STATE_NAMES.notifyRenewed, functions.notify, {
    payload: sfn.TaskInput.fromObject({ renewed: sfn.JsonPath.entirePayload }),
  })
    // The certificate is renewed: a failed alert must not turn into a failure alert.
    .addCatch(succeed(STATE_NAMES.renewedNotReported), catchAll('$.notifyError'));
  // After a verified proxy or syncer push; its failure still reports the renewals, plus its own alert.
  const activeActive = invoke(STATE_NAMES.activeActive, functions.activeActive, {}, [
    ACTIVE_ACTIVE_RETRY,
  ]).addCatch(notifyRenewed, catchAll('$.activeActiveError'));

  const results = new sfn.ResultWriterV2({ bucket: options.reportBucket, prefix: MAP_RESULTS_PREFIX });
  const renewDue = new sfn.DistributedMap(scope, STATE_NAMES.renewDue, {
    stateName: STATE_NAMES.renewDue,
    // One child execution per batch (a cluster's own certificates: one push), read from the run's
    // due list, so the parent's state and history stay small whatever is due.
    itemReader: new sfn.S3JsonItemReader({
      bucketNamePath: sfn.JsonPath.stringAt('$.due.bucket'),
      key: sfn.JsonPath.stringAt('$.due.key'),
    }),
    // The execution holds the certificates' locks across its Lambda invocations: each step names it
    // as the holder, so "another run holds it" says which execution, and until when.
    itemSelector: {
      cluster: sfn.JsonPath.stringAt('$$.Map.Item.Value.cluster'),
      items: sfn.JsonPath.listAt('$$.Map.Item.Value.items'),
      execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
    },
    maxConcurrency: options.mapConcurrency,
    // Standard children: a 409's Retry may take longer than an Express execution's 5 minutes.
    mapExecutionType: sfn.StateMachineType.STANDARD,
    // Every iteration reports for itself (NotifyFailed); a failed child is the digest's line, not the run's end.
    toleratedFailurePercentage: 100,
    resultWriterV2: results,
    resultPath: '$.renewals',
  }).itemProcessor(sfn.Chain.start(issue).next(push).next(verify).next(activeActive).next(notifyRenewed));

  const notifyDigest = invoke(STATE_NAMES.notifyDigest, functions.notify, {
    payload: sfn.TaskInput.fromObject({ digestOf: sfn.JsonPath.entirePayload }),
    resultPath: '$.digest',
  });
  // A renewals map that could not run (its due list unreadable) still ends in the digest, which says so.
  renewDue.addCatch(notifyDigest, catchAll('$.renewDueError'));
  renewDue.next(notifyDigest);
  notifyDigest.next(succeed(STATE_NAMES.done));

  // Only the immediate findings (an expired certificate) go out now; the rest are the digest's.
  const notifyFindings = invoke(STATE_NAMES.notifyFindings, functions.notify, {
    payload: sfn.TaskInput.fromObject({ findingsOf: sfn.JsonPath.objectAt('$.findings') }),
    resultPath: sfn.JsonPath.DISCARD,
  });
  // Findings that cannot be sent never block renewals (the notify errors alarm still fires).
  notifyFindings.addCatch(renewDue, catchAll('$.notifyFindingsError'));
  const hasFindings = new sfn.Choice(scope, STATE_NAMES.hasFindings, { stateName: STATE_NAMES.hasFindings })
    .when(sfn.Condition.booleanEquals('$.hasFindings', true), notifyFindings.next(renewDue))
    .otherwise(renewDue);

  // The check, sharded: each child execution's Check reads one batch of the cluster list.
  const check = invoke(STATE_NAMES.check, functions.check);
  const checkFleet = new sfn.DistributedMap(scope, STATE_NAMES.checkFleet, {
    stateName: STATE_NAMES.checkFleet,
    itemReader: new sfn.S3JsonItemReader({ bucket: options.reportBucket, key: CLUSTER_LIST_KEY }),
    itemBatcher: new sfn.ItemBatcher({
      maxItemsPerBatch: options.checkShards.clustersPerShard,
      // The run's options and name reach every shard beside its clusters. CDK writes BatchInput as
      // given (no `.$` added for paths, unlike Parameters): without the suffix each shard would get
      // the literal strings, every run's shards one prefix, and no `force` or `dryRun`.
      batchInput: {
        'execution.$': '$$.Execution.Id',
        'input.$': '$',
      },
    }),
    maxConcurrency: options.checkShards.concurrency,
    // A shard reads its clusters in seconds: Express children, billed by duration.
    mapExecutionType: sfn.StateMachineType.EXPRESS,
    // A failed shard is a finding (Gather reports its clusters unread); it never ends the run.
    toleratedFailurePercentage: 100,
    resultWriterV2: results,
    resultPath: '$.checkRun',
  }).itemProcessor(check);
  const gather = invoke(STATE_NAMES.gather, functions.check, {
    payload: sfn.TaskInput.fromObject({
      gather: {
        manifest: sfn.JsonPath.objectAt('$.checkRun.ResultWriterDetails'),
        execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
        input: sfn.JsonPath.entirePayload,
      },
    }),
  });
  const planRollback = invoke(STATE_NAMES.planRollback, functions.check, {
    payload: sfn.TaskInput.fromObject({
      planRollback: {
        requests: sfn.JsonPath.listAt('$.rollback'),
        execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
      },
    }),
  });
  const isRollback = new sfn.Choice(scope, STATE_NAMES.isRollback, { stateName: STATE_NAMES.isRollback })
    .when(sfn.Condition.isPresent('$.rollback'), planRollback.next(hasFindings))
    .otherwise(checkFleet.next(gather).next(hasFindings));

  const run = sfn.Chain.start(isRollback);
  if (!functions.migrateState) return run;
  // Its input is the execution's; its output is dropped, so Check gets the execution input as ever.
  const migrate = invoke(
    STATE_NAMES.migrateState,
    functions.migrateState,
    { payload: sfn.TaskInput.fromObject({}), resultPath: sfn.JsonPath.DISCARD },
    [MIGRATION_RETRY],
  );
  return sfn.Chain.start(migrate).next(run);
}
