/** `rs-cert-watchdog renew`: loaded only when that command runs (main.ts imports it on demand). */
import { alertSeverity } from '../../domain/alerts';
import { CLIENT_CERTIFICATE, managedNames, managedSettings } from '../../domain/certificate-kinds';
import { ConfigError } from '../../domain/errors';
import { isForced } from '../../domain/renewal/plan';
import { issuerTypeOf } from '../../domain/renewal/renewal-info';
import { renewFleet } from '../../domain/renewal/runner';
import type { RenewJsonReport } from '../json-documents';
import { localRenewalContext, prepareOrders } from '../local-context';
import { renderAlerts, renderReport } from '../table';
import { checkOutputs, type OutputOptions, recordingFailure, writeOutputs } from './outputs';
import { type CommandEnv, configure, emit, warnAdvice, withInspectionMemory } from './shared';

export interface RenewOptions extends OutputOptions {
  config: string;
  dryRun?: boolean;
  force: string[];
}

export async function renew(cli: CommandEnv, options: RenewOptions): Promise<void> {
  const { io, warn, width } = cli;
  const startedAt = new Date();
  const config = configure(options.config, io.env);
  if (options.dryRun === true && options.metricsFile !== undefined)
    throw new ConfigError('--metrics-file cannot be used with --dry-run', {
      hint: 'a dry run changes nothing, metrics included: run check --metrics-file to record what it reads',
    });
  await checkOutputs(cli, options);
  const ctx = localRenewalContext(config, io.env, warn);
  // A forced certificate is ordered whatever the check finds: its key is made from now on.
  if (options.dryRun !== true && options.force.length > 0)
    prepareOrders(
      config.clusters.flatMap((cluster) =>
        managedNames(cluster)
          .filter((name) => name !== CLIENT_CERTIFICATE && isForced(options.force, cluster.name, name))
          .map((name) => {
            const settings = managedSettings(cluster, name);
            return {
              keyType: settings?.keyType ?? config.acme?.keyType ?? 'rsa-2048',
              acme: settings !== undefined && issuerTypeOf(settings) === 'acme',
            };
          }),
      ),
    );
  const report = await recordingFailure(cli, config, 'renew', options, startedAt, () =>
    withInspectionMemory(config.stateDir, warn, () =>
      renewFleet(ctx, {
        dryRun: options.dryRun === true,
        force: options.force,
        pushRetry: config.pushRetry,
        warn,
      }),
    ),
  );
  const withSeverity: RenewJsonReport = {
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
  await writeOutputs(cli, config, 'renew', options, startedAt, withSeverity);
}
