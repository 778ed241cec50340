/**
 * The renewal workflow as a Step Functions definition (JSONPath): check the fleet, report findings,
 * then renew each due certificate in its own Map iteration so that one failure never stops the others.
 *
 *   Check → HasFindings ─true→ NotifyFindings ─┐
 *                        └─────────────────────┴→ RenewDue [Issue → Push → Verify → NotifyRenewed] → Done
 *
 * Every renewal step catches everything into NotifyFailed, which reports and ends the iteration.
 * State names are part of the contract: tests (and aws-local-stepfunctions) address tasks by them.
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { PushRetryPolicy } from '../lambdas/domain/retry-policy';
import { PUSH_RETRY_ERRORS } from '../lambdas/domain/retry-policy';

/** The functions the workflow invokes, one per step. */
export interface WorkflowFunctions {
  readonly check: IFunction;
  readonly issue: IFunction;
  readonly push: IFunction;
  readonly verify: IFunction;
  readonly notify: IFunction;
}

export interface WorkflowOptions {
  /** Map iterations (certificates renewed) side by side. */
  readonly mapConcurrency: number;
  /** How Push is retried on a 409; the CLI's push loop reads the same policy. */
  readonly pushRetry: PushRetryPolicy;
}

/** Errors the Lambda service (not our code) raises; worth a quick retry on any task. */
export const TRANSIENT_LAMBDA_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/** Error name of obtainCertificate when another execution holds the certificate's lock. */
export const STATE_LOCKED_ERROR = 'StateLockedError';

/** The state names, exactly as they appear in the definition. */
export const STATE_NAMES = {
  check: 'Check',
  hasFindings: 'HasFindings',
  notifyFindings: 'NotifyFindings',
  renewDue: 'RenewDue',
  issue: 'Issue',
  push: 'Push',
  verify: 'Verify',
  notifyRenewed: 'NotifyRenewed',
  notifyFailed: 'NotifyFailed',
  failureReported: 'FailureReported',
  done: 'Done',
} as const;

/** Builds the definition; its start state is Check. */
export function renewalWorkflow(
  scope: Construct,
  functions: WorkflowFunctions,
  options: WorkflowOptions,
): sfn.IChainable {
  const invoke = (
    stateName: string,
    lambdaFunction: IFunction,
    props: Partial<tasks.LambdaInvokeProps> = {},
  ) =>
    new tasks.LambdaInvoke(scope, stateName, {
      stateName,
      lambdaFunction,
      payloadResponseOnly: true,
      // Our own transient retry instead: CDK's default would be listed before the 409 retry on Push.
      retryOnServiceExceptions: false,
      ...props,
    });
  const transientRetry: sfn.RetryProps = {
    errors: TRANSIENT_LAMBDA_ERRORS,
    interval: Duration.seconds(2),
    maxAttempts: 3,
    backoffRate: 2,
  };

  const check = invoke(STATE_NAMES.check, functions.check).addRetry(transientRetry);
  const notifyFindings = invoke(STATE_NAMES.notifyFindings, functions.notify, {
    payload: sfn.TaskInput.fromObject({ alerts: sfn.JsonPath.listAt('$.findings') }),
    resultPath: sfn.JsonPath.DISCARD,
  }).addRetry(transientRetry);

  // The failure path of one iteration: report it, then end the iteration successfully.
  const notifyFailed = invoke(STATE_NAMES.notifyFailed, functions.notify, {
    payload: sfn.TaskInput.fromObject({
      failed: { item: sfn.JsonPath.entirePayload, error: sfn.JsonPath.objectAt('$.error') },
    }),
  })
    .addRetry(transientRetry)
    .next(new sfn.Succeed(scope, STATE_NAMES.failureReported));
  const catchAll: sfn.CatchProps = { errors: [sfn.Errors.ALL], resultPath: '$.error' };

  const issue = invoke(STATE_NAMES.issue, functions.issue)
    // Another execution renews the same certificate: wait for it; obtain() then reuses its result.
    .addRetry({
      errors: [STATE_LOCKED_ERROR],
      interval: Duration.seconds(30),
      maxAttempts: 3,
      backoffRate: 2,
    })
    .addRetry(transientRetry)
    .addCatch(notifyFailed, catchAll);
  const push = invoke(STATE_NAMES.push, functions.push)
    // First: the 409 retry. A half-updated cluster gets the SAME saved certificate until all nodes have it.
    .addRetry(pushRetryProps(options.pushRetry))
    .addRetry(transientRetry)
    .addCatch(notifyFailed, catchAll);
  const verify = invoke(STATE_NAMES.verify, functions.verify)
    .addRetry(transientRetry)
    .addCatch(notifyFailed, catchAll);
  const notifyRenewed = invoke(STATE_NAMES.notifyRenewed, functions.notify, {
    payload: sfn.TaskInput.fromObject({ renewed: sfn.JsonPath.entirePayload }),
  })
    .addRetry(transientRetry)
    .addCatch(notifyFailed, catchAll);

  const renewDue = new sfn.Map(scope, STATE_NAMES.renewDue, {
    stateName: STATE_NAMES.renewDue,
    itemsPath: '$.due',
    maxConcurrency: options.mapConcurrency,
    // The iterations report for themselves; their outputs would only grow the execution's state.
    resultPath: sfn.JsonPath.DISCARD,
  }).itemProcessor(sfn.Chain.start(issue).next(push).next(verify).next(notifyRenewed));

  const hasFindings = new sfn.Choice(scope, STATE_NAMES.hasFindings, { stateName: STATE_NAMES.hasFindings })
    .when(sfn.Condition.booleanEquals('$.hasFindings', true), notifyFindings.next(renewDue))
    .otherwise(renewDue);
  renewDue.next(new sfn.Succeed(scope, STATE_NAMES.done));

  return sfn.Chain.start(check).next(hasFindings);
}

/**
 * The config's push retry policy as a Step Functions Retry. Step Functions wants whole seconds of at
 * least 1 for IntervalSeconds and MaxDelaySeconds; the config allows fractions and 0.
 */
export function pushRetryProps(policy: PushRetryPolicy): sfn.RetryProps {
  return {
    errors: [...PUSH_RETRY_ERRORS],
    interval: Duration.seconds(Math.max(1, Math.ceil(policy.intervalSeconds))),
    backoffRate: policy.backoffRate,
    maxDelay: Duration.seconds(Math.max(1, Math.ceil(policy.maxDelaySeconds))),
    maxAttempts: policy.maxAttempts,
    jitterStrategy: policy.jitter === 'FULL' ? sfn.JitterType.FULL : sfn.JitterType.NONE,
  };
}
