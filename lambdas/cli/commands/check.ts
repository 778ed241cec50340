/** `rs-cert-watchdog check`: loaded only when that command runs (main.ts imports it on demand). */
import { checkFleet } from '../../domain/check';
import { scheduleProblem } from '../../domain/policy';
import { managedLifetimes } from '../../domain/report';
import { localRenewalContext } from '../local-context';
import { renderReport } from '../table';
import { type CommandEnv, configure, emit, warnAdvice, withInspectionMemory } from './shared';

export async function check(cli: CommandEnv, options: { config: string }): Promise<void> {
  const { io, warn, width } = cli;
  const config = configure(options.config, io.env);
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
  emit(cli, report, () => renderReport(report, { width }));
}
