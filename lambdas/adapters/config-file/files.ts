/**
 * The configuration from files: the operator's config (validated with the zod schema), the config a
 * deployment bundled into each Lambda (validated at synth), and the PEM files they name.
 *
 * No message built here ever quotes a file's content: a config path can be a typo for (or a symlink
 * to) a secret, and a JSON error quoted "around the error" can be part of a password. Errors give
 * the file, the line and column, and the key path.
 */

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { resolveConfigPaths } from '../../domain/config/paths';
import { checkConfig, formatPath, invalidConfig } from '../../domain/config/schema';
import type { ClusterConfig, LocalCaIssuerConfig, WatchdogConfig } from '../../domain/config/types';
import { everyDnsProvider } from '../../domain/dns-settings';
import { ConfigError, WatchdogError } from '../../domain/errors';
import { parseCaCertificateFile, parseCaKey } from '../local-ca/ca-files';
import { readClientCertificateFiles } from './client-certificate';
import { locateJson } from './json-locate';
import { readAcmeTrust, readPemFile, unreadable } from './pem';

export function loadConfig(path: string): WatchdogConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const failure = unreadable(error, 'the configuration file', path);
    throw new ConfigError(failure.message, {
      hint:
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'check the path given to --config; config.example.json is a starting point'
          : failure.hint,
    });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    // Where, in our own words: V8's message quotes the text around the error. The scanner runs
    // only now and on a schema error below: a valid file is read by JSON.parse alone (the scanner
    // is interpreted JavaScript, a few milliseconds of every command's start, bench/cli).
    const syntax = locateJson(text).syntax;
    if (syntax) {
      const { line, column, problem } = syntax;
      throw new ConfigError(`${path}:${line}:${column}: not valid JSON: ${problem}`, {
        hint: "fix the JSON at that line and column (the file's content is never shown: it may hold a secret)",
      });
    }
    throw new ConfigError(`${path}: not valid JSON`, { hint: 'check the file with a JSON validator' });
  }
  const checked = checkConfig(document);
  if (!checked.ok) {
    const locations = locateJson(text);
    throw invalidConfig(
      checked.issues.map((issue) => {
        const at = locations.at(issue.path);
        const where = at ? `${path}:${at.line}:${at.column}` : path;
        return `${where}: ${formatPath(issue.path)}: ${issue.message}`;
      }),
      ` (${path})`,
    );
  }
  return resolveConfigPaths(checked.config, dirname(resolve(path)));
}

/**
 * Everything local a run will need from outside the config file, checked before any network call:
 * each cluster's passwordEnv is set, its caFile is a readable PEM, its client certificate files
 * (clientCertificate certFile and keyFile) hold a certificate and its key, acme.caFile likewise,
 * every DNS provider's passwordEnv and tsigSecretEnv is set, and each local CA's certFile and keyFile
 * hold a CA certificate and its unencrypted key. All problems are reported together, as one
 * ConfigError (CLI exit 2), so a
 * typo never turns into a "cluster unreachable" alert. Clusters read through credentialsSecret are
 * checked when the secret is read.
 */
export function checkLocalInputs(config: WatchdogConfig, env: NodeJS.ProcessEnv): void {
  const problems: string[] = [];
  const attempt = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      if (!(error instanceof WatchdogError)) throw error;
      problems.push(error.hint ? `${error.message} (${error.hint})` : error.message);
    }
  };
  config.clusters.forEach((cluster, i) => {
    attempt(() => clusterPassword(cluster, env, `clusters[${i}]`));
    if (cluster.caFile) attempt(() => readPemFile(cluster.caFile as string, `clusters[${i}].caFile`));
    const client = cluster.clientCertificate;
    if (client?.keyFile !== undefined)
      attempt(() => readClientCertificateFiles(client, `clusters[${i}].clientCertificate`));
    const localCas: Array<[string, unknown]> = [
      ...Object.entries(cluster.certificates ?? {}).map(([name, s]): [string, unknown] => [
        `certificates.${name}.issuer`,
        s.issuer,
      ]),
      ...Object.entries(cluster.databases ?? {}).map(([uid, s]): [string, unknown] => [
        `databases.${uid}.issuer`,
        s.issuer,
      ]),
      ['clientCertificate.issuer', cluster.clientCertificate?.issuer],
    ];
    for (const [path, issuer] of localCas) {
      if (typeof issuer === 'object' && issuer !== null && (issuer as { type?: string }).type === 'local-ca')
        attempt(() => checkLocalCaFiles(issuer as LocalCaIssuerConfig, `clusters[${i}].${path}`));
    }
  });
  if (config.acme?.caFile) attempt(() => readAcmeTrust(config));
  for (const { path, provider } of everyDnsProvider(config)) {
    const variable =
      provider.provider === 'httpreq'
        ? { field: 'passwordEnv', name: provider.passwordEnv }
        : provider.provider === 'rfc2136'
          ? { field: 'tsigSecretEnv', name: provider.tsigSecretEnv }
          : undefined;
    if (variable?.name !== undefined && env[variable.name] === undefined)
      problems.push(`${path}.${variable.field}: the environment variable ${variable.name} is not set`);
  }
  if (problems.length === 1) throw new ConfigError(problems[0] as string);
  if (problems.length > 1)
    throw new ConfigError(`the configuration cannot be used:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}

/** A local CA's certFile (and keyFile, when the key is not a secret) hold what signing needs. */
function checkLocalCaFiles(issuer: LocalCaIssuerConfig, field: string): void {
  const read = (path: string, key: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw unreadable(error, `${field}.${key}:`, path);
    }
  };
  const file = parseCaCertificateFile(read(issuer.certFile, 'certFile'), issuer.certFile);
  if (issuer.keyFile !== undefined)
    parseCaKey(read(issuer.keyFile, 'keyFile'), issuer.keyFile, { ca: file.ca, file: issuer.certFile });
}

/** The password of a cluster in local mode (password or passwordEnv). */
export function clusterPassword(cluster: ClusterConfig, env: NodeJS.ProcessEnv, field?: string): string {
  const where = field ?? `cluster "${cluster.name}"`;
  if (cluster.passwordEnv !== undefined) {
    const password = env[cluster.passwordEnv];
    if (!password)
      throw new ConfigError(
        `${where}.passwordEnv: the environment variable ${cluster.passwordEnv} is not set`,
        {
          hint: `export ${cluster.passwordEnv} with the password of ${cluster.username ?? 'the API user'}`,
        },
      );
    return password;
  }
  return cluster.password ?? '';
}
