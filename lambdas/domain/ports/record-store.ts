/**
 * Where the watchdog keeps what it remembers that is not a secret: certificate metadata and their
 * chains (current and previous), the ACME account's record, pending-verification markers, push
 * records, ARI windows. Keyless by design: a private key never goes through this port (KeyStore).
 *
 * An entry is addressed by a partition and a sort key. The partition groups what one function may
 * touch (IAM grants go by partition prefix on AWS, `dynamodb:LeadingKeys`), the sort key names the
 * entry in it: `certificates/<cluster>` + `<name>/current`, `pending` + `<cluster>/<name>`. Both are
 * `/`-separated paths of [A-Za-z0-9._-] segments.
 */
export interface StateKey {
  partition: string;
  sort: string;
}

export interface RecordOptions {
  /**
   * When the entry may be forgotten (a DynamoDB TTL, a file swept later). Reads never return an
   * entry past it, whether or not it has been cleaned up yet.
   */
  expiresAt?: Date;
}

export interface RecordStore {
  /** The entry, or null when there is none. Any failure to read is an error, never "none". */
  get<T>(key: StateKey): Promise<T | null>;
  /** Replaces the entry durably (atomic: a reader sees the old or the new value, never a mix). */
  put(key: StateKey, value: unknown, options?: RecordOptions): Promise<void>;
  /** Writes the entry only if there is none: false when one exists (its value is left as it is). */
  create(key: StateKey, value: unknown, options?: RecordOptions): Promise<boolean>;
  delete(key: StateKey): Promise<void>;
  /**
   * Every live entry of one partition, in sort key order; with `sortPrefix`, only those whose sort key
   * starts with it (one check shard's inspection memory, not the fleet's).
   */
  list<T>(partition: string, options?: ListOptions): Promise<Array<{ sort: string; value: T }>>;
}

export interface ListOptions {
  sortPrefix?: string;
}
