/**
 * The state of version 0.1 (every entry one Secrets Manager secret under the stack's
 * prefix: `acme/account-…`, `certificates/<cluster>/<name>/current|previous`,
 * `pending/<cluster>/<name>`), read once to move it into the current stores (domain/state-migration.ts).
 */
export interface LegacyStateReader {
  /** The entry's text, or null when it does not exist. Any other failure is an error. */
  read(key: string): Promise<string | null>;
}
