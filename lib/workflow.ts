/**
 * The renewal workflow as a Step Functions definition (JSONPath): check the fleet, report findings,
 * then renew the due certificates of each cluster in its own Map iteration (one push per cluster), so
 * that one failure never stops the others.
 *
 *   Check → HasFindings ─true→ NotifyFindings ─┐  (a failed NotifyFindings continues too)
 *                        └─────────────────────┴→ RenewDue [ item processor, per cluster ] → Done
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
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { WatchdogConfig } from '../lambdas/domain/config/types';
import { longestPropagationMs } from '../lambdas/domain/dns-settings';
import { RENEWAL_STEPS } from '../lambdas/domain/renewal/steps';
import {
  ACTIVE_ACTIVE_RETRY,
  issueTimeoutMs,
  type PushRetryPolicy,
  pushRetry,
  type RetryPolicy,
  STEP_TIMEOUT_MS,
  TRANSIENT_LAMBDA_RETRY,
} from '../lambdas/domain/retry';

/** The functions the workflow invokes, one per step. */
export interface WorkflowFunctions {
  readonly check: IFunction;
  readonly issue: IFunction;
  readonly push: IFunction;
  readonly verify: IFunction;
  readonly activeActive: IFunction;
  readonly notify: IFunction;
}

export interface WorkflowOptions {
  /** Map iterations (certificates renewed) side by side. */
  readonly mapConcurrency: number;
  /** How Push is retried on a 409; the CLI's push loop reads the same policy. */
  readonly pushRetry: PushRetryPolicy;
}

/**
 * The state names, exactly as they appear in the definition. The states of one iteration are the
 * renewal steps the CLI's runner runs (lambdas/domain/renewal/steps.ts), named once there.
 */
export const STATE_NAMES = {
  check: 'Check',
  hasFindings: 'HasFindings',
  notifyFindings: 'NotifyFindings',
  renewDue: 'RenewDue',
  ...RENEWAL_STEPS,
  done: 'Done',
} as const;

/** The Lambda timeouts: lambdas/domain/retry.ts derives them from the waits each step may make. */
/** The issue function's timeout for a config: the longest DNS propagation wait it allows, then the order. */
export function issueStepTimeout(config: Pick<WatchdogConfig, 'dns' | 'clusters'>): Duration {
  return Duration.millis(issueTimeoutMs(longestPropagationMs(config)));
}

export const STEP_TIMEOUTS = {
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

  const check = invoke(STATE_NAMES.check, functions.check);
  const notifyFindings = invoke(STATE_NAMES.notifyFindings, functions.notify, {
    payload: sfn.TaskInput.fromObject({ alerts: sfn.JsonPath.listAt('$.findings') }),
    resultPath: sfn.JsonPath.DISCARD,
  });

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

  const renewDue = new sfn.Map(scope, STATE_NAMES.renewDue, {
    stateName: STATE_NAMES.renewDue,
    // One iteration per cluster: all its due certificates go in one push.
    itemsPath: '$.batches',
    // The execution holds the certificates' locks across its Lambda invocations: each step names it
    // as the holder, so "another run holds it" says which execution, and until when.
    itemSelector: {
      cluster: sfn.JsonPath.stringAt('$$.Map.Item.Value.cluster'),
      items: sfn.JsonPath.listAt('$$.Map.Item.Value.items'),
      execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
    },
    maxConcurrency: options.mapConcurrency,
    // The iterations report for themselves; their outputs would only grow the execution's state.
    resultPath: sfn.JsonPath.DISCARD,
  }).itemProcessor(sfn.Chain.start(issue).next(push).next(verify).next(activeActive).next(notifyRenewed));

  // Findings that cannot be sent never block renewals (the notify errors alarm still fires).
  notifyFindings.addCatch(renewDue, catchAll('$.notifyFindingsError'));
  const hasFindings = new sfn.Choice(scope, STATE_NAMES.hasFindings, { stateName: STATE_NAMES.hasFindings })
    .when(sfn.Condition.booleanEquals('$.hasFindings', true), notifyFindings.next(renewDue))
    .otherwise(renewDue);
  renewDue.next(succeed(STATE_NAMES.done));

  return sfn.Chain.start(check).next(hasFindings);
}
