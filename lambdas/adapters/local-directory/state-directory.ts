/**
 * The CLI's state in a local directory (config `stateDir`), the three state ports on files:
 *
 * - records: `<partition>/<sort>.json`, the value itself (`certificates/<cluster>/<name>/current.json`,
 *   `pending/<cluster>/<name>.json`, `pushes/<cluster>/<id>.json`, `acme/account-….json`), wrapped as
 *   `{"@expiresAt", "value"}` when it expires; expired ones are removed when their partition is written;
 * - keys: `keys/…/<digest>.json`, `{"pem", "expiresAt"}`, 0600 like every file here;
 * - locks: `locks/<cluster>/<name>/<generation>.json`. Each take, extension or release writes the
 *   next generation as an exclusive file, after checking the current one (free, expired, ours, or the
 *   record judged dead): two takers of one generation cannot both succeed, so the check and the
 *   write are one conditional step, as DynamoDB's condition expressions are on AWS.
 *
 * State written by version 0.1 reads as it was (certificate and account keys inline).
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
import { StateFiles } from './files';

const EXPIRES = '@expiresAt';

interface Expiring<T> {
  [EXPIRES]: string;
  value: T;
}

function unwrap<T>(parsed: unknown, now: number): { value: T; expired: boolean } {
  if (parsed && typeof parsed === 'object' && EXPIRES in parsed && 'value' in parsed) {
    const wrapped = parsed as Expiring<T>;
    return { value: wrapped.value, expired: Date.parse(wrapped[EXPIRES]) <= now };
  }
  return { value: parsed as T, expired: false };
}

export class LocalDirectoryRecords implements RecordStore {
  constructor(private readonly files: StateFiles) {}

  async get<T>(key: StateKey): Promise<T | null> {
    const name = fileOf(key);
    const text = await this.files.read(name);
    if (text === null) return null;
    const { value, expired } = unwrap<T>(parseState(text, name), Date.now());
    return expired ? null : value;
  }

  async put(key: StateKey, value: unknown, options: RecordOptions = {}): Promise<void> {
    await this.files.write(fileOf(key), serialize(value, options));
    if (options.expiresAt) await this.sweep(key.partition);
  }

  async create(key: StateKey, value: unknown, options: RecordOptions = {}): Promise<boolean> {
    return this.files.createExclusive(fileOf(key), serialize(value, options));
  }

  async delete(key: StateKey): Promise<void> {
    await this.files.remove(fileOf(key));
  }

  async list<T>(partition: string, options: ListOptions = {}): Promise<Array<{ sort: string; value: T }>> {
    const out: Array<{ sort: string; value: T }> = [];
    const now = Date.now();
    for (const sort of await this.files.list(partition)) {
      if (options.sortPrefix && !sort.startsWith(options.sortPrefix)) continue;
      const name = `${partition}/${sort}.json`;
      const text = await this.files.read(name);
      if (text === null) continue; // removed since the listing
      const { value, expired } = unwrap<T>(parseState(text, name), now);
      if (!expired) out.push({ sort, value });
    }
    return out;
  }

  /** Removes the expired entries of a partition (a few files: it is written when one is added). */
  private async sweep(partition: string): Promise<void> {
    const now = Date.now();
    for (const sort of await this.files.list(partition)) {
      const name = `${partition}/${sort}.json`;
      const text = await this.files.read(name).catch(() => null);
      if (text === null) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        continue; // reported by whoever reads it
      }
      if (unwrap(parsed, now).expired) await this.files.remove(name).catch(() => undefined);
    }
  }
}

export class LocalDirectoryKeys implements KeyStore {
  constructor(private readonly files: StateFiles) {}

  async get(key: StateKey): Promise<string | null> {
    const name = fileOf(key);
    const text = await this.files.read(name);
    if (text === null) return null;
    const entry = parseState(text, name) as { pem?: unknown };
    if (typeof entry.pem !== 'string') throw this.files.failure('read', name, new Error('EBADKEY'));
    return entry.pem;
  }

  async put(key: StateKey, pem: string, options: RecordOptions = {}): Promise<void> {
    const entry = { pem, ...(options.expiresAt ? { expiresAt: options.expiresAt.toISOString() } : {}) };
    await this.files.write(fileOf(key), JSON.stringify(entry));
    // Keys of certificates long expired are of no use to anyone: removed as new ones arrive.
    const now = Date.now();
    for (const sort of await this.files.list(key.partition)) {
      const name = `${key.partition}/${sort}.json`;
      const text = await this.files.read(name).catch(() => null);
      try {
        const expiresAt = text ? (JSON.parse(text) as { expiresAt?: string }).expiresAt : undefined;
        if (expiresAt && Date.parse(expiresAt) <= now) await this.files.remove(name);
      } catch {
        // unreadable: left for an operator
      }
    }
  }

