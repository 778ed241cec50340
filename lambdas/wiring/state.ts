/**
 * The AWS state, chosen in this one place: the DynamoDB table named by STATE_TABLE_NAME (endpoint
 * from AWS_ENDPOINT_URL_DYNAMODB when set, as the SDK does), keys sealed with the KMS key
 * STATE_KMS_KEY_ID for the functions that read or write keys. The check function takes the table
 * without a sealer: it never touches a key, and its bundle carries no KMS client.
 */
import { DynamoDbClient, dynamoDbState, type KeySealer } from '../adapters/dynamodb';
import { maxLockLeaseMs } from '../domain/retry';
import { StateStore } from '../domain/state';
import { deployedConfig, logger, requiredEnv } from './runtime';

let client: DynamoDbClient | undefined;

export function awsState(sealer?: () => KeySealer): StateStore {
  client ??= new DynamoDbClient();
  const ports = dynamoDbState({
    client,
    tableName: requiredEnv('STATE_TABLE_NAME', process.env.STATE_TABLE_NAME),
    ...(sealer ? { sealer: sealer() } : {}),
  });
  return new StateStore(ports, {
    maxLeaseMs: maxLockLeaseMs(deployedConfig().pushRetry),
    warn: (message) => logger.warn(message),
  });
}
