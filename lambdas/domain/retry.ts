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
 * GET requests to the RS REST API: two quick retries of connection failures and 5xx (GET is safe to
 * repeat; a PUT is never retried blindly). Timeouts: the TLS connection must be up within 5 s per
 * attempt, the whole request within 20 s (per cluster, config `connectTimeoutSeconds` overrides the
 * former and `timeoutSeconds` the latter). A failure after retries reports its attempts and the time
 * they took in all, not the per-attempt timeout alone.
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
  // Polling a challenge or an order that is still pending or processing (acme-client ignores
  // Retry-After on those 200 answers): the first look at once, then 10 ms doubling to 5 s, 15 polls,
  // ~35 s in all (the 50 ms start gave ~36 s in 13). A CA that validates or issues in milliseconds
  // (Pebble, a warm Let's Encrypt authorization) is often still `pending` or `processing` at the
  // first look: it is seen valid 10 ms later instead of 50 (bench/cli: two of three renewals waited
  // once). A slow CA gets two more polls in its first 2.5 s than with the 50 ms start.
  clientBackoff: { attempts: 15, minMs: 10, maxMs: 5_000 },
  requestTimeoutMs: 30_000,
  maxRetryAfterSeconds: 10,
};

/**
 * DNS-01: how long the published TXT records may take to be visible on every server the
 * propagation check asks (Route 53's INSYNC included), by default and at most (config
 * `dns.propagationTimeoutSeconds`), and how often that is polled. All challenges of one order are
 * published together and share one wait, so the Issue task's timeout is derived from the longest
 * one the config allows (`issueTimeoutMs`, lib/workflow.ts). `callsMs` bounds what comes around
 * the wait: the CNAME lookups and the provider's own calls (paced and retried when throttled).
 */
export const DNS_PROPAGATION = {
  timeoutMs: 120_000,
  maxTimeoutSeconds: 600,
  pollMs: 2_000,
  callsMs: 30_000,
};

/**
 * Route 53's API allows five requests a second per account, all callers together, and answers
 * `Throttling` beyond (and `PriorRequestNotComplete` to a change of a zone whose last change is
 * still being applied). Each process paces its own calls to `ratePerSecond`, leaving room for
 * others, and retries those two answers with full-jitter backoff, within the wait's deadline.
 */
export const ROUTE53_CALLS = {
  ratePerSecond: 4,
  retries: 8,
  backoff: { baseMs: 500, rate: 2, maxMs: 10_000 } satisfies BackoffPolicy,
  retryable: ['Throttling', 'ThrottlingException', 'PriorRequestNotComplete'] as readonly string[],
  /** A record set another run changed between our read and our write: read again, this many times in all. */
  swapAttempts: 5,
};

/** The exec provider's hook, and an RFC 2136 update (one TCP exchange), at most. */
export const DNS_UPDATE_TIMEOUT_MS = 10_000;

/**
 * Verify: what each endpoint serves is probed up to three times, 2 s apart (some RS versions reload
 * certificates asynchronously), each probe bounded by 5 s. The push step's diagnosis of a
 * half-updated cluster probes nodes with the same timeout.
 */
export const VERIFY_PROBE = { attempts: 3, delayMs: 2_000, timeoutMs: 5_000 };

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

const wholeSeconds = (ms: number) => Math.ceil(ms / 1000) * 1000;

/**
 * How long each step may run (the Lambda timeouts; the CLI runs the same steps under the same
 * bounds), derived from the waits above:
 *
 *   issue  = DNS_PROPAGATION.timeoutMs                 one propagation wait: all challenges are published together
 *          + DNS_PROPAGATION.callsMs                   CNAME lookups, the provider's calls
 *          + ACME_ORDER.attempts × requestTimeoutMs     each order attempt ends at its first stalled request
 *          + ACME_ORDER.attempts × maxRetryAfterSeconds the Retry-After waits it honours
 *          + acme-client polling (clientBackoff capped) the CA validating and finalizing
 *          + AWS_CALLS_MS                               lock, state, TXT record clean-up
 *   notify = NOTIFY_RS_READS × RS GET worst case        the failure path re-reads the cluster
 *          + VERIFY_PROBE.timeoutMs                     probing the nodes (in parallel)
 *          + AWS_CALLS_MS                               lock release, TXT record removal, SNS
 *
 * Check, push and verify keep fixed bounds. Rounded up to whole seconds.
 */
/**
 * The Issue step's bound for a DNS propagation wait of `propagationMs` (the longest
 * `dns.propagationTimeoutSeconds` of the config): the wait, the DNS calls around it, then the ACME
 * order, then the AWS calls (see below). At the largest wait allowed it stays under Lambda's 900 s.
 */
