/**
 * `rs-cert-watchdog rollback --config F --cluster C --certificate NAME [--json]`: puts back the
 * certificate and key that the last renewal replaced, through the same Issue (staging the kept
 * certificate), Push, Verify, Active-Active and Notify steps as a renewal. Refused, with exit code 1
 * and nothing pushed, when nothing is kept or the kept certificate has expired or does not validate.
 */
import { Command } from 'commander';
import { loadConfig } from '../adapters/config-file';
import type { ErrorInfo } from '../domain/errors';
import type { Alert } from '../domain/ports';
import { rollbackItems } from '../domain/renewal/rollback';
import { recordingContext, renewBatch } from '../domain/renewal/runner';
import { batchesOf, describePush } from '../domain/renewal/steps';
import { localRenewalContext } from './local-context';
import { renderAlerts } from './table';

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

interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** The `rollback` subcommand; `exit` receives its exit code (0 rolled back, 1 refused or failed). */
export function rollbackCommand(io: Io, exit: (code: number) => void): Command {
  return new Command('rollback')
    .description('put back the certificate and key that the last renewal replaced, then verify and alert')
    .requiredOption('-c, --config <file>', 'configuration file (JSON)')
    .requiredOption('--cluster <name>', 'cluster name from the configuration')
    .requiredOption('--certificate <name>', 'certificate name, e.g. proxy')
    .option('--json', 'print one JSON document')
    .action(async (options: { config: string; cluster: string; certificate: string; json?: boolean }) => {
      const config = loadConfig(options.config);
      const warn = (line: string) => io.stderr(`rs-cert-watchdog: ${line}\n`);
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
      if (!step && error)
        io.stderr(
          `rs-cert-watchdog: ${error.name}: ${error.message}${error.hint ? ` (${error.hint})` : ''}\n`,
        );
      exit(step ? 0 : 1);
    });
}
