/**
 * Per-certificate locks with an owner and a lease. Every transition is ONE conditional write that
 * the store decides atomically (a DynamoDB condition expression; an exclusively created file), so
 * two runs can never both believe they hold a lock:
 *
 * - acquire: succeeds when the lock is free (never taken, released, or its lease has run out: the
 *   expiry is part of the condition), when it is already the caller's (re-entrant: the same owner id
 *   takes it again, with the new lease), or when it still holds exactly the record the caller judged
 *   dead (`replacing`: a crashed CLI process, a lease no product sets);
 * - extend: succeeds only while the caller's owner id holds it;
 * - release: removes it only when the caller's owner id holds it; a stranger's release changes nothing.
 *
 * A store cleans up expired locks on its own schedule (TTL); that never decides who holds one.
 */

/** Who holds a lock: a CLI process (host, pid, start) or a state machine execution. */
export interface LockOwner {
  /** Unique per taker; a handle proves ownership by it. */
  id: string;
  /** One line for messages: "rs-cert-watchdog on host1 (pid 4242, started 2026-…)" or an execution ARN. */
  description: string;
  host?: string;
  pid?: number;
  /** When the process started (ISO), for messages. */
  startedAt?: string;
  /**
   * The process's identity beyond its pid, where the system tells: on Linux the boot id and the
   * start time in clock ticks from /proc/<pid>/stat (field 22). A pid reused by another process has
   * another start time.
   */
  processStart?: string;
  execution?: string;
}

export interface LockRecord {
  owner: LockOwner;
  /** ISO time the lease ends. */
  expiresAt: string;
}

export type LockAttempt = { ok: true } | { ok: false; holder: LockRecord | null };

export interface LockStore {
  /** The live or expired record, or null when the lock is free (never taken or released). */
  read(key: string): Promise<LockRecord | null>;
  acquire(key: string, next: LockRecord, now: Date, replacing?: LockRecord): Promise<LockAttempt>;
  extend(key: string, next: LockRecord): Promise<LockAttempt>;
  /** True when this owner held it and it is released now; false when someone else holds it. */
  release(key: string, ownerId: string): Promise<boolean>;
}
