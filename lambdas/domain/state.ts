/**
 * What the watchdog remembers, on top of any SecretStore: the ACME account, each issued
 * certificate with its key (saved before the first push, so a crash or a retry never orders
 * twice), the certificate it replaced (for rollback), and a lock per certificate.
 */
import { createHash } from 'node:crypto';
import { StateLockedError, StateStoreError } from './errors';
import type { SecretStore } from './ports';

export interface AcmeAccountState {
  directoryUrl: string;
  accountKeyPem: string;
  accountUrl: string | null;
  email: string;
  createdAt: string;
}

export interface StoredCertificate {
  cluster: string;
  name: string;
  domains: string[];
  keyType: string;
  /** Full chain, leaf first. */
  certificatePem: string;
  keyPem: string;
  notAfter: string;
  serialNumber: string;
  fingerprint256: string;
  issuedAt: string;
  /** When the cluster accepted it (200), null until then. */
  pushedAt: string | null;
  /** When verification confirmed the cluster holds and serves it; null or absent until then. */
  verifiedAt?: string | null;
  /** Set when validation refused it: it is kept for inspection but never pushed or reused. */
  rejected?: string;
  /** Set when an operator's rollback put this (earlier) certificate back: the renewal-only rules do not apply. */
  rollback?: boolean;
}

/** Who holds a lock: a CLI process (host, pid, start) or a state machine execution. */
export interface LockOwner {
  /** Unique per taker; a handle proves ownership by it. */
  id: string;
  /** One line for messages: "rs-cert-watchdog on host1 (pid 4242, started 2026-…)" or an execution ARN. */
  description: string;
  host?: string;
  pid?: number;
  startedAt?: string;
  execution?: string;
}

export interface LockHandle {
  key: string;
  owner: LockOwner;
  generation: number;
  expiresAt: string;
}

interface LockRecord {
  generation: number;
  owner: LockOwner | null;
  expiresAt: string;
}

/**
 * Marks a certificate whose PUT was sent but whose verification has not finished. It holds no key
 * (the check step may read it without access to private keys): `pushing` before the PUT, `pushed`
 * once the cluster answered 200.
 */
export interface PendingVerification {
  fingerprint256: string;
  phase: 'pushing' | 'pushed';
  at: string;
}

/**
 * One push to a cluster: every certificate due on it in one run went in one call (PUT
 * /v1/cluster/certificates), or, on an older cluster, in consecutive update_cert calls of the same
 * step. Keyless. The Active-Active follow-up records its progress here, so a retried step never
 * starts a second update of a database whose task it already started.
 */
export interface PushRecord {
  id: string;
  cluster: string;
  at: string;
  api: 'certificates' | 'update_cert';
  /** Why update_cert was used although the bulk API was chosen (a 404/405), when it was. */
  fellBack?: string;
  certificates: Array<{ name: string; fingerprint256: string }>;
  /** Set for an operator's rollback. */
  rollback?: boolean;
  /** Set when it was pushed outside every maintenance window because a certificate would expire first. */
  windowOverride?: { nextOpen: string | null };
  activeActive?: Record<string, { taskId: string; status: string; errors?: string[] }>;
}

export interface LockOptions {
  owner: LockOwner;
  leaseMs: number;
  now: Date;
  /**
   * Whether a holder is still alive, when that can be known (a CLI process on this host: false if
   * its pid is gone). Undefined means unknown: the lease decides.
   */
  ownerAlive?: (owner: LockOwner) => boolean | undefined;
}

const segment = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');

export class StateStore {
  constructor(private readonly store: SecretStore) {}

  async account(directoryUrl: string): Promise<AcmeAccountState | null> {
    return this.readJson<AcmeAccountState>(accountKey(directoryUrl));
  }

  /**
   * Records a new account unless another run recorded one first (false): concurrent first runs
   * then share one account instead of registering one each.
   */
  async createAccount(account: AcmeAccountState): Promise<boolean> {
    return this.store.claim(accountKey(account.directoryUrl), 1, JSON.stringify(account));
  }

  async saveAccount(account: AcmeAccountState): Promise<void> {
    await this.store.write(accountKey(account.directoryUrl), JSON.stringify(account));
  }

  /** The newest certificate issued for this cluster and name, pushed or not. */
  async issued(cluster: string, name: string): Promise<StoredCertificate | null> {
    return this.readJson<StoredCertificate>(certKey(cluster, name, 'current'));
  }

  async saveIssued(certificate: StoredCertificate): Promise<void> {
    await this.store.write(
      certKey(certificate.cluster, certificate.name, 'current'),
      JSON.stringify(certificate),
    );
  }

  async previous(cluster: string, name: string): Promise<StoredCertificate | null> {
    return this.readJson<StoredCertificate>(certKey(cluster, name, 'previous'));
  }

  /** Keeps what the cluster held before our push, so an operator can roll back. */
  async savePrevious(certificate: StoredCertificate): Promise<void> {
    await this.store.write(
      certKey(certificate.cluster, certificate.name, 'previous'),
      JSON.stringify(certificate),
    );
  }

  async push(cluster: string, id: string): Promise<PushRecord | null> {
    return this.readJson<PushRecord>(pushKey(cluster, id));
  }

  async savePush(record: PushRecord): Promise<void> {
    await this.store.write(pushKey(record.cluster, record.id), JSON.stringify(record));
  }

