/**
 * Every retry, backoff and timeout of the watchdog, in one place. The CLI's local runner and the
 * Step Functions definition (lib/workflow.ts) both read these policies, so a renewal is retried the
 * same way whichever path runs it. Where the two paths used to differ, the choice and its reason
 * sit beside the number.
 */

/** Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
export interface BackoffPolicy {
  /** Delay before the first retry, in milliseconds. */
  baseMs: number;
  /** Multiplier between consecutive retries. */
  rate: number;
  /** Upper bound of any single delay, in milliseconds. */
  maxMs: number;
}

/**
 * The delay before retry number `retry` (1-based). The ceiling is Step Functions' own formula,
 * min(MaxDelaySeconds, IntervalSeconds × BackoffRate^(retry-1)); with jitter the delay is uniform in
 * [0, ceiling], as JitterStrategy FULL does.
 */
export function backoffDelayMs(
  policy: BackoffPolicy,
  retry: number,
  jitter = true,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * policy.rate ** Math.max(0, retry - 1));
  return jitter ? Math.floor(random() * ceiling) : ceiling;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A retry as Step Functions spells it. `maxAttempts` counts retries after the first attempt (Step
 * Functions' MaxAttempts); whole seconds, because Step Functions takes nothing finer.
 */
export interface RetryPolicy {
  /** Error names (`error.name`) the retry applies to. */
  errors: readonly string[];
  maxAttempts: number;
  intervalSeconds: number;
  backoffRate: number;
  maxDelaySeconds: number;
  /** FULL spreads retries of many executions over [0, delay] (Step Functions' JitterStrategy). */
  jitter: 'FULL' | 'NONE';
}

/** The configurable part of the 409 retry (config `pushRetry`). */
export type PushRetryPolicy = Omit<RetryPolicy, 'errors'>;

export function asBackoff(policy: Omit<RetryPolicy, 'errors' | 'maxAttempts'>): BackoffPolicy {
  return {
    baseMs: policy.intervalSeconds * 1000,
    rate: policy.backoffRate,
    maxMs: policy.maxDelaySeconds * 1000,
  };
}

/** The delay before retry number `retry` (1-based) of a policy, jittered as the policy says. */
export function retryDelayMs(policy: Omit<RetryPolicy, 'errors' | 'maxAttempts'>, retry: number): number {
  return backoffDelayMs(asBackoff(policy), retry, policy.jitter === 'FULL');
}

/**
 * Push: a 409 ("not all nodes have been updated") leaves the cluster half-updated; RS's reference
 * says to retry, so the SAME saved certificate is pushed again until every node has it. Six retries
 * over up to ~10 minutes: enough for a node restart, short of a Lambda or Map timeout. The CLI used
 * an unjittered formula here; it now jitters like the Step Functions Retry, so that the two paths
 * wait the same way and overlapping runs do not retry in lockstep.
 */
export const PUSH_RETRY_ERRORS = ['NodesNotUpdatedError'] as const;
export const DEFAULT_PUSH_RETRY: PushRetryPolicy = {
  maxAttempts: 6,
  intervalSeconds: 10,
  backoffRate: 2,
  maxDelaySeconds: 240,
  jitter: 'FULL',
};

export function pushRetry(policy: PushRetryPolicy = DEFAULT_PUSH_RETRY): RetryPolicy {
  return { errors: PUSH_RETRY_ERRORS, ...policy };
}

/**
 * Errors the Lambda service (not our code) raises; worth a quick retry on any task. The CLI has no
 * Lambda in between, so it never sees them.
 */
export const TRANSIENT_LAMBDA_RETRY: RetryPolicy = {
  errors: [
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.TooManyRequestsException',
  ],
  maxAttempts: 3,
  intervalSeconds: 2,
  backoffRate: 2,
  maxDelaySeconds: 10,
  jitter: 'FULL',
};

/**
 * The per-certificate lock. A run takes it before ordering and holds it through push and verify.
 * The lease is what a crashed holder leaves behind; the CLI and the state machine both refuse a held
 * lock at once and report who holds it (no waiting: the holder finishes the work, and waiting would
 * only make the second run repeat it). 15 minutes outlasts the slowest step (the Issue task's
 * timeout plus its DNS propagation wait) so a live holder never loses its lock.
 */
export const LOCK_LEASE_MS = 15 * 60_000;

/**
 * GET requests to the RS REST API: two quick retries of connection failures and 5xx (GET is safe to
 * repeat; a PUT is never retried blindly). Timeouts: the TLS connection must be up within 5 s, the
 * whole request within 20 s (config `timeoutSeconds` overrides the latter per cluster).
 */
export const RS_GET_RETRY = {
  retries: 2,
  backoff: { baseMs: 250, rate: 2, maxMs: 2_000 } satisfies BackoffPolicy,
};
export const RS_CONNECT_TIMEOUT_MS = 5_000;
export const RS_REQUEST_TIMEOUT_MS = 20_000;

/**
 * ACME orders. acme-client retries a bad nonce 5 times itself; a storm beyond that gets up to three
 * whole-order attempts. Its own backoff on 5xx/429 is bounded here, and a Retry-After above
 * `maxRetryAfterSeconds` is not waited for: the schedule (or the Step Functions Retry) comes back
 * later instead of a Lambda sleeping through its timeout.
 */
export const ACME_ORDER = {
  attempts: 3,
  clientBackoff: { attempts: 10, minMs: 250, maxMs: 5_000 },
  requestTimeoutMs: 30_000,
  maxRetryAfterSeconds: 10,
};

/**
 * DNS-01: how long a published TXT record may take to reach the authoritative servers (Route 53
 * INSYNC) and how often that is polled. All challenges of one order are published together and
 * share one wait, so the Issue task's timeout is derived from this (lib/workflow.ts).
 */
export const DNS_PROPAGATION = { timeoutMs: 120_000, pollMs: 2_000 };

/**
 * Verify: what each endpoint serves is probed up to three times, 2 s apart (some RS versions reload
 * certificates asynchronously), each probe bounded by 5 s. The push step's diagnosis of a
 * half-updated cluster probes nodes with the same timeout.
 */
export const VERIFY_PROBE = { attempts: 3, delayMs: 2_000, timeoutMs: 5_000 };

/**
 * Active-Active follow-up: each database's forced-update task is polled (every 250 ms, backing off to
 * 2 s) until it ends. The whole step, every database together, gets 12 minutes, inside the 15 a
 * Lambda may run: a task still running then is reported, never restarted (a second update of the
 * same database must not start while one runs), and a database not reached by then is reported with
 * its command.
 */
export const CRDB_TASK_POLL = { intervalMs: 2_000, stepBudgetMs: 12 * 60_000 };

/**
 * The Active-Active state's own Retry: reading or updating databases through the REST API after a
 * connection failure or a 5xx. A retried step resumes from the push record (tasks it started are
 * polled, not started again).
 */
export const ACTIVE_ACTIVE_RETRY: RetryPolicy = {
  errors: ['ClusterNetworkError', 'ClusterTimeoutError', 'ClusterServerError'],
  maxAttempts: 2,
  intervalSeconds: 5,
  backoffRate: 2,
  maxDelaySeconds: 20,
  jitter: 'FULL',
};
