/**
 * Configuration types (derived from the zod schema in ./config-schema.ts, at compile time only)
 * and the runtime helpers that do not need zod.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import type { acme, cluster, configSchema, dns, managedCertificate } from './config-schema';
import { ConfigError } from './errors';

export type WatchdogConfig = z.output<typeof configSchema>;
export type ClusterConfig = z.output<typeof cluster>;
export type ManagedCertificateConfig = z.output<typeof managedCertificate>;
export type AcmeConfig = z.output<typeof acme>;
export type DnsConfig = z.output<typeof dns>;
export type KeyType = 'rsa-2048' | 'ecdsa-p256';

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

/** Marks a config file written by the deployment after validation (see lib/). */
export const DEPLOYED_CONFIG_MARKER = 'rs-cert-watchdog/validated-config/v1';

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
