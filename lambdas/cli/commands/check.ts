/** `rs-cert-watchdog check`: loaded only when that command runs (main.ts imports it on demand). */

import { checkFleet } from '../../domain/check';
import type { WatchdogConfig } from '../../domain/config/types';
import { scheduleProblem } from '../../domain/policy';
import { type FleetReport, managedLifetimes } from '../../domain/report';
import { localRenewalContext } from '../local-context';
import { renderReport } from '../table';
import { checkOutputs, type OutputOptions, recordingFailure, writeOutputs } from './outputs';
import { type CommandEnv, configure, emit, warnAdvice, withInspectionMemory } from './shared';

export interface CheckOptions extends OutputOptions {
  config: string;
}

export async function check(cli: CommandEnv, options: CheckOptions): Promise<void> {
  const startedAt = new Date();
  const config = configure(options.config, cli.io.env);
  await checkOutputs(cli, options);
  const report = await recordingFailure(cli, config, 'check', options, startedAt, () =>
    readFleet(cli, config),
  );
  emit(cli, report, () => renderReport(report, { width: cli.width }));
  await writeOutputs(cli, config, 'check', options, startedAt, report);
}

/** Reads every cluster as `check` does (and `report`): never writes to a cluster, alerts nobody. */
export async function readFleet(cli: CommandEnv, config: WatchdogConfig): Promise<FleetReport> {
  const { io, warn } = cli;
  const report = await withInspectionMemory(config.stateDir, warn, () =>
    checkFleet(config, localRenewalContext(config, io.env, warn)),
  );
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
  return report;
}
