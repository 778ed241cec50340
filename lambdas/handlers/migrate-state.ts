import type { Context } from 'aws-lambda';
import { type MigrationOptions, migrateLegacyState } from '../domain/state-migration';
import { awsMigrationContext } from '../wiring/migrate-context';
import { logger } from '../wiring/runtime';

/** Stops this long before the Lambda timeout, its progress saved; the state's Retry goes on. */
const MARGIN_MS = 60_000;

/**
 * MigrateState: moves the state of version 0.1 from Secrets Manager into the state table,
 * once (a no-op after it is done). Throws StateMigrationIncompleteError when it must go on in
 * another invocation.
 */
export function createMigrateStateHandler(context: () => Omit<MigrationOptions, 'outOfTime'>) {
  return async (_event: unknown, lambda?: Pick<Context, 'getRemainingTimeInMillis'>) => {
    const deadline = lambda
      ? Date.now() + lambda.getRemainingTimeInMillis() - MARGIN_MS
      : Number.POSITIVE_INFINITY;
    const progress = await migrateLegacyState({ ...context(), outOfTime: () => Date.now() > deadline });
    logger.info('state migration', { ...progress });
    return { done: progress.done, moved: progress.moved };
  };
}

export const handler = createMigrateStateHandler(awsMigrationContext);
