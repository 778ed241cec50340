/** `rs-cert-watchdog renew`: loaded only when that command runs (main.ts imports it on demand). */
import { alertSeverity } from '../../domain/alerts';
import { managedSettings } from '../../domain/certificate-kinds';
import { renewFleet } from '../../domain/renewal/runner';
import { localRenewalContext } from '../local-context';
import { renderAlerts, renderReport } from '../table';
import { type CommandEnv, configure, emit, warnAdvice, withInspectionMemory } from './shared';

export interface RenewOptions {
  config: string;
  dryRun?: boolean;
  force: string[];
}

export async function renew(cli: CommandEnv, options: RenewOptions): Promise<void> {
  const { io, warn, width } = cli;
  const config = configure(options.config, io.env);
  const ctx = localRenewalContext(config, io.env, warn);
  const report = await withInspectionMemory(config.stateDir, warn, () =>
    renewFleet(ctx, {
      dryRun: options.dryRun === true,
      force: options.force,
      pushRetry: config.pushRetry,
      warn,
    }),
  );
  const withSeverity = {
    ...report,
    alerts: report.alerts.map((alert) => ({ ...alert, severity: alertSeverity(alert) })),
  };
  emit(cli, withSeverity, () => {
    const tables = renderReport(report, {
      width,
      force: options.force,
      domains: (cluster, name) => {
        const found = config.clusters.find((c) => c.name === cluster);
        return found ? managedSettings(found, name)?.domains : undefined;
      },
    });
    return report.alerts.length > 0
      ? `${tables}\n${renderAlerts(report.alerts, report.dryRun, width)}`
      : tables;
  });
  if (options.dryRun === true) warnAdvice(report, warn);
}
