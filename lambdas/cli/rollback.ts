/**
 * `rs-cert-watchdog rollback --config F --cluster C --certificate NAME [--json]`: puts back the
 * certificate and key that the last renewal replaced, through the same Issue (staging the kept
 * certificate), Push, Verify, Active-Active and Notify steps as a renewal. Refused, with exit code 1
 * and nothing pushed, when nothing is kept or the kept certificate has expired or does not validate.
 * The work is in ./commands/rollback.ts, imported only when the command runs.
 */
import { Command } from 'commander';
import type { CommandEnv } from './commands/shared';

export type { RollbackResult } from './commands/rollback';

export function rollbackCommand(cli: CommandEnv): Command {
  return new Command('rollback')
    .description('put back the certificate and key that the last renewal replaced, then verify and alert')
    .requiredOption('-c, --config <file>', 'configuration file (JSON)')
    .requiredOption('--cluster <name>', 'cluster name from the configuration')
    .requiredOption('--certificate <name>', 'certificate name, e.g. proxy')
    .option('--json', 'print one JSON document')
    .action(async (options: { config: string; cluster: string; certificate: string; json?: boolean }) => {
      const { rollback } = await import('./commands/rollback');
      await rollback(cli, options);
    });
}
