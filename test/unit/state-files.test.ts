/**
 * A state file that is not a regular file (a named pipe, a directory, a link to a device) is never
 * read: the store opens without blocking and checks what it opened, so nothing hangs on a FIFO or
 * reads /dev/zero forever. (Through the CLI: test/cli/edges.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInspectionMemory } from '../../lambdas/adapters/local-directory/inspection-memory';
import { readRegularFile } from '../../lambdas/adapters/local-directory/regular-file';
import { LocalDirectoryStore } from '../../lambdas/adapters/local-directory/secret-store';
import { StateStoreError } from '../../lambdas/domain/errors';

describe('state files that are not regular files', () => {
  let dir: string;
  const cases: Array<[string, string, (path: string) => Promise<void>]> = [
    ['a named pipe', 'a named pipe (FIFO)', async (path) => void execFileSync('mkfifo', [path])],
    ['a directory', 'a directory', async (path) => void (await mkdir(path))],
    ['a symlink to /dev/zero', 'a character device', (path) => symlink('/dev/zero', path)],
  ];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'state-files-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each(cases)(
    '%s is refused at once, with a StateStoreError that says what it is',
    async (_n, kind, make) => {
      const root = await mkdtemp(join(dir, 'store-'));
      await make(join(root, 'inspection-memory.json'));
      const error = await new LocalDirectoryStore(root).read('inspection-memory').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StateStoreError);
      expect((error as StateStoreError).message).toBe(
        `state inspection-memory in ${root}: ${join(root, 'inspection-memory.json')} is ${kind}, not a regular file; it was not read`,
      );
      expect((error as StateStoreError).hint).toMatch(/^remove .*inspection-memory\.json/);

      const warnings: string[] = [];
      expect(await loadInspectionMemory(root, (line) => warnings.push(line))).toBe(0);
      expect(warnings).toEqual([
        expect.stringMatching(
          new RegExp(
            `^warning: the inspection memory was not loaded \\(.*is ${kind.replace(/[()]/g, '\\$&')}, not a regular file; it was not read\\); this run parses every certificate$`,
          ),
        ),
      ]);
    },
  );

  it('reads a regular file, and a symlink to one; a missing file is null', async () => {
    await writeFile(join(dir, 'plain.json'), '{"a":1}');
    await symlink(join(dir, 'plain.json'), join(dir, 'link.json'));
    expect(await readRegularFile(join(dir, 'plain.json'))).toEqual({ kind: 'file', text: '{"a":1}' });
    expect(await readRegularFile(join(dir, 'link.json'))).toEqual({ kind: 'file', text: '{"a":1}' });
    expect(await readRegularFile(join(dir, 'none.json'))).toEqual({ kind: 'missing' });
  });
});
