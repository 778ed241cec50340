/**
 * What the watchdog remembers, through three ports that say what they hold: locks (one per
 * certificate, with an owner and a lease), records (certificate metadata and chains, the ACME
 * account's record, pending-verification markers, push records) and keys (each certificate's
 * private key and the ACME account key). Each issued certificate is saved with its key before the
 * first push, so a crash or a retry never orders twice; the certificate it replaced is kept for
 * rollback.
 *
 * Keys are content-addressed: a record names its key by a digest (`keyRef`), and the key is
 * written before the record that names it. A crash between the two leaves an unreferenced key
 * (cleaned up with its certificate's expiry), never a record pointing at another certificate's key.
 */
import { createHash } from 'node:crypto';
import { StateLockedError, StateStoreError } from './errors';
import type { KeyStore, LockOwner, LockRecord, LockStore, RecordStore, StateKey } from './ports';
import { CLOCK_SKEW_MS, maxLockLeaseMs } from './retry';

export type { LockOwner } from './ports';

/** The three stores one backend provides (adapters/local-directory, adapters/dynamodb). */
export interface StatePorts {
  locks: LockStore;
  records: RecordStore;
  keys: KeyStore;
}

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

/** A stored certificate without its key: what the steps that never push read (no key access). */
export type CertificateRecord = Omit<StoredCertificate, 'keyPem'>;

/** What the records hold for a certificate: its key only by reference. */
interface CertificateEntry extends CertificateRecord {
  keyRef: string | null;
  /** Written by version 0.1 in a local state directory: the key inline. */
  keyPem?: string;
}

interface AccountEntry extends Omit<AcmeAccountState, 'accountKeyPem'> {
  keyRef: string;
  /** Written by version 0.1 in a local state directory: the key inline. */
  accountKeyPem?: string;
}

export interface LockHandle {
  key: string;
  owner: LockOwner;
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
   * Whether a holder is still alive, when that can be known (a CLI process on this host: false when
   * no process with its pid and start time runs). Undefined means unknown: the lease decides.
   */
  ownerAlive?: (owner: LockOwner) => boolean | undefined;
}

export interface StateStoreOptions {
  /**
   * The longest lease this product sets (retry.ts maxLockLeaseMs with the config's pushRetry). A
   * lock held with a longer lease is invalid and taken over. Default: the longest any accepted
   * configuration sets.
   */
  maxLeaseMs?: number;
  /** Told when a lock is taken over from a holder that is gone or whose lease is invalid. */
  warn?: (message: string) => void;
}

const DAY_MS = 86_400_000;
/** How long a pending marker is kept when no run resumes it (a daily run resumes it the next day). */
const PENDING_KEPT_MS = 30 * DAY_MS;
/** Push records are history after their run: kept for 90 days. */
const PUSH_KEPT_MS = 90 * DAY_MS;
/** A key outlives its certificate by this much; a key whose certificate does not parse is kept this long. */
const KEY_KEPT_AFTER_EXPIRY_MS = 30 * DAY_MS;
const UNREADABLE_KEY_KEPT_MS = 90 * DAY_MS;

const segment = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');

export class StateStore {
  private readonly maxLeaseMs: number;

  constructor(
    private readonly ports: StatePorts,
    private readonly options: StateStoreOptions = {},
  ) {
    this.maxLeaseMs = options.maxLeaseMs ?? maxLockLeaseMs();
  }

  /** The records port, for what lives beside the certificates (ARI windows, the inspection memory). */
  get records(): RecordStore {
    return this.ports.records;
  }

  async account(directoryUrl: string): Promise<AcmeAccountState | null> {
    const entry = await this.ports.records.get<AccountEntry>(accountKey(directoryUrl));
    if (!entry) return null;
    const { keyRef, accountKeyPem: inline, ...account } = entry;
    const keyPem = inline ?? (await this.ports.keys.get(accountKeyKey(directoryUrl, keyRef)));
    if (!keyPem) {
      throw new StateStoreError(`the ACME account key of ${directoryUrl} is missing from the state`, {
        hint: 'restore it from backup (or point-in-time recovery); without it a new account must be registered',
      });
    }
    return { ...account, accountKeyPem: keyPem };
  }

