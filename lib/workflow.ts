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
import {
  ACME_ORDER,
  ACTIVE_ACTIVE_RETRY,
  CRDB_TASK_POLL,
  DNS_PROPAGATION,
  type PushRetryPolicy,
  pushRetry,
  type RetryPolicy,
  RS_GET_RETRY,
  RS_REQUEST_TIMEOUT_MS,
  TRANSIENT_LAMBDA_RETRY,
  VERIFY_PROBE,
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

/** The state names, exactly as they appear in the definition. */
export const STATE_NAMES = {
  check: 'Check',
  hasFindings: 'HasFindings',
  notifyFindings: 'NotifyFindings',
  renewDue: 'RenewDue',
  issue: 'Issue',
  push: 'Push',
  verify: 'Verify',
  activeActive: 'ActiveActive',
  notifyRenewed: 'NotifyRenewed',
  notifyFailed: 'NotifyFailed',
  failureReported: 'FailureReported',
  renewedNotReported: 'RenewedNotReported',
  done: 'Done',
} as const;

/** Time for the AWS calls around a step's real work: state reads and writes, the lock, DNS clean-up, SNS. */
const AWS_CALLS_MS = 30_000;
/** The RS reads NotifyFailed makes on its failure path: the certificates and the nodes. */
const NOTIFY_RS_READS = 2;

/** Worst case of one RS GET with its retries: every attempt times out, every backoff is at its cap. */
function rsGetWorstMs(): number {
  const { retries, backoff } = RS_GET_RETRY;
  let waits = 0;
  for (let i = 0; i < retries; i++) waits += Math.min(backoff.maxMs, backoff.baseMs * backoff.rate ** i);
  return (retries + 1) * RS_REQUEST_TIMEOUT_MS + waits;
}

/** acme-client's own polling while the CA validates and finalizes: every backoff at its cap. */
function acmePollingWorstMs(): number {
  const { attempts, minMs, maxMs } = ACME_ORDER.clientBackoff;
  let total = 0;
  for (let i = 0; i < attempts; i++) total += Math.min(maxMs, minMs * 2 ** i);
  return total;
}

/**
 * Lambda timeouts derived from the waits in lambdas/domain/retry.ts:
 *
 *   issue  = DNS_PROPAGATION.timeoutMs                 one INSYNC wait: all challenges are published together
 *          + ACME_ORDER.attempts × requestTimeoutMs     each order attempt ends at its first stalled request
 *          + ACME_ORDER.attempts × maxRetryAfterSeconds the Retry-After waits it honours
 *          + acme-client polling (clientBackoff capped) the CA validating and finalizing
 *          + AWS_CALLS_MS                               lock, state, TXT record clean-up
 *   notify = NOTIFY_RS_READS × RS GET worst case        the failure path re-reads the cluster
 *          + VERIFY_PROBE.timeoutMs                     probing the nodes (in parallel)
 *          + AWS_CALLS_MS                               lock release, TXT record removal, SNS
 *
 * Rounded up to whole seconds. Check, push and verify keep fixed timeouts.
 */
export const STEP_TIMEOUTS = {
  check: Duration.minutes(2),
  issue: Duration.seconds(
    Math.ceil(
      (DNS_PROPAGATION.timeoutMs +
        ACME_ORDER.attempts * (ACME_ORDER.requestTimeoutMs + ACME_ORDER.maxRetryAfterSeconds * 1000) +
        acmePollingWorstMs() +
        AWS_CALLS_MS) /
        1000,
    ),
  ),
  push: Duration.minutes(1),
  verify: Duration.minutes(1),
  // Every database's task polled to its end, within the step's budget, plus the AWS calls.
  activeActive: Duration.seconds(Math.ceil((CRDB_TASK_POLL.stepBudgetMs + AWS_CALLS_MS) / 1000)),
  notify: Duration.seconds(
    Math.ceil((NOTIFY_RS_READS * rsGetWorstMs() + VERIFY_PROBE.timeoutMs + AWS_CALLS_MS) / 1000),
  ),
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
