/** The configuration a deployment validated at synth and bundled beside each Lambda. No zod here. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { resolveConfigPaths } from '../../domain/config/paths';
import { DEPLOYED_CONFIG_MARKER, type WatchdogConfig } from '../../domain/config/types';
import { ConfigError } from '../../domain/errors';
import { unreadable } from './pem';

/**
 * The deployed config's file name. The bundling hook copies it (with the PEM files it names) beside
 * each function's bundle: `/var/task/watchdog-config.json` beside `/var/task/index.mjs`.
 */
export const DEPLOYED_CONFIG_FILE = 'watchdog-config.json';

/**
 * Loads the config a deployment validated with the full schema and wrote into the Lambda bundle.
 * Relative paths (PEM files copied beside it) resolve against its directory.
 */
export function loadDeployedConfig(path: string): WatchdogConfig {
  let document: { marker?: unknown; config?: WatchdogConfig };
  try {
    document = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw (error as NodeJS.ErrnoException).code
      ? unreadable(error, 'the deployed configuration', path)
      : new ConfigError(`the deployed configuration ${path} is not valid JSON (redeploy with cdk deploy)`);
  }
  if (
    document.marker !== DEPLOYED_CONFIG_MARKER ||
    !document.config ||
    !Array.isArray(document.config.clusters)
  ) {
    throw new ConfigError(
      `${path} is not a configuration written by the deployment (redeploy with cdk deploy)`,
    );
  }
  return resolveConfigPaths(document.config, dirname(resolve(path)));
}
