/**
 * rs-cert-watchdog command line. Exit codes: 0 nothing needs attention, 1 something does,
 * 2 usage or configuration error. `--json` prints exactly one JSON document on stdout.
 */
import { Command, CommanderError } from 'commander';
import { loadConfig } from '../adapters/config-file';
import { checkFleet } from '../domain/check';
import { ConfigError, WatchdogError } from '../domain/errors';
import { renewFleet } from '../domain/renewal/runner';
import { type FleetReport, needsAttention } from '../domain/report';
import { localRenewalContext } from './local-context';
import { rollbackCommand } from './rollback';
import { renderAlerts, renderReport } from './table';

export const EXIT_OK = 0;
export const EXIT_ATTENTION = 1;
export const EXIT_USAGE = 2;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
};

export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  let exitCode = EXIT_OK;
  const emit = (report: FleetReport, json: boolean) => {
    io.stdout(json ? `${JSON.stringify(report, null, 2)}\n` : `${renderReport(report)}\n`);
    exitCode = needsAttention(report) ? EXIT_ATTENTION : EXIT_OK;
  };

  const warn = (line: string) => io.stderr(`rs-cert-watchdog: ${line}\n`);
  const program = new Command()
    .name('rs-cert-watchdog')
    .description('Certificate-expiry watchdog and ACME auto-renewer for Redis Enterprise Software clusters')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();

  program
    .command('check')
    .description("report every cluster's certificates and when they renew; never writes to a cluster")
    .requiredOption('-c, --config <file>', 'configuration file (JSON)')
    .option('--json', 'print one JSON document instead of tables')
    .action(async (options: { config: string; json?: boolean }) => {
      const config = loadConfig(options.config);
      const report = await checkFleet(config, localRenewalContext(config, io.env, warn));
      emit(report, options.json === true);
    });

  program
    .command('renew')
    .description('renew what is due through ACME, alert on what cannot be renewed, and verify the result')
    .requiredOption('-c, --config <file>', 'configuration file (JSON)')
    .option('--json', 'print one JSON document instead of tables')
    .option('--dry-run', 'decide and report without ordering, pushing or alerting')
    .option(
      '--force <name>',
      'renew this certificate even when not due (NAME or CLUSTER/NAME); repeatable',
      collect,
      [],
    )
    .action(async (options: { config: string; json?: boolean; dryRun?: boolean; force: string[] }) => {
      const config = loadConfig(options.config);
      const ctx = localRenewalContext(config, io.env, warn);
      const report = await renewFleet(ctx, {
        dryRun: options.dryRun === true,
        force: options.force,
        pushRetry: config.pushRetry,
      });
      emit(report, options.json === true);
      if (options.json !== true && report.alerts.length > 0)
        io.stdout(`${renderAlerts(report.alerts, report.dryRun)}\n`);
    });

  // rs7.22: rollback (self-contained, ./rollback.ts)
  program.addCommand(
    rollbackCommand(io, (code) => {
      exitCode = code;
    }),
  );

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof ConfigError) {
      io.stderr(`rs-cert-watchdog: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof WatchdogError) {
      io.stderr(`rs-cert-watchdog: ${error.name}: ${error.message}\n`);
      return EXIT_ATTENTION;
    }
    io.stderr(`rs-cert-watchdog: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT_ATTENTION;
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
