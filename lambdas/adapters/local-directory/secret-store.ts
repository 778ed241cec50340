/** SecretStore in a local directory: one file per key, 0600, written atomically (write, fsync, rename). */
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StateStoreError } from '../../domain/errors';
import type { SecretStore } from '../../domain/ports';
import { type RegularFileRead, readRegularFile } from './regular-file';

export class LocalDirectoryStore implements SecretStore {
  constructor(private readonly root: string) {}

  /**
   * Only a regular file is read, opened without blocking (./regular-file.ts): a named pipe, a
   * directory or a link to a device in its place is a StateStoreError saying so, never a hang.
   */
  async read(key: string): Promise<string | null> {
    const path = this.path(key);
    let read: RegularFileRead;
    try {
      read = await readRegularFile(path);
    } catch (error) {
      throw this.failure('read', key, error);
    }
    if (read.kind === 'missing') return null;
    if (read.kind === 'not-regular') {
      throw new StateStoreError(
        `state ${key} in ${this.root}: ${path} is ${read.what}, not a regular file; it was not read`,
        {
          hint: `remove ${path} (or move it aside): the watchdog writes its state files itself, as regular files`,
        },
      );
    }
    return read.text;
  }

  async write(key: string, value: string): Promise<void> {
    const target = this.path(key);
    // Unique per write: concurrent writers of one key (same process or not) never share a temp file.
    const temporary = `${target}.${randomUUID()}.tmp`;
    try {
      await this.ensureDir(dirname(target));
      const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await handle.writeFile(value, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, target);
      await this.syncDir(dirname(target));
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      throw this.failure('write', key, error);
    }
  }

  async claim(key: string, generation: number, value: string): Promise<boolean> {
    // One marker file per generation, created exclusively: the filesystem picks the single winner.
    const markers = `${this.path(key)}.claims`;
    try {
      await this.ensureDir(markers);
      const handle = await open(
        join(markers, String(generation)),
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
        0o600,
      );
      await handle.close();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw this.failure('claim', key, error);
    }
    await this.write(key, value);
    // Older markers can no longer be claimed by anyone who read a current value; keep the last few.
    if (generation > 3)
      await rm(join(markers, String(generation - 3)), { force: true }).catch(() => undefined);
    return true;
  }

  private path(key: string): string {
    if (
      !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(key) ||
      key.split('/').some((s) => s === '..' || s === '.')
    ) {
      throw new StateStoreError(`invalid state key ${JSON.stringify(key)}`);
    }
    return join(this.root, `${key}.json`);
  }

  private async ensureDir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  }

  private async syncDir(dir: string): Promise<void> {
    // Makes the rename itself durable. Some filesystems refuse fsync on a directory; that is not fatal.
    const handle = await open(dir, constants.O_RDONLY).catch(() => undefined);
    await handle?.sync().catch(() => undefined);
    await handle?.close();
  }

  private failure(op: string, key: string, error: unknown): StateStoreError {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return new StateStoreError(`cannot ${op} state ${key} in ${this.root}: ${code}`, {
      cause: error,
      hint:
        code === 'ENOSPC'
          ? 'the disk is full; free space, nothing was pushed'
          : 'check that stateDir exists, is writable by this user, and has free space',
    });
  }
}
