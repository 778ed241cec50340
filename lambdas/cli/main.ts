/**
 * rs-cert-watchdog command line. Exit codes: 0 nothing needs attention, 1 something does,
 * 2 usage or configuration error (always before any network call, and never alerted).
 * `--json` prints exactly one JSON document on stdout: the report, or `{name, message, hint}` on error.
 */
import { Command, CommanderError } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import { formatConfigError } from '../adapters/config-file/format';
import { ConfigError, type ErrorInfo, toErrorInfo, WatchdogError } from '../domain/errors';
import { redactUrlsIn } from '../domain/redact';
import type { CommandEnv } from './commands/shared';
import { EXIT_ATTENTION, EXIT_OK, EXIT_USAGE } from './exit-codes';
import { rollbackCommand } from './rollback';
import { forTerminal, linesForTerminal, outputWidth } from './terminal';

export { EXIT_ATTENTION, EXIT_OK, EXIT_USAGE };

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
  const cli: CommandEnv = {
    io,
    width,
    warn: (line) => io.stderr(`rs-cert-watchdog: ${forTerminal(line)}\n`),
    json,
    setExitCode: (code) => {
      exitCode = code;
    },
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
    .option('--metrics-file <file>', "write Prometheus metrics there (node_exporter's textfile collector)")
    .option('--html <file>', 'write the HTML expiry report there')
    .action(async (options: { config: string; metricsFile?: string; html?: string }) => {
      // Each command's code is imported when it runs: --help, --version and usage errors load none of it.
      const { check } = await import('./commands/check');
      await check(cli, options);
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
    .option('--metrics-file <file>', "write Prometheus metrics there (node_exporter's textfile collector)")
    .option('--html <file>', 'write the HTML expiry report there')
    .action(
      async (options: {
        config: string;
        dryRun?: boolean;
        force: string[];
        metricsFile?: string;
        html?: string;
      }) => {
        const { renew } = await import('./commands/renew');
        await renew(cli, options);
      },
    );

  program
    .command('report')
    .description(
      'write the HTML expiry report: a timeline and the details of every certificate; never writes to a cluster',
    )
    .option('-c, --config <file>', 'configuration file (JSON): read the fleet now')
    .option('--from <file>', 'render a report saved from check --json or renew --json instead')
    .requiredOption('--html <file>', 'the page to write (one self-contained HTML file)')
    .option('--json', 'print the report as one JSON document (as check --json)')
    .action(async (options: { config?: string; from?: string; html: string }) => {
      const { report } = await import('./commands/report');
      await report(cli, options);
    });

  // rs7.22: rollback (self-contained, ./rollback.ts)
  program.addCommand(rollbackCommand(cli));

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

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
