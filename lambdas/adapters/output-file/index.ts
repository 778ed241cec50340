/**
 * Files the CLI writes for other programs to read while it runs: the metrics file node_exporter's
 * textfile collector scrapes, the HTML report a web server may serve. Each is written whole or not at
 * all: a temporary file in the same directory (named `.<name>.<random>.tmp`, so never `*.prom`: the
 * textfile collector reads only those), flushed, then renamed over the target. A reader sees the old
 * file or the new one, never half of one.
 */
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from '../../domain/errors';

/** Readable by the collector or web server's user, like any file it serves; never a secret. */
const OUTPUT_MODE = 0o644;

/** The temporary name a write of `target` uses (exported for the tests' check of the name). */
export function temporaryPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomUUID()}.tmp`);
}

export async function writeFileAtomically(target: string, content: string): Promise<void> {
  const temporary = temporaryPathFor(target);
  try {
    const handle = await open(
      temporary,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
      OUTPUT_MODE,
    );
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}

/**
 * Checks, before any network call, that an output file can be written where the option says: its
 * directory exists and is writable, and the path is not a directory. A ConfigError (exit 2) names
 * the option.
 */
export async function checkOutputPath(option: string, path: string): Promise<void> {
  const target = resolve(path);
  const dir = dirname(target);
  const fail = (why: string, hint: string) => {
    throw new ConfigError(`${option}: ${why}`, { hint });
  };
  const dirStat = await stat(dir).catch(() => undefined);
  if (!dirStat) fail(`the directory ${dir} does not exist`, 'create the directory, or give another path');
  if (!dirStat!.isDirectory()) fail(`${dir} is not a directory`, 'give a path inside a directory');
  const targetStat = await stat(target).catch(() => undefined);
  if (targetStat?.isDirectory()) fail(`${target} is a directory, not a file`, 'give a file name');
  try {
    await access(dir, constants.W_OK);
  } catch {
    fail(
      `the directory ${dir} is not writable by this user`,
      'the file is written as a temporary file in the same directory, then renamed: allow writing there',
    );
  }
}
