export type { AwsCredentials } from '../aws-http';
export { DynamoDbClient, type DynamoDbClientOptions, DynamoDbError } from './client';
export { KEY_CONTEXT, STATE_TABLE, stateTableDefinition } from './schema';
export {
  DynamoDbKeys,
  DynamoDbLocks,
  DynamoDbRecords,
  type DynamoDbStateOptions,
  dynamoDbState,
  type KeySealer,
  type SealedKey,
} from './state-table';