  async delete(key: StateKey): Promise<void> {
    await this.files.remove(fileOf(key));
  }
}

interface LockFile {
  owner?: LockRecord['owner'];
  expiresAt?: string;
  releasedBy?: string;
}

const GENERATION = /^\d{12}$/;
const KEEP_GENERATIONS = 3;

export class LocalDirectoryLocks implements LockStore {
  constructor(private readonly files: StateFiles) {}

  async read(key: string): Promise<LockRecord | null> {
    return (await this.current(key)).record;
  }

  async acquire(key: string, next: LockRecord, now: Date, replacing?: LockRecord): Promise<LockAttempt> {
    return this.transition(key, next, (held) => {
      if (!held) return true;
      if (Date.parse(held.expiresAt) <= now.getTime()) return true;
      if (held.owner.id === next.owner.id) return true;
      return (
        replacing !== undefined &&
        held.owner.id === replacing.owner.id &&
        held.expiresAt === replacing.expiresAt
      );
    });
  }

  async extend(key: string, next: LockRecord): Promise<LockAttempt> {
    return this.transition(key, next, (held) => held?.owner.id === next.owner.id);
  }

  async release(key: string, ownerId: string): Promise<boolean> {
    const { generation, record } = await this.current(key);
    if (!record) return true;
    if (record.owner.id !== ownerId) return false;
    const released: LockFile = { releasedBy: ownerId };
    if (await this.files.createExclusive(generationFile(key, generation + 1), JSON.stringify(released))) {
      await this.prune(key, generation + 1);
      return true;
    }
    return (await this.current(key)).record?.owner.id !== ownerId;
  }

  /** Writes `next` as the next generation when `allowed` holds for the current one. */
  private async transition(
    key: string,
    next: LockRecord,
    allowed: (held: LockRecord | null) => boolean,
  ): Promise<LockAttempt> {
    const { generation, record } = await this.current(key);
    if (!allowed(record)) return { ok: false, holder: record };
    const written = { owner: next.owner, expiresAt: next.expiresAt } satisfies LockFile;
    if (await this.files.createExclusive(generationFile(key, generation + 1), JSON.stringify(written))) {
      await this.prune(key, generation + 1);
      return { ok: true };
    }
    // Another taker wrote that generation first.
    return { ok: false, holder: (await this.current(key)).record };
  }

  private async current(key: string): Promise<{ generation: number; record: LockRecord | null }> {
    const generations = (await this.files.list(key)).filter((g) => GENERATION.test(g));
    const last = generations.at(-1);
    if (last === undefined) return { generation: 0, record: null };
    const name = `${key}/${last}.json`;
    const text = await this.files.read(name);
    const parsed = (text === null ? {} : parseState(text, name)) as LockFile;
    const record =
      parsed.owner && parsed.expiresAt ? { owner: parsed.owner, expiresAt: parsed.expiresAt } : null;
    return { generation: Number(last), record };
  }

  /** Generations before the last few can no longer be claimed by anyone: removed. */
  private async prune(key: string, newest: number): Promise<void> {
    for (const g of await this.files.list(key).catch(() => [])) {
      if (GENERATION.test(g) && Number(g) <= newest - KEEP_GENERATIONS)
        await this.files.remove(`${key}/${g}.json`).catch(() => undefined);
    }
  }
}

/** The three state ports on one directory. */
export class LocalDirectoryStore implements StatePorts {
  readonly locks: LocalDirectoryLocks;
  readonly records: LocalDirectoryRecords;
  readonly keys: LocalDirectoryKeys;

  constructor(readonly root: string) {
    const files = new StateFiles(root);
    this.locks = new LocalDirectoryLocks(files);
    this.records = new LocalDirectoryRecords(files);
    this.keys = new LocalDirectoryKeys(files);
  }
}

function fileOf(key: StateKey): string {
  return `${key.partition}/${key.sort}.json`;
}

function generationFile(key: string, generation: number): string {
  return `${key}/${String(generation).padStart(12, '0')}.json`;
}

function serialize(value: unknown, options: RecordOptions): string {
  return JSON.stringify(
    options.expiresAt
      ? ({ [EXPIRES]: options.expiresAt.toISOString(), value } satisfies Expiring<unknown>)
      : value,
  );
}

function parseState(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new StateStoreError(`state entry ${name} is corrupt (not JSON)`, {
      hint: 'restore it from backup or remove it; a removed certificate entry means the next run orders anew',
    });
  }
}