export function issueTimeoutMs(propagationMs: number = DNS_PROPAGATION.timeoutMs): number {
  return wholeSeconds(
    propagationMs +
      DNS_PROPAGATION.callsMs +
      ACME_ORDER.attempts * (ACME_ORDER.requestTimeoutMs + ACME_ORDER.maxRetryAfterSeconds * 1000) +
      acmePollingWorstMs() +
      AWS_CALLS_MS,
  );
}

export const STEP_TIMEOUT_MS = {
  check: 120_000,
  // The one-time move of earlier versions' state: it stops a minute before this and is retried.
  migrateState: 300_000,
  issue: issueTimeoutMs(),
  push: 60_000,
  verify: 60_000,
  // Every database's task polled to its end within the step's budget, plus the AWS calls.
  activeActive: wholeSeconds(12 * 60_000 + AWS_CALLS_MS),
  notify: wholeSeconds(NOTIFY_RS_READS * rsGetWorstMs() + VERIFY_PROBE.timeoutMs + AWS_CALLS_MS),
} as const;

/**
 * The lease of a certificate's lock, per step. Issue takes the lock; Push and Verify extend it as
 * they start; NotifyRenewed or NotifyFailed releases it. No lease outlives the step that took it:
 * each covers that step's own bound plus the wait until the next step starts (for Push, the longest
 * 409 retry delay; for every step, the transient Lambda retries). A holder that crashed is taken over
 * when its lease ends, or at once by a CLI on the same host that sees its process gone.
 */
export function lockLeaseMs(
  step: 'issue' | 'push' | 'verify' | 'activeActive',
  push: PushRetryPolicy = DEFAULT_PUSH_RETRY,
  stepTimeoutMs: number = STEP_TIMEOUT_MS[step],
): number {
  const transient = TRANSIENT_LAMBDA_RETRY.maxAttempts * TRANSIENT_LAMBDA_RETRY.maxDelaySeconds * 1000;
  const nextStepWait = step === 'push' ? push.maxDelaySeconds * 1000 : 0;
  return stepTimeoutMs + nextStepWait + transient + AWS_CALLS_MS;
}

/** The largest `pushRetry.maxDelaySeconds` the configuration accepts (config/schema.ts). */
const LARGEST_PUSH_DELAY_SECONDS = 3600;

/**
 * The longest lease any step sets under this push policy (without one: under any policy the
 * configuration accepts). A lock whose lease runs longer than this (plus CLOCK_SKEW_MS) was not
 * written by this product, or by a clock far off: it is invalid, and the next taker takes it over.
 */
export function maxLockLeaseMs(
  push: PushRetryPolicy = { ...DEFAULT_PUSH_RETRY, maxDelaySeconds: LARGEST_PUSH_DELAY_SECONDS },
): number {
  return Math.max(...(['issue', 'push', 'verify', 'activeActive'] as const).map((s) => lockLeaseMs(s, push)));
}

/** How far apart two hosts' clocks may be before a lease read on one looks invalid on the other. */
export const CLOCK_SKEW_MS = 5 * 60_000;
/**
 * AWS Private CA issues asynchronously: GetCertificate answers RequestInProgressException until the
 * certificate exists (usually well under a second). Polled with backoff, for at most `timeoutMs`
 * of the Issue task's 5 minutes; past that the issue fails (PrivateCaError, naming the certificate
 * ARN) and the next run orders again.
 */
export const PRIVATE_CA_ISSUE = { backoff: { baseMs: 250, rate: 2, maxMs: 4_000 }, timeoutMs: 60_000 };

/**
 * Active-Active follow-up: each database's forced-update task is polled (every 250 ms, backing off to
 * 2 s) until it ends. The whole step, every database together, gets 12 minutes, inside the 15 a
 * Lambda may run: a task still running then is reported, never restarted (a second update of the
 * same database must not start while one runs), and a database not reached by then is reported with
 * its command.
 */
export const CRDB_TASK_POLL = {
  intervalMs: 2_000,
  stepBudgetMs: STEP_TIMEOUT_MS.activeActive - AWS_CALLS_MS,
};

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

/**
 * MigrateState: a migration that ran out of time saved its progress and throws
 * StateMigrationIncompleteError; it is run again at once, from where it stopped. Twenty runs of
 * four minutes move the state of the largest fleet the README promises.
 */
export const MIGRATION_RETRY: RetryPolicy = {
  errors: ['StateMigrationIncompleteError'],
  maxAttempts: 20,
  intervalSeconds: 1,
  backoffRate: 1,
  maxDelaySeconds: 1,
  jitter: 'NONE',
};
