/**
 * What every handler shares: Powertools Logger and Metrics, and the configuration the deployment
 * validated and bundled. No AWS SDK client here, so the check function stays small.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { loadDeployedConfig, readPemFile, type WatchdogConfig } from '../domain/config';
import { ConfigError } from '../domain/errors';

export const logger = new Logger({ serviceName: 'rs-cert-watchdog' });
export const metrics = new Metrics({ namespace: 'RsCertWatchdog', serviceName: 'rs-cert-watchdog' });

let config: WatchdogConfig | undefined;

export function deployedConfig(): WatchdogConfig {
  config ??= loadDeployedConfig(process.env.WATCHDOG_CONFIG_FILE ?? '/var/task/watchdog-config.json');
  return config;
}

export function acmeTrust(config: WatchdogConfig): string | undefined {
  return config.acme?.caFile ? readPemFile(config.acme.caFile, 'acme.caFile') : undefined;
}

export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is not set (deployment error)`);
  return value;
}
