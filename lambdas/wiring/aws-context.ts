/**
 * The AWS wiring of the renewal steps: credentials in Secrets Manager, state in the DynamoDB table
 * (keys sealed with KMS), alerts to SNS.
 */
import { randomUUID } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KmsKeySealer } from '../adapters/kms';
import { connectCluster } from '../adapters/rs-https';
import { SecretsManagerCredentialsProvider } from '../adapters/secrets-manager/credentials';
import { SnsNotifier } from '../adapters/sns/notifier';
import { probeEndpoint, publicRootPems } from '../adapters/tls';
import { verifyByHandshake } from '../adapters/tls/handshake';
import type { ManagedCertificateConfig } from '../domain/config/types';
import { ConfigError } from '../domain/errors';
import type { CertificateIssuer } from '../domain/ports';
import { issuerCache, type RenewalContext } from '../domain/renewal/context';
import { sleep } from '../domain/retry';
import { acmeTrust, deployedConfig, requiredEnv } from './runtime';
import { awsState } from './state';

let cached: RenewalContext | undefined;

/**
 * The context of push, verify and notify. The issue handler adds its ACME issuer (`withIssuer`), so
 * acme-client stays out of the other bundles.
 */
export function awsContext(): RenewalContext {
  if (cached) return cached;
  const config = deployedConfig();
  const secrets = new SecretsManagerClient({});
  cached = {
    config,
    credentials: new SecretsManagerCredentialsProvider(secrets),
    connect: connectCluster,
    probe: probeEndpoint,
    handshake: verifyByHandshake,
    state: awsState(
      () => new KmsKeySealer({ keyId: requiredEnv('STATE_KMS_KEY_ID', process.env.STATE_KMS_KEY_ID) }),
    ),
    notifier: { send: (alert) => snsNotifier().send(alert) },
    digests: { sendDigest: (digest) => snsNotifier().sendDigest(digest) },
    issuer: () => {
      throw new ConfigError('this function does not order certificates (deployment error)');
    },
    acmeTrustPem: acmeTrust(config),
    publicRootPems,
    lockOwner: { id: `lambda:${randomUUID()}`, description: 'a Lambda invocation' },
    now: () => new Date(),
    sleep,
  };
  return cached;
}

/** The context with issuers made on first use, one per distinct `issuer` setting. */
export function withIssuer(
  context: () => RenewalContext,
  make: (ctx: RenewalContext, settings: ManagedCertificateConfig) => CertificateIssuer,
): () => RenewalContext {
  let issuers: ((settings: ManagedCertificateConfig) => CertificateIssuer) | undefined;
  return () => {
    const ctx = context();
    issuers ??= issuerCache((settings) => make(ctx, settings));
    return { ...ctx, issuer: issuers };
  };
}

let notifier: SnsNotifier | undefined;

/** Created on first use: only notify sends alerts, the other steps never configure an SNS client. */
function snsNotifier(): SnsNotifier {
  notifier ??= new SnsNotifier(requiredEnv('ALERT_TOPIC_ARN', process.env.ALERT_TOPIC_ARN));
  return notifier;
}
