/**
 * What the watchdog remembers, on top of any SecretStore: the ACME account, each issued
 * certificate with its key (saved before the first push, so a crash or a retry never orders
 * twice), the certificate it replaced (for rollback), and a lock per certificate.
 */
import { createHash, randomUUID } from 'node:crypto';
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
}

export interface LockHandle {
  key: string;
  owner: string;
  generation: number;
}

interface LockRecord {
  generation: number;
  owner: string | null;
  expiresAt: string;
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

  /**
   * Takes the lock for one certificate of one cluster, so that two runs never order or push it at
   * the same time. The lock is a record with a generation number: taking or releasing it claims the
   * next generation, which exactly one caller can do. A lock held past `ttlMs` is considered
   * abandoned (its run crashed) and can be taken over the same way.
   */
  async lock(cluster: string, name: string, ttlMs: number, now = new Date()): Promise<LockHandle> {
    const key = `locks/${segment(cluster)}/${segment(name)}`;
    const owner = randomUUID();
    const held = await this.readJson<LockRecord>(key);
    if (held?.owner && new Date(held.expiresAt) > now) {
      throw new StateLockedError(
        `another run is renewing ${name} on cluster "${cluster}" (lock held until ${held.expiresAt})`,
        { hint: 'this run skipped it; nothing was ordered or pushed' },
      );
    }
    const generation = (held?.generation ?? 0) + 1;
    const record: LockRecord = {
      generation,
      owner,
      expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
    };
    if (await this.store.claim(key, generation, JSON.stringify(record))) return { key, owner, generation };
    throw new StateLockedError(
      `another run took the lock for ${name} on cluster "${cluster}" at the same moment`,
      {
        hint: 'this run skipped it; nothing was ordered or pushed',
      },
    );
  }

  async unlock(handle: LockHandle): Promise<void> {
    const held = await this.readJson<LockRecord>(handle.key);
    if (held?.owner !== handle.owner) return; // expired and taken over: not ours to release
    const released: LockRecord = {
      generation: held.generation + 1,
      owner: null,
      expiresAt: new Date(0).toISOString(),
    };
    await this.store.claim(handle.key, released.generation, JSON.stringify(released));
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

function certKey(cluster: string, name: string, slot: 'current' | 'previous'): string {
  return `certificates/${segment(cluster)}/${segment(name)}/${slot}`;
}
