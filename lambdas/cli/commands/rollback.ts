/**
 * `rs-cert-watchdog rollback`: loaded only when that command runs (../rollback.ts defines it). Puts
 * back the certificate and key that the last renewal replaced, through the same Issue (staging the
 * kept certificate), Push, Verify, Active-Active and Notify steps as a renewal.
 */
import type { ErrorInfo } from '../../domain/errors';
import type { Alert } from '../../domain/ports';
import { rollbackItems } from '../../domain/renewal/rollback';
import { recordingContext, renewBatch } from '../../domain/renewal/runner';
import { batchesOf, describePush } from '../../domain/renewal/steps';
import { localRenewalContext } from '../local-context';
import { renderAlerts } from '../table';
import { type CommandEnv, configure } from './shared';

export interface RollbackResult {
  cluster: string;
  certificate: string;
  rolledBack: boolean;
  /** The certificate now on the cluster (the kept one), when rolled back. */
  fingerprint256?: string;
  notAfter?: string;
  /** The certificate it replaced, kept in turn. */
  replacedFingerprint256?: string | null;
  verification?: string;
  pushedWith?: string;
  error?: ErrorInfo;
  alerts: Alert[];
}

export interface RollbackOptions {
  config: string;
  cluster: string;
  certificate: string;
  json?: boolean;
}

/** Exit code 0 when rolled back, 1 when refused or failed (nothing pushed). */
export async function rollback(cli: CommandEnv, options: RollbackOptions): Promise<void> {
  const { io, warn } = cli;
  const config = configure(options.config, io.env);
  const ctx = localRenewalContext(config, io.env, warn);
  const [batch] = batchesOf(rollbackItems(ctx, [options]));
  const alerts: Alert[] = [];
  const outcome = await renewBatch(recordingContext(ctx, alerts), batch!, config.pushRetry);
  const step = outcome.error ? undefined : outcome.batch.steps?.[0];
  const error = outcome.error ?? outcome.batch.failures?.[0]?.error;
  const pushedWith = describePush(outcome.batch);
  const result: RollbackResult = {
    cluster: options.cluster,
    certificate: options.certificate,
    rolledBack: step !== undefined,
    ...(step
      ? {
          fingerprint256: step.fingerprint256,
          notAfter: step.notAfter,
          replacedFingerprint256: step.replacedFingerprint256 ?? null,
          verification: step.verification ?? 'not verified',
        }
      : {}),
    ...(pushedWith ? { pushedWith } : {}),
    ...(error && !step ? { error } : {}),
    alerts,
  };
  if (options.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else if (step)
    io.stdout(
      `rolled back ${options.certificate} on ${options.cluster}: now ${step.fingerprint256} (valid until ${step.notAfter}); ${step.verification}\n${renderAlerts(alerts, false)}\n`,
    );
  if (!step && error) warn(`${error.name}: ${error.message}${error.hint ? ` (${error.hint})` : ''}`);
  cli.setExitCode(step ? 0 : 1);
}
