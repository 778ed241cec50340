/**
 * The config as the functions read it: validated at synth, written with its PEM files into a
 * directory that the bundling hook copies into every bundle (the 4 KB environment limit rules out
 * environment variables). Nothing secret may reach the template or the bundle: `assertDeployable`
 * refuses passwords and webhook URLs at synth.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPemFile } from '../lambdas/adapters/config-file';
import { certificateBlocks } from '../lambdas/adapters/config-file/client-certificate';
import { DEPLOYED_CONFIG_FILE } from '../lambdas/adapters/config-file/deployed';
import { parseCaCertificateFile } from '../lambdas/adapters/local-ca/ca-files';
import {
  type ClusterConfig,
  DEPLOYED_CONFIG_MARKER,
  type IssuerConfig,
  type WatchdogConfig,
} from '../lambdas/domain/config/types';
import { everyDnsProvider } from '../lambdas/domain/dns-settings';
import { ConfigError, type WatchdogError } from '../lambdas/domain/errors';

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
    if (cluster.credentialsSecret === undefined && cluster.clientCertificate === undefined)
      problems.push(
        `${where}.credentialsSecret: required in AWS mode (a Secrets Manager secret name or ARN)`,
      );
    if (cluster.clientCertificate?.keyFile !== undefined)
      problems.push(
        `${where}.clientCertificate.keyFile: not allowed in AWS mode (the key would ship in the bundle); use keySecret`,
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
    for (const [field, settings] of issuerSettings(cluster)) {
      const issuer = settings.issuer;
      if (typeof issuer === 'object' && issuer.type === 'local-ca' && issuer.keyFile !== undefined)
        problems.push(
          `clusters["${cluster.name}"].${field}.issuer.keyFile: not allowed in AWS mode (the CA key ` +
            'would ship in the bundle); use keySecret',
        );
    }
  }
  // DNS-01 on AWS: the issue function has no environment of the operator's and runs no hook.
  for (const { path, provider } of everyDnsProvider(config)) {
    if (provider.provider === 'exec')
      problems.push(
        `${path}.provider: "exec" runs a program on the machine of the CLI; on AWS use rfc2136, route53 or httpreq`,
      );
    if (provider.provider === 'httpreq' && provider.passwordEnv !== undefined)
      problems.push(
        `${path}.passwordEnv: not allowed in AWS mode (the function has no such variable, and every order would fail with 401); use passwordSecret`,
      );
    if (provider.provider === 'rfc2136' && provider.tsigSecretEnv !== undefined)
      problems.push(
        `${path}.tsigSecretEnv: not allowed in AWS mode (the function has no such variable); use tsigSecretSecret`,
      );
  }
  if (problems.length > 0) {
    throw new ConfigError(
      `the configuration cannot be deployed:\n${problems.map((p) => `  ${p}`).join('\n')}`,
      { hint: 'AWS mode reads every secret from Secrets Manager; see the README, "Deploying to AWS"' },
    );
  }
}

/**
 * Every issuer setting of a cluster, with its field path: its certificates, its databases (RS 8.x)
 * and its client certificate's issuer.
 */
export function issuerSettings(
  cluster: ClusterConfig,
): Array<[string, { issuer?: IssuerConfig | undefined }]> {
  return [
    ...Object.entries(cluster.certificates ?? {}).map(
      ([name, s]) => [`certificates.${name}`, s] as [string, typeof s],
    ),
    ...Object.entries(cluster.databases ?? {}).map(
      ([uid, s]) => [`databases.${uid}`, s] as [string, typeof s],
    ),
    ...(cluster.clientCertificate?.issuer
      ? [
          ['clientCertificate', { issuer: cluster.clientCertificate.issuer }] as [
            string,
            { issuer: IssuerConfig },
          ],
        ]
      : []),
  ];
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
  // The client certificate's file may hold its key too (certFile = keyFile): only its certificates
  // ship in the bundle.
  const copyCertificates = (path: string, field: string, name: string): string => {
    writeFileSync(join(dir, name), certificateBlocks(readPemFile(path, field)));
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
    clusters: config.clusters.map((c) => {
      // A local CA's certificate (not its key: keySecret) travels beside the config, named
      // relatively: the handler resolves it against the config's directory, wherever the bundle lands.
      const bundledIssuer = <S extends { issuer?: IssuerConfig | undefined }>(
        settings: S,
        field: string,
        file: string,
      ): S => {
        const issuer = settings.issuer;
        if (typeof issuer !== 'object' || issuer.type !== 'local-ca') return settings;
        const path = `clusters["${c.name}"].${field}.issuer.certFile`;
        const name = copyPem(issuer.certFile, path, file) as string;
        // What would fail every renewal of it on AWS fails synth instead: a certificate that does
        // not parse, or is not a CA.
        try {
          parseCaCertificateFile(readFileSync(join(dir, name), 'utf8'), issuer.certFile);
        } catch (error) {
          const e = error as WatchdogError;
          throw new ConfigError(`${path}: ${e.message}`, e.hint ? { hint: e.hint } : undefined);
        }
        return { ...settings, issuer: { ...issuer, certFile: name } };
      };
      const client = c.clientCertificate;
      return {
        ...c,
        caFile: copyPem(c.caFile, `clusters["${c.name}"].caFile`, `cluster-${c.name}-ca.pem`),
        ...(c.certificates && {
          certificates: Object.fromEntries(
            Object.entries(c.certificates).map(([name, settings]) => [
              name,
              bundledIssuer(settings, `certificates.${name}`, `local-ca-${c.name}-${name}.pem`),
            ]),
          ),
        }),
        ...(c.databases && {
          databases: Object.fromEntries(
            Object.entries(c.databases).map(([uid, settings]) => [
              uid,
              bundledIssuer(settings, `databases.${uid}`, `local-ca-${c.name}-bdb-${uid}.pem`),
            ]),
          ),
        }),
        // The client certificate (public) travels too; its key stays in keySecret.
        ...(client && {
          clientCertificate: bundledIssuer(
            {
              ...client,
              certFile: copyCertificates(
                client.certFile,
                `clusters["${c.name}"].clientCertificate.certFile`,
                `client-${c.name}.pem`,
              ) as string,
            },
            'clientCertificate',
            `local-ca-${c.name}-client.pem`,
          ),
        }),
      };
    }),
  };
  const document = { marker: DEPLOYED_CONFIG_MARKER, config: bundled };
  writeFileSync(join(dir, BUNDLED_CONFIG_FILE), `${JSON.stringify(document, null, 2)}\n`);
  return dir;
}
