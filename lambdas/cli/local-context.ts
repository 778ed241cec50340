/**
 * Wires the local adapters for the CLI: directory state, config-file credentials (Secrets Manager
 * on demand), the DNS-01 providers the config names (wiring/dns01), Slack, node:https to the clusters,
 * TLS probes.
 */

import { readFile } from 'node:fs/promises';
import { HttpsRenewalInfoSource } from '../adapters/acme/renewal-info';
import { ConfigCredentialsProvider, readAcmeTrust } from '../adapters/config-file';
import { FanOutNotifier } from '../adapters/in-memory/notifier';
import { type CertificateKey, newCertificateKey } from '../adapters/keys';
import { LocalDirectoryStore } from '../adapters/local-directory/state-directory';
import { processAlive, processOwner } from '../adapters/local-process';
import { connectCluster } from '../adapters/rs-https';
import { SlackWebhookNotifier } from '../adapters/slack/notifier';
import { probeEndpoint, publicRootPems } from '../adapters/tls';
import type { KeyType, ManagedCertificateConfig, WatchdogConfig } from '../domain/config/types';
import { ConfigError } from '../domain/errors';
import type {
  CertificateIssuer,
  CredentialsProvider,
  IssuedPair,
  IssueOptions,
  Notifier,
} from '../domain/ports';
import { issuerCache, type RenewalContext } from '../domain/renewal/context';
import { issuerTypeOf, logOnce, recordWindows } from '../domain/renewal/renewal-info';
import { maxLockLeaseMs, sleep } from '../domain/retry';
import { StateStore } from '../domain/state';

export function localRenewalContext(
  config: WatchdogConfig,
  env: NodeJS.ProcessEnv,
  warn: (line: string) => void,
): RenewalContext {
  const notifiers: Notifier[] = [];
  if (config.alerts.slackWebhookUrl) notifiers.push(new SlackWebhookNotifier(config.alerts.slackWebhookUrl));
  const directory = new LocalDirectoryStore(config.stateDir);
  const state = new StateStore(directory, {
    maxLeaseMs: maxLockLeaseMs(config.pushRetry),
    warn: (message) => warn(`warning: ${message}`),
  });
  const acmeTrustPem = readAcmeTrust(config);
  const log = logOnce(warn);
  const usesAcme = config.clusters.some((c) =>
    [...Object.values(c.certificates), ...Object.values(c.databases ?? {})].some(
      (cert) => issuerTypeOf(cert) === 'acme',
    ),
  );
  return {
    config,
    credentials: localCredentials(env),
    connect: connectCluster,
    probe: probeEndpoint,
    // Loaded by the first push only: check never pays for it.
    handshake: async (check) => (await import('../adapters/tls/handshake')).verifyByHandshake(check),
    state,
    notifier: new FanOutNotifier(notifiers, (error) =>
      warn(`alert not delivered: ${(error as Error).message}`),
    ),
    issuer: issuerCache((settings) => localIssuer(config, settings, acmeTrustPem, state, env, log)),
    acmeTrustPem,
    publicRootPems,
    lockOwner: processOwner(),
    ownerAlive: processAlive,
    now: () => new Date(),
    sleep,
    ...(config.acme && usesAcme
      ? {
          renewalInfo: {
            source: new HttpsRenewalInfoSource({
              directoryUrl: config.acme.directoryUrl,
              trustPem: acmeTrustPem,
            }),
            windows: recordWindows(directory.records),
            log,
          },
        }
      : {}),
  };
}

