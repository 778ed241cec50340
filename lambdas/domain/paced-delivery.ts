/**
 * Delivering queued messages to an endpoint that takes about one message a second (a Slack incoming
 * webhook), from a batch of queue records. Pure: the clock, the sleep and the post are given.
 *
 * - Posts go one at a time, at least `minIntervalMs` apart, across batches too (`lastPostAt`).
 * - A throttle (429) with Retry-After is honoured: the same message is posted again after that
 *   wait when it fits in the time left; otherwise this record and every later one are handed back
 *   with the wait, so the queue shows them again only then.
 * - A message the endpoint refuses for itself (400, 413: its content) fails its record only; the
 *   others go on. Anything that says the endpoint is down or gone (5xx, a network error, 403,
 *   404, 410) fails this record and every later one without trying them: the queue retries them,
 *   and sends what never gets through to its dead-letter queue.
 * - Near the end of the invocation's time the rest is handed back untried, so a timeout never
 *   cuts a batch in the middle (which would post its delivered messages twice).
 */

export interface QueuedItem<M> {
  /** The queue's id of the record (what a partial batch failure names). */
  id: string;
  /** The messages it becomes, posted in order (a digest may take several). */
  messages: M[];
}

export type PostAnswer =
  | { ok: true }
  | {
      ok: false;
      /** The HTTP status, or null when no answer came. */
      status: number | null;
      /** A 429's Retry-After, in seconds. */
      retryAfterSeconds?: number;
      reason: string;
    };

export interface PacingOptions {
  minIntervalMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Milliseconds the invocation has left. */
  remainingMs: () => number;
  /** Kept for a post and its pacing wait: below this, the rest is handed back. */
  reserveMs: number;
  /** When the last post of an earlier batch went (same container), if any. */
  lastPostAt?: number;
  /** Throttles honoured per message before its record is handed back. */
  maxThrottlesPerMessage?: number;
}

export interface FailedItem {
  id: string;
  reason: string;
  /** Set when handed back because of a throttle: show it again after this many seconds. */
  retryAfterSeconds?: number;
}

export interface PacingResult {
  delivered: string[];
  failed: FailedItem[];
  lastPostAt: number | undefined;
  /** Posts made (a throttled post counts). */
  posts: number;
}

/** Whether an answer says something about this message only (the others may still go). */
export function refusedForItself(answer: Extract<PostAnswer, { ok: false }>): boolean {
  return answer.status === 400 || answer.status === 413;
}

export async function deliverPaced<M>(
  items: readonly QueuedItem<M>[],
  post: (message: M) => Promise<PostAnswer>,
  options: PacingOptions,
): Promise<PacingResult> {
  const delivered: string[] = [];
  const failed: FailedItem[] = [];
  let lastPostAt = options.lastPostAt;
  let posts = 0;
  const maxThrottles = options.maxThrottlesPerMessage ?? 3;
  const handBack = (from: number, reason: string, retryAfterSeconds?: number) => {
    for (const item of items.slice(from))
      failed.push({ id: item.id, reason, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) });
  };

  records: for (let i = 0; i < items.length; i++) {
    const item = items[i] as QueuedItem<M>;
    for (const message of item.messages) {
      let throttles = 0;
      for (;;) {
        const wait = lastPostAt === undefined ? 0 : lastPostAt + options.minIntervalMs - options.now();
        if (options.remainingMs() - Math.max(0, wait) < options.reserveMs) {
          handBack(i, 'not tried: the invocation is running out of time');
          break records;
        }
        if (wait > 0) await options.sleep(wait);
        const answer = await post(message);
        posts++;
        lastPostAt = options.now();
        if (answer.ok) break;
        if (answer.status === 429) {
          const retryAfterMs = Math.max(1, answer.retryAfterSeconds ?? 1) * 1000;
          throttles++;
          if (throttles <= maxThrottles && retryAfterMs + options.reserveMs <= options.remainingMs()) {
            await options.sleep(retryAfterMs);
            continue;
          }
          handBack(i, `throttled: ${answer.reason}`, Math.ceil(retryAfterMs / 1000));
          break records;
        }
        if (refusedForItself(answer)) {
          failed.push({ id: item.id, reason: answer.reason });
          continue records;
        }
        handBack(i, answer.reason);
        break records;
      }
    }
    delivered.push(item.id);
  }
  return { delivered, failed, lastPostAt, posts };
}
