/** PEM files the configuration names, read with errors that name the field and what to do. No zod here: Lambdas use it. */
import { readFileSync } from 'node:fs';
import type { WatchdogConfig } from '../../domain/config/types';
import { ConfigError } from '../../domain/errors';

/** Why a file cannot be read, and what to do, in operator words (never the bare errno). */
export function unreadable(error: unknown, what: string, path: string): ConfigError {
  const code = (error as NodeJS.ErrnoException).code;
  const reasons: Record<string, [string, string]> = {
    ENOENT: [
      `${what} ${path} does not exist`,
      "check the path; relative paths are resolved against the configuration file's directory",
    ],
    EISDIR: [`${what} ${path} is a directory, not a file`, 'give the path of the file itself'],
    EACCES: [
      `${what} ${path} cannot be read: permission denied`,
      'make it readable by the user running rs-cert-watchdog',
    ],
    EPERM: [
      `${what} ${path} cannot be read: operation not permitted`,
      'make it readable by the user running rs-cert-watchdog',
    ],
    ENOTDIR: [`${what} ${path} does not exist (a part of the path is not a directory)`, 'check the path'],
    ELOOP: [`${what} ${path} is a symbolic link loop`, 'point it at a real file'],
  };
  const [message, hint] = reasons[code ?? ''] ?? [
    `${what} ${path} cannot be read (${code ?? 'unknown error'})`,
    'check the path and its permissions',
  ];
  return new ConfigError(message, { hint });
}

/** Reads a PEM file named by the configuration, with an error that names the field. */
export function readPemFile(path: string, field: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw unreadable(error, `${field}:`, path);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError(`${field}: ${path} holds no PEM certificate`, {
      hint: 'give a file with one or more "-----BEGIN CERTIFICATE-----" blocks',
    });
  return text;
}

/** acme.caFile's contents, read once per process: trusted for ACME TLS and the chains it issues. */
export function readAcmeTrust(config: Pick<WatchdogConfig, 'acme'>): string | undefined {
  return config.acme?.caFile ? readPemFile(config.acme.caFile, 'acme.caFile') : undefined;
}

/** Reads and validates the operator's configuration file (the CLI and the CDK app; never a Lambda). */
