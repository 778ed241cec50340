/**
 * The configuration from files: the operator's config (validated with the zod schema), the config a
 * deployment bundled into each Lambda (validated at synth), and the PEM files they name.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseConfig } from '../../domain/config/schema';
import { DEPLOYED_CONFIG_MARKER, type WatchdogConfig } from '../../domain/config/types';
import { ConfigError } from '../../domain/errors';

/** Reads a PEM file named by the configuration, with an error that names the field. */
export function readPemFile(path: string, field: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${field}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError(`${field}: ${path} holds no PEM certificate`);
  return text;
}

/** acme.caFile's contents, read once per process: trusted for ACME TLS and the chains it issues. */
export function readAcmeTrust(config: Pick<WatchdogConfig, 'acme'>): string | undefined {
  return config.acme?.caFile ? readPemFile(config.acme.caFile, 'acme.caFile') : undefined;
}

/** Reads and validates the operator's configuration file (the CLI and the CDK app; never a Lambda). */
export function loadConfig(path: string): WatchdogConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read the configuration file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`the configuration file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(document, dirname(resolve(path)));
}

/**
 * Loads the config a deployment validated with the full schema and wrote into the Lambda bundle.
 * Relative paths (PEM files copied beside it) resolve against its directory.
 */
export function loadDeployedConfig(path: string): WatchdogConfig {
  let document: { marker?: unknown; config?: WatchdogConfig };
  try {
    document = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read the deployed configuration ${path}: ${(error as Error).message}`);
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
  const config = document.config;
  const base = dirname(resolve(path));
  const at = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(base, p));
  return {
    ...config,
    acme: config.acme && { ...config.acme, caFile: at(config.acme.caFile) },
    clusters: config.clusters.map((c) => ({ ...c, caFile: at(c.caFile) })),
  };
}
