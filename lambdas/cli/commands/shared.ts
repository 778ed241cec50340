/**
 * What a command's action receives from the command line (main.ts): the IO, the output width, the
 * stderr warning, and `emit`, which prints the report and sets the exit code from it.
 */
import { checkLocalInputs, loadConfig } from '../../adapters/config-file';
import { loadInspectionMemory, saveInspectionMemory } from '../../adapters/local-directory/inspection-memory';
import type { WatchdogConfig } from '../../domain/config/types';
import { type FleetReport, needsAttention } from '../../domain/report';
import { EXIT_ATTENTION, EXIT_OK } from '../exit-codes';
import type { CliIo } from '../main';

export interface CommandEnv {
  io: CliIo;
  width: number | undefined;
  warn: (line: string) => void;
  /** `--json`: one JSON document on stdout instead of tables. */
  json: boolean;
  setExitCode: (code: number) => void;
}

/** Config file, then every local input it names: a configuration error is exit 2 before any network call. */
export function configure(path: string, env: NodeJS.ProcessEnv): WatchdogConfig {
  const config = loadConfig(path);
  checkLocalInputs(config, env);
  return config;
}

/** Configuration advice on stderr (a clientAuth certificate left on ACME): never in --json's stdout. */
export function warnAdvice(report: FleetReport, warn: (line: string) => void): void {
  for (const cluster of report.clusters)
    for (const cert of cluster.certificates) for (const line of cert.warnings ?? []) warn(`warning: ${line}`);
}

/** Prints the report (JSON, or the tables `text` renders) and sets the exit code from it. */
export function emit(
  cli: CommandEnv,
  report: FleetReport & { alerts?: unknown[] },
  text: () => string,
): void {
  cli.io.stdout(cli.json ? `${JSON.stringify(report, null, 2)}\n` : `${text()}\n`);
  cli.setExitCode(needsAttention(report) ? EXIT_ATTENTION : EXIT_OK);
}

/**
 * Runs a command that reads the clusters with the last run's inspection memory loaded, and keeps
 * this run's for the next (stateDir/inspection-memory.json): a daily check parses only what changed.
 */
export async function withInspectionMemory<T>(
  stateDir: string,
  warn: (line: string) => void,
  run: () => Promise<T>,
): Promise<T> {
  await loadInspectionMemory(stateDir, warn);
  const result = await run();
  await saveInspectionMemory(stateDir).catch((error: unknown) =>
    warn(
      `warning: the inspection memory was not saved (${(error as Error).message}); the next run parses every certificate`,
    ),
  );
  return result;
}
