/**
 * Reading a file that must be a regular file (a state file, a PEM the configuration names) without
 * ever blocking on what it might be instead. `readFile` on a named pipe waits for a writer forever;
 * on a device it reads whatever the device gives (/dev/zero never ends). So the file is opened
 * non-blocking (O_NONBLOCK: opening a FIFO for reading returns at once, with or without a writer),
 * and only read when fstat on that same descriptor says it is a regular file: no window between a
 * check and the open.
 */
import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/** The file is not a regular file: what it is instead, in words. */
export class NotRegularFileError extends Error {
  override readonly name = 'NotRegularFileError';
  constructor(
    readonly path: string,
    readonly kind: string,
  ) {
    super(`${path} is ${kind}, not a regular file`);
  }
}

/** The content of a regular file, or null when it does not exist. Throws NotRegularFileError for anything else. */
export async function readRegularFile(path: string): Promise<string | null> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new NotRegularFileError(path, kindOf(stats));
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}
