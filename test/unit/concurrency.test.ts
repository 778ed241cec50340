import { describe, expect, it } from 'vitest';
import { mapWithConcurrency } from '../../lambdas/domain/concurrency';

describe('mapWithConcurrency', () => {
  it('never runs more than the limit at once, uses all of it, and keeps the input order', async () => {
    let inFlight = 0;
    let peak = 0;
    const items = Array.from({ length: 25 }, (_, i) => i);
    const results = await mapWithConcurrency(items, 4, async (item) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, (item % 3) * 5));
      inFlight--;
      return item * 2;
    });
    expect(peak).toBe(4);
    expect(results).toEqual(items.map((i) => i * 2));
  });

  it('handles fewer items than the limit and none at all', async () => {
    expect(await mapWithConcurrency([1], 8, async (x) => x)).toEqual([1]);
    expect(await mapWithConcurrency([], 8, async (x) => x)).toEqual([]);
  });
});
