export { type AwsCredentials, DynamoDbClient, type DynamoDbClientOptions, DynamoDbError } from './client';
export { STATE_TABLE, stateTableDefinition } from './schema';
export {
  DynamoDbKeys,
  DynamoDbLocks,
  DynamoDbRecords,
  type DynamoDbStateOptions,
  dynamoDbState,
  KEY_CONTEXT,
  type KeySealer,
  type SealedKey,
} from './state-table';
