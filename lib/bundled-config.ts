/**
 * The config as the functions read it: validated at synth, written with its PEM files into a
 * directory that the bundling hook copies into every bundle (the 4 KB environment limit rules out
 * environment variables). Nothing secret may reach the template or the bundle: `assertDeployable`
 * refuses passwords and webhook URLs at synth.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPemFile } from '../lambdas/adapters/config-file';
import { DEPLOYED_CONFIG_FILE } from '../lambdas/adapters/config-file/deployed';
import { DEPLOYED_CONFIG_MARKER, type WatchdogConfig } from '../lambdas/domain/config/types';
import { ConfigError } from '../lambdas/domain/errors';

/** Where the handlers find the config: beside their code, in every bundle. */
export const BUNDLED_CONFIG_FILE = DEPLOYED_CONFIG_FILE;

/** Config checks only the AWS deployment needs: nothing secret may reach the template or bundle. */
export function assertDeployable(config: WatchdogConfig): void {
  const problems: string[] = [];
  for (const cluster of config.clusters) {
    const where = `clusters["${cluster.name}"]`;
    if (cluster.password !== undefined)
      problems.push(`${where}.password: not allowed in AWS mode; use credentialsSecret`);
    if (cluster.passwordEnv !== undefined)
      problems.push(`${where}.passwordEnv: not allowed in AWS mode; use credentialsSecret`);
    if (cluster.credentialsSecret === undefined)
      problems.push(
        `${where}.credentialsSecret: required in AWS mode (a Secrets Manager secret name or ARN)`,
      );
  }
  if (config.alerts.slackWebhookUrl !== undefined) {
    problems.push(
      'alerts.slackWebhookUrl: not allowed in AWS mode (it is a credential); use alerts.slackWebhookSecret',
    );
  }
  // The bundle is readable by anyone who may lambda:GetFunction: a key in it is a leaked key.
  const eab = config.acme?.eab;
  for (const field of ['hmacKey', 'hmacKeyEnv'] as const) {
    if (eab?.[field] !== undefined)
      problems.push(
        `acme.eab.${field}: not allowed in AWS mode (the EAB key would ship in the bundle); use acme.eab.hmacKeySecret`,
      );
  }
  for (const cluster of config.clusters) {
    for (const [name, settings] of Object.entries(cluster.certificates ?? {})) {
      const issuer = settings.issuer;
      if (typeof issuer === 'object' && issuer.type === 'local-ca' && issuer.keyFile !== undefined)
        problems.push(
          `clusters["${cluster.name}"].certificates.${name}.issuer.keyFile: not allowed in AWS mode (the CA key ` +
            'would ship in the bundle); use keySecret',
        );
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(
      `the configuration cannot be deployed:\n${problems.map((p) => `  ${p}`).join('\n')}`,
      { hint: 'AWS mode reads every secret from Secrets Manager; see the README, "Deploying to AWS"' },
    );
  }
}

const bundledConfigDirs: string[] = [];

/**
 * Writes the config as the handlers load it (`loadDeployedConfig`) into a temporary directory, with
 * the PEM files it names copied beside it under fixed names and referenced relatively. The bundling
 * hook copies the directory into every bundle. Removed when the process exits (after synth).
 */
export function writeBundledConfig(config: WatchdogConfig): string {
  const dir = mkdtempSync(join(tmpdir(), 'rs-cert-watchdog-config-'));
  if (bundledConfigDirs.length === 0) {
    process.once('exit', () => {
      for (const d of bundledConfigDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  bundledConfigDirs.push(dir);
  const copyPem = (path: string | undefined, field: string, name: string): string | undefined => {
    if (path === undefined) return undefined;
    writeFileSync(join(dir, name), readPemFile(path, field));
    return name;
  };
  const bundled: WatchdogConfig = {
    ...config,
    $schema: undefined,
    // Only /tmp is writable in Lambda; a path of the machine that ran synth would mean nothing there.
    stateDir: '/tmp/rs-cert-watchdog',
    acme: config.acme && {
      ...config.acme,
      caFile: copyPem(config.acme.caFile, 'acme.caFile', 'acme-ca.pem'),
    },
    clusters: config.clusters.map((c) => ({
      ...c,
      caFile: copyPem(c.caFile, `clusters["${c.name}"].caFile`, `cluster-${c.name}-ca.pem`),
      ...(c.certificates && {
        certificates: Object.fromEntries(
          Object.entries(c.certificates).map(([name, settings]) => {
            const issuer = settings.issuer;
            if (typeof issuer !== 'object' || issuer.type !== 'local-ca') return [name, settings];
            // The local CA's certificate (not its key: keySecret) travels beside the config, named
            // relatively: the handler resolves it against the config's directory, wherever the bundle lands.
            const file = copyPem(
              issuer.certFile,
              `clusters["${c.name}"].certificates.${name}.issuer.certFile`,
              `local-ca-${c.name}-${name}.pem`,
            ) as string;
            return [name, { ...settings, issuer: { ...issuer, certFile: file } }];
          }),
        ),
      }),
    })),
  };
  const document = { marker: DEPLOYED_CONFIG_MARKER, config: bundled };
  writeFileSync(join(dir, BUNDLED_CONFIG_FILE), `${JSON.stringify(document, null, 2)}\n`);
  return dir;
}
