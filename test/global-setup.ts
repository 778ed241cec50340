/**
 * Builds dist/cli.mjs once, as `npm ci` does, before any test file runs: every CLI test runs that
 * executable as its own process (test/support/cli-process.ts), so the tests exercise the bundle
 * operators install, its lazily loaded chunks included. Built once because the build replaces
 * dist/cli-chunks, which a test running the CLI at the same time would be reading.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export default async function setup(): Promise<void> {
  await promisify(execFile)(process.execPath, ['scripts/build-cli.mjs']);
}