  /**
   * Records a new account unless another run recorded one first (false): concurrent first runs
   * then share one account instead of registering one each.
   */
  async createAccount(account: AcmeAccountState): Promise<boolean> {
    const keyRef = keyDigest(account.accountKeyPem);
    const keyKey = accountKeyKey(account.directoryUrl, keyRef);
    await this.ports.keys.put(keyKey, account.accountKeyPem);
    const { accountKeyPem: _key, ...rest } = account;
    if (await this.ports.records.create(accountKey(account.directoryUrl), { ...rest, keyRef })) return true;
    const winner = await this.ports.records.get<AccountEntry>(accountKey(account.directoryUrl));
    if (winner?.keyRef !== keyRef) await this.ports.keys.delete(keyKey);
    return false;
  }

  async saveAccount(account: AcmeAccountState): Promise<void> {
    const keyRef = keyDigest(account.accountKeyPem);
    await this.ports.keys.put(accountKeyKey(account.directoryUrl, keyRef), account.accountKeyPem);
    const { accountKeyPem: _key, ...rest } = account;
    await this.ports.records.put(accountKey(account.directoryUrl), { ...rest, keyRef });
  }

  /** The newest certificate issued for this cluster and name, pushed or not, with its key. */
  async issued(cluster: string, name: string): Promise<StoredCertificate | null> {
    return this.withKey(await this.ports.records.get<CertificateEntry>(certKey(cluster, name, 'current')));
  }

  /** The same without its key: for the steps that never push (no access to keys needed). */
  async issuedRecord(cluster: string, name: string): Promise<CertificateRecord | null> {
    return withoutKey(await this.ports.records.get<CertificateEntry>(certKey(cluster, name, 'current')));
  }

  /** Saves a certificate and its key (the key first): an order, or a rollback staging the kept one. */
  async saveIssued(certificate: StoredCertificate): Promise<void> {
    await this.saveCertificate(certificate, 'current');
  }

  /**
   * Records what happened to the saved certificate (pushed, verified, refused) without touching its
   * key. Does nothing, and answers false, when the saved certificate is no longer this one.
   */
  async updateIssued(
    cluster: string,
    name: string,
    fingerprint256: string,
    patch: Partial<Pick<StoredCertificate, 'pushedAt' | 'verifiedAt' | 'rejected'>>,
  ): Promise<boolean> {
    const key = certKey(cluster, name, 'current');
    const entry = await this.ports.records.get<CertificateEntry>(key);
    if (!entry || entry.fingerprint256 !== fingerprint256) return false;
    await this.ports.records.put(key, { ...entry, ...patch });
    return true;
  }

  async previous(cluster: string, name: string): Promise<StoredCertificate | null> {
    return this.withKey(await this.ports.records.get<CertificateEntry>(certKey(cluster, name, 'previous')));
  }

  async previousRecord(cluster: string, name: string): Promise<CertificateRecord | null> {
    return withoutKey(await this.ports.records.get<CertificateEntry>(certKey(cluster, name, 'previous')));
  }

  /** Keeps what the cluster held before our push, so an operator can roll back. */
  async savePrevious(certificate: StoredCertificate): Promise<void> {
    await this.saveCertificate(certificate, 'previous');
  }

  async push(cluster: string, id: string): Promise<PushRecord | null> {
    return this.ports.records.get<PushRecord>(pushKey(cluster, id));
  }

  async savePush(record: PushRecord): Promise<void> {
    await this.ports.records.put(pushKey(record.cluster, record.id), record, {
      expiresAt: new Date(Date.parse(record.at) + PUSH_KEPT_MS),
    });
  }

  /** Keyless marker of a push awaiting verification (see PendingVerification). */
  async pending(cluster: string, name: string): Promise<PendingVerification | null> {
    return livePending(
      await this.ports.records.get<PendingVerification | { cleared: true }>(pendingKey(cluster, name)),
    );
  }

  /**
   * Every pending marker at once (one read of one partition: there are seldom any), as a lookup by
   * cluster and certificate name. The check's plan asks it for every managed certificate.
   */
  async pendingMarkers(): Promise<(cluster: string, name: string) => PendingVerification | null> {
    const entries = await this.ports.records.list<PendingVerification | { cleared: true }>(PENDING_PARTITION);
    const markers = new Map(entries.map((e) => [e.sort, livePending(e.value)]));
    return (cluster, name) => markers.get(pendingKey(cluster, name).sort) ?? null;
  }

  async markPending(cluster: string, name: string, marker: PendingVerification): Promise<void> {
    await this.ports.records.put(pendingKey(cluster, name), marker, {
      expiresAt: new Date(Date.parse(marker.at) + PENDING_KEPT_MS),
    });
  }

