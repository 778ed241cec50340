/**
 * The state table (lambdas/adapters/dynamodb/schema.ts) and who may touch which of its items.
 *
 * One table, on demand, with point-in-time recovery, encrypted with the stack's KMS key, TTL on
 * `ttl`, kept when the stack is deleted (it holds the certificates' keys). Each function is granted
 * the partitions it needs, by `dynamodb:LeadingKeys` (the partition key's prefix names what an item
 * is: locks/, certificates/, keys/certificates/, pending, …), and only the actions it uses
 * (GetItem and Query to read; PutItem and DeleteItem to write: no Scan, no UpdateItem, no batch).
 *
 * Private keys are sealed by the functions themselves (KMS envelope encryption, adapters/kms) with
 * the item's name as encryption context: a function may kms:Decrypt or kms:GenerateDataKey only for
 * the key items it needs (`kms:EncryptionContext:rs-cert-watchdog-key`). The table's own encryption
 * at rest uses the same key only through DynamoDB (`kms:ViaService`).
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { KEY_CONTEXT, STATE_TABLE } from '../lambdas/adapters/dynamodb/schema';

/** What the table holds, by partition key (schema.ts). */
export const STATE_AREAS = {
  locks: 'locks/*',
  certificates: 'certificates/*',
  certificateKeys: 'keys/certificates/*',
  acme: 'acme',
  acmeKeys: 'keys/acme',
  pending: 'pending',
  pushes: 'pushes/*',
  renewalInfo: 'renewal-info/*',
  inspectionMemory: 'inspection-memory',
  migration: 'migration',
} as const;
export type StateArea = keyof typeof STATE_AREAS;
/** `write` puts and deletes items (for key areas: seals keys), `read` gets and queries them (opens keys). */
export type StateAccess = 'read' | 'write' | 'readWrite';

const KEY_AREAS: ReadonlySet<StateArea> = new Set(['certificateKeys', 'acmeKeys']);

const TABLE_ACTIONS = {
  read: ['dynamodb:GetItem', 'dynamodb:Query'],
  write: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
} as const;
/** What DynamoDB asks KMS for on the caller's behalf (the table is encrypted with the stack's key). */
const TABLE_KEY_ACTIONS = {
  read: ['kms:Decrypt', 'kms:DescribeKey'],
  write: ['kms:Encrypt', 'kms:GenerateDataKey'],
} as const;
/** What a function asks KMS itself, to open or seal a private key. */
const SEAL_ACTIONS = { read: ['kms:Decrypt'], write: ['kms:GenerateDataKey'] } as const;

/**
 * What each function needs of the state, and why:
 * - check reads the pending markers (a push to resume) and keeps the ARI windows and the inspection
 *   memory between runs; it never touches a certificate or a key;
 * - issue takes the lock, uses the ACME account (created on first use) and saves the certificate
 *   with its key; a rollback opens the kept (previous) key;
 * - push opens the key it pushes, extends the lock, keeps what it replaced (previous, with its key),
 *   marks the push pending and records it;
 * - verify extends the lock, records verifiedAt and clears the marker: no key;
 * - activeActive extends the lock and keeps the follow-up's tasks in the push record;
 * - notify reads the certificate for the alert and releases the lock: no key;
 * - migrateState moves earlier versions' state in (once): it writes, never opens, keys.
 */
export const FUNCTION_STATE_ACCESS = {
  check: { pending: 'read', renewalInfo: 'readWrite', inspectionMemory: 'readWrite' },
  issue: {
    locks: 'readWrite',
    certificates: 'readWrite',
    certificateKeys: 'readWrite',
    acme: 'readWrite',
    acmeKeys: 'readWrite',
  },
  push: {
    locks: 'readWrite',
    certificates: 'readWrite',
    certificateKeys: 'readWrite',
    pending: 'readWrite',
    pushes: 'readWrite',
  },
  verify: { locks: 'readWrite', certificates: 'readWrite', pending: 'readWrite' },
  activeActive: { locks: 'readWrite', pushes: 'readWrite' },
  notify: { locks: 'readWrite', certificates: 'read' },
  migrateState: {
    acme: 'readWrite',
    acmeKeys: 'write',
    certificates: 'readWrite',
    certificateKeys: 'write',
    pending: 'readWrite',
    migration: 'readWrite',
  },
} as const satisfies Record<string, Partial<Record<StateArea, StateAccess>>>;

