/**
 * Reading a file that must be a regular file (a state file) without ever blocking on what it might
 * be instead. `readFile` on a named pipe waits for a writer forever; on a device it reads whatever
 * the device gives (/dev/zero never ends). So the file is opened non-blocking (O_NONBLOCK: opening a
 * FIFO for reading returns at once, with or without a writer), and only read when fstat on that same
 * descriptor says it is a regular file: no window between a check and the open.
 */
import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

export type RegularFileRead =
  | { kind: 'file'; text: string }
  | { kind: 'missing' }
  /** Something else is there: `what` says what ("a named pipe (FIFO)", "a directory", …). */
  | { kind: 'not-regular'; what: string };

/** Reads `path` if it is a regular file (a symlink to one is followed); never blocks. */
export async function readRegularFile(path: string): Promise<RegularFileRead> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return { kind: 'not-regular', what: kindOf(stats) };
    return { kind: 'file', text: await handle.readFile('utf8') };
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
