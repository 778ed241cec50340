/** The AWS wiring of the renewal steps: credentials and state in Secrets Manager, alerts to SNS. */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerCredentialsProvider } from '../adapters/aws/credentials';
import { SnsNotifier } from '../adapters/notify/sns';
import { SecretsManagerStore } from '../adapters/state/secrets-manager';
import { sleep } from '../domain/backoff';
import type { RenewalContext } from '../domain/renewal/context';
import { StateStore } from '../domain/state';
import { acmeTrust, deployedConfig, requiredEnv } from './runtime';

let cached: RenewalContext | undefined;

export function awsContext(): RenewalContext {
  if (cached) return cached;
  const config = deployedConfig();
  const secrets = new SecretsManagerClient({});
  cached = {
    config,
    credentials: new SecretsManagerCredentialsProvider(secrets),
    state: new StateStore(
      new SecretsManagerStore({
        prefix: requiredEnv('STATE_SECRET_PREFIX'),
        kmsKeyId: process.env.STATE_KMS_KEY_ID,
        client: secrets,
      }),
    ),
    notifier: { send: (alert) => snsNotifier().send(alert) },
    acmeTrustPem: acmeTrust(config),
    now: () => new Date(),
    sleep,
  };
  return cached;
}

let notifier: SnsNotifier | undefined;

/** Created on first use: only notify sends alerts, the other steps never configure an SNS client. */
function snsNotifier(): SnsNotifier {
  notifier ??= new SnsNotifier(requiredEnv('ALERT_TOPIC_ARN'));
  return notifier;
}
