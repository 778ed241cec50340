/**
 * The AWS wiring shared by the handlers: config from the bundle, credentials and state in Secrets
 * Manager, alerts to SNS. Built once per container, on first use. Holds no ACME code, so the check
 * function's bundle stays small.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerCredentialsProvider } from '../adapters/aws/credentials';
import { SnsNotifier } from '../adapters/notify/sns';
import { SecretsManagerStore } from '../adapters/state/secrets-manager';
import { sleep } from '../domain/backoff';
import { loadConfig, readPemFile } from '../domain/config';
import { ConfigError } from '../domain/errors';
import type { RenewalContext } from '../domain/renewal/context';
import { StateStore } from '../domain/state';

export const logger = new Logger({ serviceName: 'rs-cert-watchdog' });
export const metrics = new Metrics({ namespace: 'RsCertWatchdog', serviceName: 'rs-cert-watchdog' });

let cached: RenewalContext | undefined;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is not set (deployment error)`);
  return value;
}

export function awsContext(): RenewalContext {
  if (cached) return cached;
  const config = loadConfig(process.env.WATCHDOG_CONFIG_FILE ?? '/var/task/watchdog-config.json');
  cached = {
    config,
    credentials: new SecretsManagerCredentialsProvider(),
    state: new StateStore(
      new SecretsManagerStore({
        prefix: required('STATE_SECRET_PREFIX'),
        kmsKeyId: process.env.STATE_KMS_KEY_ID,
      }),
    ),
    notifier: new SnsNotifier(required('ALERT_TOPIC_ARN')),
    acmeTrustPem: config.acme?.caFile ? readPemFile(config.acme.caFile, 'acme.caFile') : undefined,
    now: () => new Date(),
    sleep,
  };
  return cached;
}