  /** Keyless marker of a push awaiting verification (see PendingVerification). */
  async pending(cluster: string, name: string): Promise<PendingVerification | null> {
    const marker = await this.readJson<PendingVerification | { cleared: true }>(pendingKey(cluster, name));
    return marker && 'fingerprint256' in marker ? marker : null;
  }

  async markPending(cluster: string, name: string, marker: PendingVerification): Promise<void> {
    await this.store.write(pendingKey(cluster, name), JSON.stringify(marker));
  }

  async clearPending(cluster: string, name: string): Promise<void> {
    await this.store.write(pendingKey(cluster, name), JSON.stringify({ cleared: true }));
  }

  /**
   * Takes the lock for one certificate of one cluster: two runs never order, push or verify it at
   * the same time. The lock is a record with a generation number: taking, extending or releasing it
   * claims the next generation, which exactly one caller can do. A lock is taken over when its lease
   * has run out, or at once when its holder is known to be dead (a CLI process that no longer
   * exists on this host).
   */
  async lock(cluster: string, name: string, options: LockOptions): Promise<LockHandle> {
    const key = lockKey(cluster, name);
    const held = await this.readJson<LockRecord>(key);
    if (held?.owner && new Date(held.expiresAt) > options.now && options.ownerAlive?.(held.owner) !== false) {
      throw new StateLockedError(
        `${name} on cluster "${cluster}" is being renewed by ${held.owner.description}, lock held until ${held.expiresAt}`,
        { hint: 'this run left it alone (nothing ordered or pushed); the holder reports its own outcome' },
      );
    }
    return this.claimLock(key, cluster, name, (held?.generation ?? 0) + 1, options);
  }

  /**
   * Extends a lock this run holds for the next step; throws StateLockedError when it is no longer
   * ours (its lease ran out and another run took it), so that step does nothing.
   */
  async extend(handle: LockHandle, options: Omit<LockOptions, 'owner' | 'ownerAlive'>): Promise<LockHandle> {
    const held = await this.readJson<LockRecord>(handle.key);
    const [, cluster = '', name = ''] = handle.key.split('/');
    if (held?.owner?.id !== handle.owner.id) {
      throw new StateLockedError(
        `${name} on cluster "${cluster}": this run's lock ran out${held?.owner ? ` and ${held.owner.description} holds it until ${held.expiresAt}` : ''}`,
        { hint: 'this step did nothing; the holder reports its own outcome' },
      );
    }
    return this.claimLock(handle.key, cluster, name, held.generation + 1, {
      ...options,
      owner: handle.owner,
    });
  }

  async unlock(handle: LockHandle): Promise<void> {
    await this.release(handle.key, handle.owner.id);
  }

  /**
   * Releases a certificate's lock if `ownerId` holds it: the failure path of a state machine
   * execution whose step died (a timeout) before handing its lock on.
   */
  async releaseIfHeld(cluster: string, name: string, ownerId: string): Promise<void> {
    await this.release(lockKey(cluster, name), ownerId);
  }

  private async release(key: string, ownerId: string): Promise<void> {
    const held = await this.readJson<LockRecord>(key);
    if (held?.owner?.id !== ownerId) return; // expired and taken over: not ours to release
    const released: LockRecord = {
      generation: held.generation + 1,
      owner: null,
      expiresAt: new Date(0).toISOString(),
    };
    await this.store.claim(key, released.generation, JSON.stringify(released));
  }

  private async claimLock(
    key: string,
    cluster: string,
    name: string,
    generation: number,
    options: Pick<LockOptions, 'owner' | 'leaseMs' | 'now'>,
  ): Promise<LockHandle> {
    const expiresAt = new Date(options.now.getTime() + options.leaseMs).toISOString();
    const record: LockRecord = { generation, owner: options.owner, expiresAt };
    if (await this.store.claim(key, generation, JSON.stringify(record)))
      return { key, owner: options.owner, generation, expiresAt };
    // The winner's record may land a moment after its claim: wait briefly to name it.
    let winner: LockRecord | null = null;
    for (let i = 0; i < 10 && (winner?.generation ?? 0) < generation; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 25));
      winner = await this.readJson<LockRecord>(key).catch(() => null);
    }
    throw new StateLockedError(
      `${name} on cluster "${cluster}": ${winner?.owner?.description ?? 'another run'} took the lock at the same moment${winner ? `, held until ${winner.expiresAt}` : ''}`,
      { hint: 'this run left it alone (nothing ordered or pushed); the holder reports its own outcome' },
    );
  }

  private async readJson<T>(key: string): Promise<T | null> {
    const text = await this.store.read(key);
    if (text === null) return null;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new StateStoreError(`state entry ${key} is corrupt (not JSON)`, {
        hint: 'restore it from backup or remove it; a removed certificate entry means the next run orders anew',
      });
    }
  }
}

function accountKey(directoryUrl: string): string {
  return `acme/account-${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16)}`;
}

function pushKey(cluster: string, id: string): string {
  return `pushes/${segment(cluster)}/${segment(id)}`;
}

function lockKey(cluster: string, name: string): string {
  return `locks/${segment(cluster)}/${segment(name)}`;
}

/** Keyless: the check step may read these without any access to keys (their own IAM area). */
function pendingKey(cluster: string, name: string): string {
  return `pending/${segment(cluster)}/${segment(name)}`;
}

function certKey(cluster: string, name: string, slot: 'current' | 'previous'): string {
  return `certificates/${segment(cluster)}/${segment(name)}/${slot}`;
}
