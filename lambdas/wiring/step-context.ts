/**
 * What the renewal handlers share beyond the AWS wiring: the lock owner an execution stands for,
 * and the error a Step Functions Catch hands over.
 */
import type { ErrorInfo } from '../domain/errors';
import type { RenewalContext } from '../domain/renewal/context';
import type { LockOwner } from '../domain/state';

/**
 * The execution that holds a certificate's lock across its Lambda invocations (Issue takes it,
 * NotifyRenewed or NotifyFailed releases it). Without one (a task invoked by hand), the invocation.
 */
export function withExecution(ctx: RenewalContext, execution: string | undefined): RenewalContext {
  if (!execution) return ctx;
  const owner: LockOwner = { id: execution, description: `state machine execution ${execution}`, execution };
  return { ...ctx, lockOwner: owner };
}

/**
 * A Catch gives {Error, Cause}; on AWS, Cause is the Lambda's JSON error
 * ({"errorType","errorMessage","trace"}), locally just the message.
 */
export function errorFromCatch(error: { Error: string; Cause?: string }): ErrorInfo {
  let message = error.Cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // not JSON: the message itself
  }
  return { name: error.Error, message: message || error.Error };
}
