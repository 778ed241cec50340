/**
 * rs-cert-watchdog command line. Exit codes: 0 nothing needs attention, 1 something does,
 * 2 usage or configuration error (always before any network call, and never alerted).
 * `--json` prints exactly one JSON document on stdout: the report, or `{name, message, hint}` on error.
 */
import { Command, CommanderError } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import { checkLocalInputs, formatConfigError, loadConfig } from '../adapters/config-file';
import { alertSeverity } from '../domain/alerts';
import { checkFleet } from '../domain/check';
import type { WatchdogConfig } from '../domain/config/types';
import { ConfigError, type ErrorInfo, toErrorInfo, WatchdogError } from '../domain/errors';
import { scheduleProblem } from '../domain/policy';
import { redactUrlsIn } from '../domain/redact';
import { renewFleet } from '../domain/renewal/runner';
import { type FleetReport, managedLifetimes, needsAttention } from '../domain/report';
import { localRenewalContext } from './local-context';
import { rollbackCommand } from './rollback';
import { renderAlerts, renderReport } from './table';
import { forTerminal, linesForTerminal, outputWidth } from './terminal';

export const EXIT_OK = 0;
export const EXIT_ATTENTION = 1;
export const EXIT_USAGE = 2;

export const VERSION: string = packageJson.version;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** The terminal's width when stdout is one; COLUMNS in `env` wins. */
  columns?: number | undefined;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  columns: process.stdout.isTTY ? process.stdout.columns : undefined,
};

export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  let exitCode = EXIT_OK;
  const width = outputWidth(io.env, io.columns);
  const json = argv.includes('--json');
  const emit = (report: FleetReport & { alerts?: unknown[] }, text: () => string) => {
    io.stdout(json ? `${JSON.stringify(report, null, 2)}\n` : `${text()}\n`);
    exitCode = needsAttention(report) ? EXIT_ATTENTION : EXIT_OK;
  };
  const warn = (line: string) => io.stderr(`rs-cert-watchdog: ${forTerminal(line)}\n`);
  /** Config file, then every local input it names: a configuration error is exit 2 before any network call. */
  const configure = (path: string): WatchdogConfig => {
    const config = loadConfig(path);
    checkLocalInputs(config, io.env);
    return config;
  };

  const program = new Command()
    .name('rs-cert-watchdog')
    .description('Certificate-expiry watchdog and ACME auto-renewer for Redis Enterprise Software clusters')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(linesForTerminal(text)),
      writeErr: (text) => io.stderr(linesForTerminal(text)),
      getOutHelpWidth: () => width ?? 100,
      getErrHelpWidth: () => width ?? 100,
    })
    .showHelpAfterError('(run rs-cert-watchdog --help for usage)')
    .showSuggestionAfterError(true);

  program
    .command('check')
    .description("report every cluster's certificates and when they renew; never writes to a cluster")
    .requiredOption('-c, --config <file>', 'configuration file (JSON)')
    .option('--json', 'print one JSON document instead of tables')
    .action(async (options: { config: string }) => {
      const config = configure(options.config);
      const report = await checkFleet(config, localRenewalContext(config, io.env, warn));
      const problem =
        config.aws &&
        scheduleProblem(
          config.aws.schedule,
          managedLifetimes(report),
          config.renewBeforeDays,
          config.aws.timeZone,
        );
      if (problem) {
        report.scheduleProblem = problem;
        warn(`schedule refused: ${problem.message}`);
      }
      warnAdvice(report, warn);
      emit(report, () => renderReport(report, { width }));
    });

  program
    .command('renew')
    .description('renew what is due through ACME, alert on what cannot be renewed, and verify the result')
    .requiredOption('-c, --config <file>', 'configuration file (JSON)')
    .option('--json', 'print one JSON document instead of tables')
    .option(
      '--dry-run',
      'show the plan (what would be renewed, pushed, left, refused, and why); order, push and alert nothing',
    )
    .option(
      '--force <name>',
      'renew this certificate even when not due (NAME or CLUSTER/NAME); repeatable',
      collect,
      [],
    )
    .action(async (options: { config: string; dryRun?: boolean; force: string[] }) => {
      const config = configure(options.config);
      const ctx = localRenewalContext(config, io.env, warn);
      const report = await renewFleet(ctx, {
        dryRun: options.dryRun === true,
        force: options.force,
        pushRetry: config.pushRetry,
        warn,
      });
      const withSeverity = {
        ...report,
        alerts: report.alerts.map((alert) => ({ ...alert, severity: alertSeverity(alert) })),
      };
      emit(withSeverity, () => {
        const tables = renderReport(report, {
          width,
          force: options.force,
          domains: (cluster, name) =>
            config.clusters.find((c) => c.name === cluster)?.certificates[name]?.domains,
        });
        return report.alerts.length > 0
          ? `${tables}\n${renderAlerts(report.alerts, report.dryRun, width)}`
          : tables;
      });
      if (options.dryRun === true) warnAdvice(report, warn);
    });

  // rs7.22: rollback (self-contained, ./rollback.ts)
  program.addCommand(
    rollbackCommand(io, (code) => {
      exitCode = code;
    }),
  );

  const fail = (info: ErrorInfo, code: number, human: string): number => {
    if (human) io.stderr(`${linesForTerminal(redactUrlsIn(human))}\n`);
    if (json) io.stdout(`${JSON.stringify(info, null, 2)}\n`);
    return code;
  };

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit through here with code 0; commander has already printed its message.
      if (error.exitCode === 0) return EXIT_OK;
      return fail(usageError(error), EXIT_USAGE, '');
    }
    if (error instanceof ConfigError) return fail(toErrorInfo(error), EXIT_USAGE, formatConfigError(error));
    if (error instanceof WatchdogError)
      return fail(toErrorInfo(error), EXIT_ATTENTION, formatConfigError(error));
    const info = toErrorInfo(error);
    return fail(
      { ...info, hint: 'this is a bug: please report it with the command that caused it' },
      EXIT_ATTENTION,
      `rs-cert-watchdog: unexpected error: ${(error as Error).stack ?? String(error)}`,
    );
  }
}

/** A command-line mistake as a JSON error document: a ConfigError (the command line is configuration too). */
function usageError(error: CommanderError): ErrorInfo {
  const message = error.message.replace(/^error: /, '');
  const suggestion = /\(Did you mean ([^?]+)\?\)/.exec(message);
  return {
    name: 'ConfigError',
    message: message.replace(/\s*\(Did you mean [^?]+\?\)/, ''),
    hint: suggestion
      ? `did you mean ${suggestion[1]}? (rs-cert-watchdog --help lists the commands and options)`
      : 'rs-cert-watchdog --help lists the commands and options',
  };
}

/** Configuration advice on stderr (a clientAuth certificate left on ACME): never in --json's stdout. */
function warnAdvice(report: FleetReport, warn: (line: string) => void): void {
  for (const cluster of report.clusters)
    for (const cert of cluster.certificates) for (const line of cert.warnings ?? []) warn(`warning: ${line}`);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
