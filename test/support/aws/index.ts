/**
 * The loopback AWS account the executed state machine's bundles talk to: Secrets Manager (state,
 * cluster credentials, CA keys, the EAB key), the Parameters and Secrets extension in front of it,
 * SNS, Route 53, AWS Private CA and S3 (the run's bucket), all behind one SigV4-routing server with IAM enforced
 * (./loopback-aws.ts). Another service is one more `aws.add(...)` here (see LoopbackService).
 */
import { randomUUID } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { partitionOf, type StateBackend, startStateBackend } from '../state-backend';
import { AcmPcaStandIn } from './acm-pca';
import { ForwardingJsonService } from './forwarding';
import { type AwsPrincipal, LOOPBACK_SECRET_ACCESS_KEY, LoopbackAws } from './loopback-aws';
import { Route53StandIn } from './route53';
import { S3StandIn } from './s3';
import { SecretsExtensionStandIn } from './secrets-extension';
import { SecretsManagerStandIn } from './secrets-manager';
import { SnsStandIn } from './sns';

export type { PrivateCaBackend } from './acm-pca';
export { type ForwardedCall, ForwardingJsonService, type ForwardingOptions } from './forwarding';
export type { AwsCall, AwsPrincipal, LoopbackService } from './loopback-aws';
export { LoopbackAws } from './loopback-aws';
export { AwsServiceError } from './protocols';
export { type S3Call, type S3Object, type S3Operation, S3StandIn } from './s3';

export interface WatchdogAws {
  aws: LoopbackAws;
  secretsManager: SecretsManagerStandIn;
  /** The Parameters and Secrets Lambda Extension (its port replaces PARAMETERS_SECRETS_EXTENSION_HTTP_PORT). */
  extension: SecretsExtensionStandIn;
  sns: SnsStandIn;
  route53: Route53StandIn;
  acmPca: AcmPcaStandIn;
  /** S3, path-style: the run's bucket (createBucket with the stack's key, as the construct makes it). */
  s3: S3StandIn;
  /**
   * The state: DynamoDB (dynalite behind a counting, fault-injecting proxy) and KMS (the key stand-in,
   * whose key is `keyArn`). The functions reach both through this account, which enforces their
   * policies (dynamodb:LeadingKeys, kms:EncryptionContext); the test reads and writes them directly.
   */
  state: StateBackend;
  /** The customer-managed key of the deployment's state and topic (one per account: one stack). */
  keyArn: string;
  /** A Secrets Manager client of the test itself (never denied), e.g. for a StateStore. */
  testSecretsClient(): SecretsManagerClient;
  close(): Promise<void>;
}

export async function startWatchdogAws(): Promise<WatchdogAws> {
  const aws = await new LoopbackAws().start();
  const secretsManager = aws.add(new SecretsManagerStandIn(aws));
  const sns = aws.add(new SnsStandIn(aws));
  const route53 = aws.add(new Route53StandIn(aws));
  const acmPca = aws.add(new AcmPcaStandIn(aws));
  const s3 = aws.add(new S3StandIn(aws));
  const extension = await new SecretsExtensionStandIn(aws, secretsManager).start();
  const keyArn = `arn:aws:kms:${aws.region}:${aws.account}:key/${randomUUID()}`;
  const state = await startStateBackend({ kmsKeyId: keyArn });
  aws.add(
    new ForwardingJsonService(aws, {
      signingName: 'dynamodb',
      endpointEnvName: 'DYNAMODB',
      upstream: state.dynamodbUrl,
      authorize: ({ operation, input, region }) => [
        {
          action: `dynamodb:${operation}`,
          resource: `arn:aws:dynamodb:${region}:${aws.account}:table/${String(input.TableName)}`,
          context: { 'dynamodb:LeadingKeys': [partitionOf(input)].filter((p) => p !== undefined) },
        },
      ],
    }),
  );
  aws.add(
    new ForwardingJsonService(aws, {
      signingName: 'kms',
      endpointEnvName: 'KMS',
      upstream: state.kms.url,
      contentType: 'application/x-amz-json-1.1',
      authorize: ({ operation, input }) => [
        {
          action: `kms:${operation}`,
          resource: typeof input.KeyId === 'string' ? input.KeyId : keyArn,
          context: Object.fromEntries(
            Object.entries((input.EncryptionContext ?? {}) as Record<string, string>).map(([k, v]) => [
              `kms:EncryptionContext:${k}`,
              v,
            ]),
          ),
        },
      ],
    }),
  );
  return {
    aws,
    secretsManager,
    extension,
    sns,
    route53,
    acmPca,
    s3,
    state,
    keyArn,
    testSecretsClient: () => sdkClientFor(aws, aws.testPrincipal),
    async close() {
      await extension.close();
      await aws.close();
      await state.close();
    },
  };
}

function sdkClientFor(aws: LoopbackAws, principal: AwsPrincipal): SecretsManagerClient {
  return new SecretsManagerClient({
    region: aws.region,
    endpoint: aws.url,
    credentials: {
      accessKeyId: principal.accessKeyId,
      secretAccessKey: LOOPBACK_SECRET_ACCESS_KEY,
      sessionToken: principal.sessionToken,
    },
  });
}