export type StateRole = keyof typeof FUNCTION_STATE_ACCESS;

/**
 * A key item's encryption context is its partition and sort key (`keys/acme/<account>/<key>`): the
 * items of a partition `p` are `p/*` (one of `keys/certificates/*` already is).
 */
const keyItems = (partition: string) => (partition.endsWith('/*') ? partition : `${partition}/*`);

const reads = (access: StateAccess) => access === 'read' || access === 'readWrite';
const writes = (access: StateAccess) => access === 'write' || access === 'readWrite';

export class StateTable {
  readonly table: dynamodb.Table;

  constructor(
    private readonly scope: Construct,
    readonly key: kms.IKey,
  ) {
    this.table = new dynamodb.Table(scope, 'StateTable', {
      partitionKey: { name: STATE_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: STATE_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      timeToLiveAttribute: STATE_TABLE.timeToLiveAttribute,
      // It holds the certificates' private keys: deleting the stack must not delete them.
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
    });
  }

  /** One function's share (FUNCTION_STATE_ACCESS): its partitions, its actions, its keys. */
  grantFunction(grantee: iam.IGrantable, needs: Partial<Record<StateArea, StateAccess>>): void {
    const areas = Object.entries(needs) as Array<[StateArea, StateAccess]>;
    const partitions = (which: (a: StateAccess) => boolean) =>
      areas.filter(([, access]) => which(access)).map(([area]) => STATE_AREAS[area]);
    const readAreas = partitions(reads);
    const writeAreas = partitions(writes);
    const leadingKeys = (values: string[]) => ({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': values },
    });
    if (readAreas.length > 0)
      this.allow(grantee, TABLE_ACTIONS.read, [this.table.tableArn], leadingKeys(readAreas));
    if (writeAreas.length > 0)
      this.allow(grantee, TABLE_ACTIONS.write, [this.table.tableArn], leadingKeys(writeAreas));
    this.allow(
      grantee,
      [...TABLE_KEY_ACTIONS.read, ...(writeAreas.length > 0 ? TABLE_KEY_ACTIONS.write : [])],
      [this.key.keyArn],
      { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this.scope).region}.amazonaws.com` } },
    );
    const keyAreas = (which: (a: StateAccess) => boolean) =>
      areas
        .filter(([area, access]) => KEY_AREAS.has(area) && which(access))
        .map(([area]) => keyItems(STATE_AREAS[area]));
    for (const [which, actions] of [
      [reads, SEAL_ACTIONS.read],
      [writes, SEAL_ACTIONS.write],
    ] as const) {
      const items = keyAreas(which);
      if (items.length > 0)
        this.allow(grantee, actions, [this.key.keyArn], {
          StringLike: { [`kms:EncryptionContext:${KEY_CONTEXT}`]: items },
        });
    }
  }

  /** An operator's access to every item (and key) of the table: reading, or reading and writing. */
  grantAll(grantee: iam.IGrantable, access: 'read' | 'readWrite'): iam.Grant {
    const write = access === 'readWrite';
    const viaDynamoDb = {
      StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this.scope).region}.amazonaws.com` },
    };
    const keyItems = { StringLike: { [`kms:EncryptionContext:${KEY_CONTEXT}`]: ['keys/*'] } };
    return [
      this.allow(
        grantee,
        [...TABLE_ACTIONS.read, 'dynamodb:Scan', ...(write ? TABLE_ACTIONS.write : [])],
        [this.table.tableArn],
      ),
      this.allow(
        grantee,
        [...TABLE_KEY_ACTIONS.read, ...(write ? TABLE_KEY_ACTIONS.write : [])],
        [this.key.keyArn],
        viaDynamoDb,
      ),
      this.allow(
        grantee,
        [...SEAL_ACTIONS.read, ...(write ? SEAL_ACTIONS.write : [])],
        [this.key.keyArn],
        keyItems,
      ),
    ].reduce((a, b) => a.combine(b));
  }

  private allow(
    grantee: iam.IGrantable,
    actions: readonly string[],
    resourceArns: string[],
    conditions?: Record<string, Record<string, unknown>>,
  ): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...actions],
      resourceArns,
      ...(conditions ? { conditions } : {}),
    });
  }
}
