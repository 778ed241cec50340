/**
 * The files a command writes besides its stdout: `--metrics-file` (Prometheus text format for
 * node_exporter's textfile collector) and `--html` (the self-contained HTML report). Both paths are
 * checked before any network call (exit 2), and both files are written atomically. A file that
 * cannot be written at the end is a warning and exit code 1: the report has been printed already.
 */
import packageJson from '../../../package.json' with { type: 'json' };
import { checkOutputPath, writeFileAtomically } from '../../adapters/output-file';
import type { WatchdogConfig } from '../../domain/config/types';
import { ConfigError } from '../../domain/errors';
import { type MetricsCommand, nextMetricsState, renderMetrics } from '../../domain/metrics';
import type { FleetReport } from '../../domain/report';
import { renderHtmlReport } from '../../domain/report-html';
import { EXIT_ATTENTION } from '../exit-codes';
import type { CommandEnv } from './shared';

export interface OutputOptions {
  metricsFile?: string;
  html?: string;
}

/**
 * Before any network call: exit 2 (ConfigError) when an output file could not be written where its
 * option says; a warning when the metrics file's name is one the textfile collector ignores.
 */
export async function checkOutputs(cli: CommandEnv, options: OutputOptions): Promise<void> {
  if (options.metricsFile !== undefined) await checkOutputPath('--metrics-file', options.metricsFile);
  if (options.html !== undefined) await checkOutputPath('--html', options.html);
  if (options.metricsFile !== undefined && !options.metricsFile.endsWith('.prom'))
    cli.warn(
      `warning: --metrics-file ${options.metricsFile} does not end in .prom; node_exporter's textfile collector reads only *.prom files`,
    );
}

/**
 * Runs the command's work; when it throws, the metrics file still records the run (when it ended,
 * that it failed) before the error goes on to the command line's handler.
 */
export async function recordingFailure<T>(
  cli: CommandEnv,
  config: WatchdogConfig,
  command: MetricsCommand,
  options: OutputOptions,
  startedAt: Date,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    // A usage error (an unknown --force name) is not a run: exit 2, nothing written, as before any run.
    if (options.metricsFile !== undefined && !(error instanceof ConfigError))
      await writeMetrics(cli, config, command, options.metricsFile, startedAt, undefined);
    throw error;
  }
}

/** After the report is printed (its exit code set): the metrics file and the HTML page, when asked for. */
export async function writeOutputs(
  cli: CommandEnv,
  config: WatchdogConfig,
  command: MetricsCommand,
  options: OutputOptions,
  startedAt: Date,
  report: FleetReport,
): Promise<void> {
  if (options.metricsFile !== undefined)
    await writeMetrics(cli, config, command, options.metricsFile, startedAt, report);
  if (options.html !== undefined) await writeHtml(cli, options.html, report);
}

/**
 * Folds this run into the kept metrics state and writes the metrics file. `report` is undefined
 * when the run failed before it had one: the file still says when it ran, and that it failed.
 */
export async function writeMetrics(
  cli: CommandEnv,
  config: WatchdogConfig,
  command: MetricsCommand,
  metricsFile: string,
  startedAt: Date,
  report: FleetReport | undefined,
): Promise<void> {
  // Loaded here: a run without --metrics-file reads no metrics state.
  const { loadMetricsState, saveMetricsState } = await import('../../adapters/local-directory/metrics-state');
  const state = nextMetricsState(await loadMetricsState(config.stateDir), {
    command,
    clusters: config.clusters.map((c) => c.name),
    startedAt,
    finishedAt: new Date(),
    ...(report ? { report } : {}),
  });
  try {
    await saveMetricsState(config.stateDir, state);
  } catch (error) {
    cli.warn(
      `warning: the metrics state was not saved (${(error as Error).message}); the _total counters restart from the last saved state`,
    );
  }
  await writeOutput(cli, '--metrics-file', metricsFile, renderMetrics(state));
}

/** Writes the HTML report; false (after a warning, exit code 1) when it could not be written. */
export async function writeHtml(cli: CommandEnv, path: string, report: FleetReport): Promise<boolean> {
  const page = renderHtmlReport(report, { generator: `rs-cert-watchdog ${packageJson.version}` });
  return writeOutput(cli, '--html', path, page);
}

async function writeOutput(cli: CommandEnv, option: string, path: string, content: string): Promise<boolean> {
  try {
    await writeFileAtomically(path, content);
    return true;
  } catch (error) {
    cli.warn(`${option}: ${path} could not be written: ${(error as NodeJS.ErrnoException).code ?? error}`);
    cli.setExitCode(EXIT_ATTENTION);
    return false;
  }
}