/** The issuer a certificate's `issuer` setting names, its module loaded only when it first issues. */
function localIssuer(
  config: WatchdogConfig,
  settings: ManagedCertificateConfig,
  trustPem: string | undefined,
  state: StateStore,
  env: NodeJS.ProcessEnv,
  log: (message: string) => void,
): CertificateIssuer {
  const issuer = settings.issuer;
  if (typeof issuer === 'object' && issuer.type === 'local-ca') {
    return new LazyIssuer(async () => {
      const { LocalCaIssuer } = await import('../adapters/local-ca');
      return new LocalCaIssuer({
        config: issuer,
        readFile: (path) => readFile(path, 'utf8'),
        readSecret: async (id) => {
          const { SecretsManagerClient, GetSecretValueCommand } = await import(
            '@aws-sdk/client-secrets-manager'
          );
          const text = (await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: id })))
            .SecretString;
          if (!text) throw new ConfigError(`secret ${id} has no string value`);
          return text;
        },
      });
    });
  }
  if (typeof issuer === 'object' && issuer.type === 'aws-private-ca') {
    return new LazyIssuer(async () => {
      const [{ AwsPrivateCaIssuer }, { ACMPCAClient }] = await Promise.all([
        import('../adapters/aws-private-ca'),
        import('@aws-sdk/client-acm-pca'),
      ]);
      const region = issuer.certificateAuthorityArn.split(':')[3] as string;
      return new AwsPrivateCaIssuer({ config: issuer, client: new ACMPCAClient({ region }) });
    });
  }
  const { acme } = config;
  if (!acme) throw new ConfigError('acme and dns must be configured to renew certificates');
  // Like credentialsSecret: the CLI reads Secrets Manager with the caller's AWS credentials.
  const readSecret = async (id: string) => (await import('../adapters/secrets-manager')).readSecretString(id);
  // Loaded here only: acme-client is the largest module, and only an order needs it.
  return new LazyIssuer(async () => {
    const [{ AcmeIssuer }, { dns01For }] = await Promise.all([
      import('../adapters/acme'),
      import('../wiring/dns01'),
    ]);
    return new AcmeIssuer({
      acme,
      trustPem,
      dns: dns01For(config, { env, readSecret, allowExec: true }),
      state,
      env,
      log,
      readSecret,
    });
  });
}

/**
 * Keys made ahead of the orders a command already knows it will place (`renew --force`): an
 * RSA-2048 key (~150 ms on a libuv thread) then overlaps the start-up, the cluster check and the
 * ACME exchange instead of following the check (bench/cli). Taken by the first issue() of its type;
 * one nobody takes was never used anywhere and is simply dropped with the process.
 */
const keysAhead = new Map<KeyType, Array<Promise<CertificateKey>>>();

/** Starts the keys (and, for ACME, loads the order's modules) for orders known to come. */
export function prepareOrders(orders: ReadonlyArray<{ keyType: KeyType; acme: boolean }>): void {
  for (const { keyType } of orders) {
    const key = newCertificateKey(keyType);
    key.catch(() => undefined); // taken and awaited by an issuer, or never needed
    keysAhead.set(keyType, [...(keysAhead.get(keyType) ?? []), key]);
  }
  if (orders.some((o) => o.acme))
    void Promise.all([import('../adapters/acme'), import('../wiring/dns01')]).catch(() => undefined);
}

class LazyIssuer implements CertificateIssuer {
  private loaded: Promise<CertificateIssuer> | undefined;
  constructor(private readonly load: () => Promise<CertificateIssuer>) {}
  async issue(domains: string[], keyType: KeyType, options: IssueOptions = {}): Promise<IssuedPair> {
    // The key first: its generation (RSA: ~150 ms, on a libuv thread) overlaps the module load
    // (acme-client: ~100 ms of compiling on this one) instead of following it (bench/cli).
    const key = options.key ?? keysAhead.get(keyType)?.shift() ?? newCertificateKey(keyType);
    key.catch(() => undefined); // awaited by the issuer; a failed load must not leave it unhandled
    this.loaded ??= this.load();
    return (await this.loaded).issue(domains, keyType, { ...options, key });
  }
}

/**
 * Config and environment first; Secrets Manager (loaded on demand) for clusters with
 * credentialsSecret and for client certificates whose key is a keySecret.
 */
export function localCredentials(env: NodeJS.ProcessEnv): ConfigCredentialsProvider {
  let fromSecrets: Promise<CredentialsProvider> | undefined;
  let loaded: CredentialsProvider | undefined;
  const sdk = () => import('../adapters/secrets-manager');
  const secretsProvider = () => {
    fromSecrets ??= sdk().then((m) => {
      loaded = new m.SecretsManagerCredentialsProvider();
      return loaded;
    });
    return fromSecrets;
  };
  return new ConfigCredentialsProvider(
    env,
    () => ({
      resolve: async (cluster) => (await secretsProvider()).resolve(cluster),
      writeClientCertificate: async (cluster, pair) => {
        const provider = await secretsProvider();
        if (!provider.writeClientCertificate) throw new ConfigError('cannot write the client certificate');
        return provider.writeClientCertificate(cluster, pair);
      },
      forget: (cluster) => loaded?.forget?.(cluster),
    }),
    () => ({
      read: async (cluster) => {
        const m = await sdk();
        return m.clientPairFromSecret(
          cluster,
          await m.readSecretString(cluster.clientCertificate?.keySecret ?? '', undefined, m.roleOf(cluster)),
        );
      },
      write: async (cluster, pair) => {
        const m = await sdk();
        return m.writeClientCertificateSecret(
          new m.RegionalSecretsClients(),
          cluster.clientCertificate?.keySecret ?? '',
          pair,
          cluster,
        );
      },
    }),
  );
}
