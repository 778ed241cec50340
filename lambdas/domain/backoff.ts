/** Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
export interface BackoffPolicy {
  /** Delay before the first retry, in milliseconds. */
  baseMs: number;
  /** Multiplier between consecutive retries. */
  rate: number;
  /** Upper bound of any single delay, in milliseconds. */
  maxMs: number;
}

/** The delay before retry number `retry` (1-based): uniform in [0, min(max, base × rate^(retry-1))]. */
export function backoffDelayMs(
  policy: BackoffPolicy,
  retry: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * policy.rate ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
