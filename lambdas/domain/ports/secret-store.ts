/** Where the watchdog keeps its secrets: ACME account, issued certificates and keys, locks. */
/** A small key-value store of secrets. Keys are `/`-separated paths of [A-Za-z0-9._-] segments. */
export interface SecretStore {
  read(key: string): Promise<string | null>;
  /** Replaces the value durably (atomic: a reader sees the old or the new value, never a mix). */
  write(key: string, value: string): Promise<void>;
  /**
   * Sets `key` to `value` as its `generation`-th claim, unless that generation was claimed before
   * (by anyone, with any value): a compare-and-set on a counter, exactly one caller wins each
   * generation. The basis of the per-certificate lock.
   */
  claim(key: string, generation: number, value: string): Promise<boolean>;
}
