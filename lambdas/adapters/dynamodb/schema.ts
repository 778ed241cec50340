/**
 * The state table's shape, shared by the CDK construct that creates it (lib/state-table.ts) and the
 * tests that create it in dynalite: one source, so they cannot drift.
 *
 * Every item has a partition key `pk` and a sort key `sk` (strings), and `ttl` (epoch seconds) when
 * it expires. The partition says what an item is and who may touch it (IAM `dynamodb:LeadingKeys`):
 *
 * | pk | sk | item |
 * |---|---|---|
 * | `locks/<cluster>` | `<certificate>` | a lock: `ownerId`, `owner`, `expiresAt` (ms), `ttl` |
 * | `certificates/<cluster>` | `<certificate>/current`, `/previous` | certificate record (chain, metadata, `keyRef`), no key |
 * | `keys/certificates/<cluster>` | `<certificate>/<keyRef>` | a certificate's private key, sealed with KMS |
 * | `acme` | `account-<hash>` | the ACME account record (URL, e-mail, `keyRef`) |
 * | `keys/acme` | `account-<hash>/<keyRef>` | the ACME account key, sealed with KMS |
 * | `pending` | `<cluster>/<certificate>` | a push awaiting verification (one Query reads them all) |
 * | `pushes/<cluster>` | `<push id>` | a push record, 90 days |
 * | `renewal-info/<cluster>` | `<certificate>` | an ARI window |
 * | `inspection-memory` | `manifest`, `shard-<n>` | the check's inspection memory |
 * | `migration` | `secrets-manager` | the move from the state secrets of version 0.1 |
 */
export const STATE_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  timeToLiveAttribute: 'ttl',
} as const;

/** The KMS encryption context key that names the item a sealed key belongs to (IAM conditions use it). */
export const KEY_CONTEXT = 'rs-cert-watchdog-key';

/** The DynamoDB CreateTable input of the state table (tests; the CDK table matches it, see test/cdk). */
export function stateTableDefinition(tableName: string) {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: STATE_TABLE.partitionKey, AttributeType: 'S' },
      { AttributeName: STATE_TABLE.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: STATE_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: STATE_TABLE.sortKey, KeyType: 'RANGE' },
    ],
  };
}