  async clearPending(cluster: string, name: string): Promise<void> {
    await this.ports.records.delete(pendingKey(cluster, name));
  }

  /**
   * Takes the lock for one certificate of one cluster: two runs never order, push or verify it at
   * the same time. One conditional write: it is taken when free, when its lease has run out, or when
   * it is already this owner's (a Step Functions retry of the same execution re-enters its lock). A
   * holder that is gone (a CLI process whose pid and start time no longer run on this host) or whose
   * lease is longer than any this product sets is taken over at once, with a warning.
   */
  async lock(cluster: string, name: string, options: LockOptions): Promise<LockHandle> {
    const key = lockKey(cluster, name);
    const next: LockRecord = {
      owner: options.owner,
      expiresAt: new Date(options.now.getTime() + options.leaseMs).toISOString(),
    };
    let holder: LockRecord | null = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      const taken = await this.ports.locks.acquire(key, next, options.now);
      if (taken.ok) return { key, owner: options.owner, expiresAt: next.expiresAt };
      holder = taken.holder;
      if (!holder) continue; // released between the write and the read: try again
      const invalid = this.invalidHolder(holder, options);
      if (!invalid) break;
      const takenOver = await this.ports.locks.acquire(key, next, options.now, holder);
      if (takenOver.ok) {
        this.options.warn?.(
          `took over the lock of ${name} on cluster "${cluster}" from ${holder.owner.description}: ${invalid}`,
        );
        return { key, owner: options.owner, expiresAt: next.expiresAt };
      }
      holder = takenOver.holder;
      if (holder && !this.invalidHolder(holder, options)) break;
    }
    throw new StateLockedError(
      holder
        ? `${name} on cluster "${cluster}" is being renewed by ${holder.owner.description}, lock held until ${holder.expiresAt}`
        : `${name} on cluster "${cluster}": another run took the lock at the same moment`,
      { hint: 'this run left it alone (nothing ordered or pushed); the holder reports its own outcome' },
    );
  }

  /**
   * Extends a lock this run holds for the next step; throws StateLockedError when it is no longer
   * ours (its lease ran out and another run took it), so that step does nothing.
   */
  async extend(handle: LockHandle, options: Omit<LockOptions, 'owner' | 'ownerAlive'>): Promise<LockHandle> {
    const expiresAt = new Date(options.now.getTime() + options.leaseMs).toISOString();
    const extended = await this.ports.locks.extend(handle.key, { owner: handle.owner, expiresAt });
    if (extended.ok) return { ...handle, expiresAt };
    const [, cluster = '', name = ''] = handle.key.split('/');
    const holder = extended.holder;
    throw new StateLockedError(
      `${name} on cluster "${cluster}": this run's lock ran out${holder ? ` and ${holder.owner.description} holds it until ${holder.expiresAt}` : ''}`,
      { hint: 'this step did nothing; the holder reports its own outcome' },
    );
  }

  async unlock(handle: LockHandle): Promise<void> {
    await this.ports.locks.release(handle.key, handle.owner.id);
  }

  /**
   * Releases a certificate's lock if `ownerId` holds it: the failure path of a state machine
   * execution whose step died (a timeout) before handing its lock on. Anyone else's lock stays.
   */
  async releaseIfHeld(cluster: string, name: string, ownerId: string): Promise<void> {
    await this.ports.locks.release(lockKey(cluster, name), ownerId);
  }

  /** Why a live-looking holder does not count, or null when it does. */
  private invalidHolder(holder: LockRecord, options: LockOptions): string | null {
    const left = Date.parse(holder.expiresAt) - options.now.getTime();
    if (!(left <= this.maxLeaseMs + CLOCK_SKEW_MS)) {
      return `its lease runs until ${holder.expiresAt}, longer than any this product sets (${Math.round(this.maxLeaseMs / 60_000)} minutes): no run of it wrote that lease`;
    }
    if (options.ownerAlive?.(holder.owner) === false) {
      return `no process with pid ${holder.owner.pid} and its start time runs on ${holder.owner.host} (it exited, or the pid now belongs to another process)`;
    }
    return null;
  }

  /**
   * For the migration from earlier versions: saves a certificate (current or previous) and its key
   * unless the slot already holds one (false). A newer certificate is never replaced by an old one.
   */
  async importCertificate(certificate: StoredCertificate, slot: 'current' | 'previous'): Promise<boolean> {
    return this.saveCertificate(certificate, slot, true);
  }

  /** For the migration: records a pending marker unless one is there (false). */
  async importPending(cluster: string, name: string, marker: PendingVerification): Promise<boolean> {
    return this.ports.records.create(pendingKey(cluster, name), marker, {
      expiresAt: new Date(Math.max(Date.parse(marker.at) || 0, Date.now()) + PENDING_KEPT_MS),
    });
  }

  private async saveCertificate(
    certificate: StoredCertificate,
    slot: 'current' | 'previous',
    onlyIfAbsent = false,
  ): Promise<boolean> {
    const { keyPem, ...record } = certificate;
    const keyRef = keyPem ? keyDigest(keyPem) : null;
    if (keyPem && keyRef) {
      const notAfter = Date.parse(certificate.notAfter);
      const expiresAt = Number.isNaN(notAfter)
        ? new Date(Date.now() + UNREADABLE_KEY_KEPT_MS)
        : new Date(notAfter + KEY_KEPT_AFTER_EXPIRY_MS);
      await this.ports.keys.put(certKeyKey(certificate.cluster, certificate.name, keyRef), keyPem, {
        expiresAt,
      });
    }
    const entry: CertificateEntry = { ...record, keyRef };
    const key = certKey(certificate.cluster, certificate.name, slot);
    if (onlyIfAbsent) return this.ports.records.create(key, entry);
    await this.ports.records.put(key, entry);
    return true;
  }

  private async withKey(entry: CertificateEntry | null): Promise<StoredCertificate | null> {
    if (!entry) return null;
    const { keyRef, keyPem: inline, ...record } = entry;
    if (inline !== undefined) return { ...record, keyPem: inline };
    if (keyRef === null || keyRef === undefined) return { ...record, keyPem: '' };
    const keyPem = await this.ports.keys.get(certKeyKey(record.cluster, record.name, keyRef));
    if (keyPem === null) {
      throw new StateStoreError(
        `the private key of the saved ${record.name} certificate of cluster "${record.cluster}" is missing from the state`,
        {
          hint: 'restore it from backup (or point-in-time recovery); the next run orders a new certificate otherwise',
        },
      );
    }
    return { ...record, keyPem };
  }
}

