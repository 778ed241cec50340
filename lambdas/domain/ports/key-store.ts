/**
 * Where private keys live: each certificate's key and the ACME account key, apart from every other
 * record, so that only the functions that push or order may read them. The local directory keeps
 * them in 0600 files; on AWS they are sealed with KMS (envelope encryption) before they are stored,
 * so a reader of the state table without the KMS grant sees only ciphertext.
 *
 * Keys are content-addressed by the caller (the sort key names the key, not a slot): a record points
 * at its key, so a crash between writing a key and the record that uses it leaves an unreferenced
 * key, never a record whose key is another certificate's.
 */
import type { RecordOptions, StateKey } from './record-store';

export interface KeyStore {
  /** The PEM, or null when there is none. A key that cannot be unsealed is an error, never "none". */
  get(key: StateKey): Promise<string | null>;
  put(key: StateKey, pem: string, options?: RecordOptions): Promise<void>;
  delete(key: StateKey): Promise<void>;
}
