/**
 * How a push that answered 409 ("not all nodes have been updated") is retried. Defined once: the
 * CLI's push loop and the Step Functions Retry on the push task (lib/) both read these numbers.
 *
 * RS's reference says to retry the update when the failure was temporary; a 409 leaves the cluster
 * half-updated, so the SAME certificate is pushed again until every node has it.
 */
import type { BackoffPolicy } from './backoff';

export interface PushRetryPolicy {
  /** Retries after the first attempt (Step Functions' MaxAttempts). */
  maxAttempts: number;
  /** Delay before the first retry (Step Functions' IntervalSeconds, at least 1 there). */
  intervalSeconds: number;
  backoffRate: number;
  /** Upper bound of one delay (Step Functions' MaxDelaySeconds). */
  maxDelaySeconds: number;
  /** FULL spreads retries of many executions over [0, delay] (Step Functions' JitterStrategy). */
  jitter: 'FULL' | 'NONE';
}

/** Error names the push is retried on. Only the 409. */
export const PUSH_RETRY_ERRORS = ['NodesNotUpdatedError'] as const;

/** Six retries over up to ~10 minutes: enough for a node restart, short of a Lambda/Map timeout. */
export const DEFAULT_PUSH_RETRY: PushRetryPolicy = {
  maxAttempts: 6,
  intervalSeconds: 10,
  backoffRate: 2,
  maxDelaySeconds: 240,
  jitter: 'FULL',
};

export function pushBackoff(policy: PushRetryPolicy): BackoffPolicy & { jitter: boolean } {
  return {
    baseMs: policy.intervalSeconds * 1000,
    rate: policy.backoffRate,
    maxMs: policy.maxDelaySeconds * 1000,
    jitter: policy.jitter === 'FULL',
  };
}
