/**
 * The three state ports on one DynamoDB table (schema.ts): locks, records and keys.
 *
 * Locks are the Powertools idempotency record's shape: one item per lock, every transition one
 * conditional write. Taking it (PutItem) succeeds when the item is absent, its `expiresAt` has
 * passed (the expiry is in the condition: TTL only cleans up, hours or days later), it is already
 * the caller's, or it is exactly the record the caller judged dead; extending it (PutItem) and
 * releasing it (DeleteItem) succeed only for its owner. A lost race is a ConditionalCheckFailed,
 * after which one consistent read names the holder.
 *
 * Records are JSON in `value`. Keys are sealed before they are written (`KeySealer`: KMS envelope
 * encryption, adapters/kms) with the item's name as encryption context, so the key of one item
 * cannot be unsealed as another's, and IAM can allow a function exactly the keys it needs.
 *
 * Only an absent item is "none". Any error (AccessDenied, a missing table, a throttle past the
 * retries, a key that cannot be unsealed) is a StateStoreError.
 */
import { StateStoreError } from '../../domain/errors';
import type {
  KeyStore,
  ListOptions,
  LockAttempt,
  LockRecord,
  LockStore,
  RecordOptions,
  RecordStore,
  StateKey,
} from '../../domain/ports';
import type { StatePorts } from '../../domain/state';
import { type DynamoDbClient, DynamoDbError } from './client';
import { KEY_CONTEXT } from './schema';

type AttributeValue = { S: string } | { N: string };
type Item = Record<string, AttributeValue>;

/** What a sealed key looks like in the table; the KMS adapter makes and opens it. */
export interface SealedKey {
  /** The data key, encrypted by KMS (base64). */
  encryptedKey: string;
  /** AES-256-GCM nonce, tag and ciphertext of the PEM (base64). */
  iv: string;
  tag: string;
  ciphertext: string;
}

export interface KeySealer {
  seal(plaintext: string, context: Record<string, string>): Promise<SealedKey>;
  open(sealed: SealedKey, context: Record<string, string>): Promise<string>;
}

export interface DynamoDbStateOptions {
  client: DynamoDbClient;
  tableName: string;
  /** Seals and opens keys; without one the keys port refuses (the check function never reads keys). */
  sealer?: KeySealer;
}

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });
const str = (item: Item | undefined, name: string): string | undefined =>
  item && name in item ? (item[name] as { S?: string }).S : undefined;
const num = (item: Item | undefined, name: string): number | undefined => {
  const value = item && name in item ? (item[name] as { N?: string }).N : undefined;
  return value === undefined ? undefined : Number(value);
};
const ttlOf = (expiresAt: Date) => Math.ceil(expiresAt.getTime() / 1000);
const expired = (item: Item, nowMs: number) => {
  const ttl = num(item, 'ttl');
  return ttl !== undefined && ttl * 1000 <= nowMs;
};

class Table {
  constructor(
    readonly client: DynamoDbClient,
    readonly name: string,
  ) {}

  key(partition: string, sort: string): Item {
    return { pk: s(partition), sk: s(sort) };
  }

  async get(partition: string, sort: string): Promise<Item | undefined> {
    const out = await this.call<{ Item?: Item }>('GetItem', {
      TableName: this.name,
      Key: this.key(partition, sort),
      ConsistentRead: true,
    });
    return out.Item;
  }

  /** A conditional write: true when written, false when the condition did not hold. */
  async conditional(operation: 'PutItem' | 'DeleteItem', input: Record<string, unknown>): Promise<boolean> {
    try {
      await this.call(operation, input);
      return true;
    } catch (error) {
      if (
        error instanceof StateStoreError &&
        (error.cause as Error | undefined)?.name === 'ConditionalCheckFailedException'
      )
        return false;
      throw error;
    }
  }

  async call<T = Record<string, unknown>>(operation: string, input: Record<string, unknown>): Promise<T> {
    try {
      return await this.client.send<T>(operation, { TableName: this.name, ...input });
    } catch (error) {
      throw stateError(operation, this.name, error);
    }
  }
}

export class DynamoDbRecords implements RecordStore {
  constructor(private readonly table: Table) {}

  async get<T>(key: StateKey): Promise<T | null> {
    const item = await this.table.get(key.partition, key.sort);
    if (!item || expired(item, Date.now())) return null;
    return parseValue<T>(item, key);
  }

