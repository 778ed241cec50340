/**
 * NotifyDigest: a run's digest to its one destination (the alert topic on AWS), once. The state
 * machine that gathers a run's outcomes calls it with `{"digest": buildDigest(outcomes)}`.
 */
import type { RunDigest } from '../digest';
import { ConfigError } from '../errors';
import type { RenewalContext } from './context';

export async function notifyDigest(ctx: Pick<RenewalContext, 'digests'>, digest: RunDigest): Promise<void> {
  if (!ctx.digests) throw new ConfigError('this context sends no digest (deployment error)');
  await ctx.digests.sendDigest(digest);
}