function withoutKey(entry: CertificateEntry | null): CertificateRecord | null {
  if (!entry) return null;
  const { keyRef: _ref, keyPem: _inline, ...record } = entry;
  return record;
}

function livePending(marker: PendingVerification | { cleared: true } | null): PendingVerification | null {
  // `{cleared: true}` is how version 0.1 cleared a marker.
  return marker && 'fingerprint256' in marker ? marker : null;
}

/** Names a key by its content (domain-separated SHA-256): the same key is the same entry. */
function keyDigest(pem: string): string {
  return createHash('sha256').update('rs-cert-watchdog private key\0').update(pem).digest('hex').slice(0, 32);
}

const PENDING_PARTITION = 'pending';

function accountSort(directoryUrl: string): string {
  return `account-${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16)}`;
}

function accountKey(directoryUrl: string): StateKey {
  return { partition: 'acme', sort: accountSort(directoryUrl) };
}

function accountKeyKey(directoryUrl: string, keyRef: string): StateKey {
  return { partition: 'keys/acme', sort: `${accountSort(directoryUrl)}/${keyRef}` };
}

function pushKey(cluster: string, id: string): StateKey {
  return { partition: `pushes/${segment(cluster)}`, sort: segment(id) };
}

/** `locks/<cluster>/<name>`: the LockStore's key. */
function lockKey(cluster: string, name: string): string {
  return `locks/${segment(cluster)}/${segment(name)}`;
}

/** Keyless, in one partition: the check step reads them all at once without any access to keys. */
function pendingKey(cluster: string, name: string): StateKey {
  return { partition: PENDING_PARTITION, sort: `${segment(cluster)}/${segment(name)}` };
}

function certKey(cluster: string, name: string, slot: 'current' | 'previous'): StateKey {
  return { partition: `certificates/${segment(cluster)}`, sort: `${segment(name)}/${slot}` };
}

function certKeyKey(cluster: string, name: string, keyRef: string): StateKey {
  return { partition: `keys/certificates/${segment(cluster)}`, sort: `${segment(name)}/${keyRef}` };
}