  async put(key: StateKey, value: unknown, options: RecordOptions = {}): Promise<void> {
    await this.table.call('PutItem', { Item: this.item(key, value, options) });
  }

  async create(key: StateKey, value: unknown, options: RecordOptions = {}): Promise<boolean> {
    return this.table.conditional('PutItem', {
      Item: this.item(key, value, options),
      // An expired item that TTL has not removed yet counts as absent.
      ConditionExpression: 'attribute_not_exists(pk) OR #ttl <= :now',
      ExpressionAttributeNames: { '#ttl': 'ttl' },
      ExpressionAttributeValues: { ':now': n(Math.floor(Date.now() / 1000)) },
    });
  }

  async delete(key: StateKey): Promise<void> {
    await this.table.call('DeleteItem', { Key: this.table.key(key.partition, key.sort) });
  }

  async list<T>(partition: string, options: ListOptions = {}): Promise<Array<{ sort: string; value: T }>> {
    const out: Array<{ sort: string; value: T }> = [];
    const now = Date.now();
    const prefix = options.sortPrefix;
    let start: Item | undefined;
    do {
      const page: { Items?: Item[]; LastEvaluatedKey?: Item } = await this.table.call('Query', {
        KeyConditionExpression: prefix ? 'pk = :p AND begins_with(sk, :s)' : 'pk = :p',
        ExpressionAttributeValues: { ':p': s(partition), ...(prefix ? { ':s': s(prefix) } : {}) },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      });
      for (const item of page.Items ?? []) {
        if (expired(item, now)) continue;
        const sort = str(item, 'sk') as string;
        out.push({ sort, value: parseValue<T>(item, { partition, sort }) });
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  private item(key: StateKey, value: unknown, options: RecordOptions): Item {
    return {
      ...this.table.key(key.partition, key.sort),
      value: s(JSON.stringify(value)),
      ...(options.expiresAt ? { ttl: n(ttlOf(options.expiresAt)) } : {}),
    };
  }
}

export class DynamoDbKeys implements KeyStore {
  constructor(
    private readonly table: Table,
    private readonly sealer: KeySealer | undefined,
  ) {}

  async get(key: StateKey): Promise<string | null> {
    const item = await this.table.get(key.partition, key.sort);
    if (!item) return null;
    const sealed = parseValue<SealedKey>(item, key, 'sealed');
    try {
      return await this.requireSealer(key).open(sealed, contextOf(key));
    } catch (error) {
      throw keyError('unseal', key, error);
    }
  }

  async put(key: StateKey, pem: string, options: RecordOptions = {}): Promise<void> {
    let sealed: SealedKey;
    try {
      sealed = await this.requireSealer(key).seal(pem, contextOf(key));
    } catch (error) {
      throw keyError('seal', key, error);
    }
    await this.table.call('PutItem', {
      Item: {
        ...this.table.key(key.partition, key.sort),
        sealed: s(JSON.stringify(sealed)),
        ...(options.expiresAt ? { ttl: n(ttlOf(options.expiresAt)) } : {}),
      },
    });
  }

  async delete(key: StateKey): Promise<void> {
    await this.table.call('DeleteItem', { Key: this.table.key(key.partition, key.sort) });
  }

  private requireSealer(key: StateKey): KeySealer {
    if (!this.sealer)
      throw new StateStoreError(`this function has no access to keys (${key.partition}/${key.sort})`, {
        hint: 'a deployment error: only the functions that order or push certificates read keys',
      });
    return this.sealer;
  }
}

export class DynamoDbLocks implements LockStore {
  constructor(private readonly table: Table) {}

  async read(key: string): Promise<LockRecord | null> {
    const [partition, sort] = lockItemKey(key);
    return lockOf(await this.table.get(partition, sort));
  }

  async acquire(key: string, next: LockRecord, now: Date, replacing?: LockRecord): Promise<LockAttempt> {
    const values: Item = { ':now': n(now.getTime()), ':me': s(next.owner.id) };
    let condition = 'attribute_not_exists(pk) OR expiresAt <= :now OR ownerId = :me';
    if (replacing) {
      condition += ' OR (ownerId = :held AND expiresAt = :heldUntil)';
      values[':held'] = s(replacing.owner.id);
      values[':heldUntil'] = n(Date.parse(replacing.expiresAt));
    }
    return this.write(key, next, condition, values);
  }

  async extend(key: string, next: LockRecord): Promise<LockAttempt> {
    return this.write(key, next, 'ownerId = :me', { ':me': s(next.owner.id) });
  }

  async release(key: string, ownerId: string): Promise<boolean> {
    const [partition, sort] = lockItemKey(key);
    const deleted = await this.table.conditional('DeleteItem', {
      Key: this.table.key(partition, sort),
      ConditionExpression: 'attribute_not_exists(pk) OR ownerId = :me',
      ExpressionAttributeValues: { ':me': s(ownerId) },
    });
    return deleted;
  }

  private async write(key: string, next: LockRecord, condition: string, values: Item): Promise<LockAttempt> {
    const [partition, sort] = lockItemKey(key);
    const expiresAt = Date.parse(next.expiresAt);
    const written = await this.table.conditional('PutItem', {
      Item: {
        ...this.table.key(partition, sort),
        ownerId: s(next.owner.id),
        owner: s(JSON.stringify(next.owner)),
        expiresAt: n(expiresAt),
        // Cleanup only, a day after the lease: the condition above decides who holds it.
        ttl: n(Math.ceil(expiresAt / 1000) + 86_400),
      },
      ConditionExpression: condition,
      ExpressionAttributeValues: values,
    });
    if (written) return { ok: true };
    return { ok: false, holder: lockOf(await this.table.get(partition, sort)) };
  }
}

/** The three state ports on the table. */
export function dynamoDbState(options: DynamoDbStateOptions): StatePorts {
  const table = new Table(options.client, options.tableName);
  return {
    locks: new DynamoDbLocks(table),
    records: new DynamoDbRecords(table),
    keys: new DynamoDbKeys(table, options.sealer),
  };
}

/** `locks/<cluster>/<name>` as (pk `locks/<cluster>`, sk `<name>`). */
function lockItemKey(key: string): [string, string] {
  const at = key.lastIndexOf('/');
  return [key.slice(0, at), key.slice(at + 1)];
}

function lockOf(item: Item | undefined): LockRecord | null {
  if (!item) return null;
  const owner = str(item, 'owner');
  const expiresAt = num(item, 'expiresAt');
  if (owner === undefined || expiresAt === undefined) return null;
  try {
    return { owner: JSON.parse(owner) as LockRecord['owner'], expiresAt: new Date(expiresAt).toISOString() };
  } catch {
    throw new StateStoreError(
      `lock ${str(item, 'pk')}/${str(item, 'sk')} is corrupt (its owner is not JSON)`,
      {
        hint: 'delete the item; the next run takes the lock',
      },
    );
  }
}

function contextOf(key: StateKey): Record<string, string> {
  return { [KEY_CONTEXT]: `${key.partition}/${key.sort}` };
}

function parseValue<T>(item: Item, key: StateKey, attribute = 'value'): T {
  const text = str(item, attribute);
  try {
    if (text === undefined) throw new Error('missing');
    return JSON.parse(text) as T;
  } catch {
    throw new StateStoreError(`state entry ${key.partition}/${key.sort} is corrupt (not JSON)`, {
      hint: 'restore it with point-in-time recovery or delete it; a removed certificate entry means the next run orders anew',
    });
  }
}

function stateError(operation: string, table: string, error: unknown): StateStoreError {
  const name = error instanceof DynamoDbError ? error.name : ((error as Error).name ?? 'Error');
  const message = error instanceof Error ? error.message : String(error);
  return new StateStoreError(`cannot ${operation} in the state table ${table}: ${message}`, {
    cause: error,
    hint: name.includes('AccessDenied')
      ? `grant this function access to the state table ${table} (a deployment error)`
      : name === 'ResourceNotFoundException'
        ? `the state table ${table} does not exist: deploy the stack (or restore the table)`
        : 'check DynamoDB availability; the next run resumes from the saved state',
  });
}

function keyError(op: 'seal' | 'unseal', key: StateKey, error: unknown): StateStoreError {
  if (error instanceof StateStoreError) return error;
  const name = (error as Error).name ?? 'Error';
  return new StateStoreError(
    `cannot ${op} the key ${key.partition}/${key.sort} with KMS: ${name}: ${(error as Error).message}`,
    {
      cause: error,
      hint: name.includes('AccessDenied')
        ? 'grant this function kms:Decrypt / kms:GenerateDataKey on the state key for this item (a deployment error)'
        : name === 'KMSInvalidStateException' || name === 'DisabledException'
          ? 'the state KMS key is disabled or pending deletion: enable it (aws kms enable-key / cancel-key-deletion)'
          : 'check KMS availability; nothing was pushed',
    },
  );
}
