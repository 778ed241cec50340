/**
 * The state directory's files: every entry one file, 0600, in 0700 directories. A replaced file is
 * written whole beside its target, fsynced and renamed over it (a reader sees the old or the new
 * content, never a mix); an exclusive file is written whole and then linked into place, which
 * fails if the name exists (the filesystem picks one winner, and the winner's content is complete).
 */
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { StateStoreError } from '../../domain/errors';
import { type RegularFileRead, readRegularFile } from './regular-file';

const TEMPORARY = /\.tmp-[0-9a-f-]+$/;

export class StateFiles {
  constructor(readonly root: string) {}

  /** The file of a relative path of [A-Za-z0-9._-] segments; anything else is refused. */
  path(name: string): string {
    if (
      !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(name) ||
      name.split('/').some((s) => s === '..' || s === '.')
    ) {
      throw new StateStoreError(`invalid state key ${JSON.stringify(name)}`);
    }
    return join(this.root, name);
  }

  /**
   * The file's text, or null when it does not exist. Any other failure is a StateStoreError. Only a
   * regular file is read, opened without blocking (./regular-file.ts): a named pipe, a directory or
   * a link to a device in its place is a StateStoreError saying so, never a hang.
   */
  async read(name: string): Promise<string | null> {
    const path = this.path(name);
    let read: RegularFileRead;
    try {
      read = await readRegularFile(path);
    } catch (error) {
      throw this.failure('read', name, error);
    }
    if (read.kind === 'missing') return null;
    if (read.kind === 'not-regular') {
      throw new StateStoreError(
        `state ${name} in ${this.root}: ${path} is ${read.what}, not a regular file; it was not read`,
        {
          hint: `remove ${path} (or move it aside): the watchdog writes its state files itself, as regular files`,
        },
      );
    }
    return read.text;
  }

  async write(name: string, value: string): Promise<void> {
    const target = this.path(name);
    const temporary = await this.writeTemporary(name, target, value);
    try {
      await rename(temporary, target);
      await syncDir(dirname(target));
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      throw this.failure('write', name, error);
    }
  }

  /** Writes the file only if no file has its name: false when one does. */
  async createExclusive(name: string, value: string): Promise<boolean> {
    const target = this.path(name);
    const temporary = await this.writeTemporary(name, target, value);
    try {
      await link(temporary, target);
      await syncDir(dirname(target));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw this.failure('write', name, error);
    } finally {
      await rm(temporary, { force: true }).catch(() => undefined);
    }
  }

  async remove(name: string): Promise<void> {
    try {
      await rm(this.path(name), { force: true });
    } catch (error) {
      throw this.failure('remove', name, error);
    }
  }

  /** The names (relative to `dir`, without `.json`) of the `.json` files under a directory, sorted. */
  async list(dir: string): Promise<string[]> {
    const base = this.path(dir);
    let entries: string[];
    try {
      entries = await readdir(base, { recursive: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw this.failure('list', dir, error);
    }
    return entries
      .map((entry) => relative(base, join(base, entry)).split(sep).join('/'))
      .filter((entry) => entry.endsWith('.json') && !TEMPORARY.test(entry))
      .map((entry) => entry.slice(0, -'.json'.length))
      .sort();
  }

  failure(op: string, name: string, error: unknown): StateStoreError {
    if (error instanceof StateStoreError) return error;
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return new StateStoreError(`cannot ${op} state ${name} in ${this.root}: ${code}`, {
      cause: error,
      hint:
        code === 'ENOSPC'
          ? 'the disk is full; free space, nothing was pushed'
          : 'check that stateDir exists, is writable by this user, and has free space',
    });
  }

  private async writeTemporary(name: string, target: string, value: string): Promise<string> {
    // Unique per write: concurrent writers of one name (same process or not) never share a temp file.
    const temporary = `${target}.tmp-${randomUUID()}`;
    try {
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await handle.writeFile(value, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      return temporary;
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      throw this.failure('write', name, error);
    }
  }
}

/** Makes a rename or link durable. Some filesystems refuse fsync on a directory; that is not fatal. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY).catch(() => undefined);
  await handle?.sync().catch(() => undefined);
  await handle?.close();
}
