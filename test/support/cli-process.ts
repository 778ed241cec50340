/**
 * Runs the built executable (dist/cli.mjs, built by test/global-setup.ts) as its own process, as an
 * operator runs `npx rs-cert-watchdog`: what the tests see is what the bundle does, its chunks, its
 * polyfills and its start-up included.
 */
import { execFile } from 'node:child_process';

export const CLI_PATH = 'dist/cli.mjs';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `node dist/cli.mjs ...args` with exactly `env` (and PATH): nothing of the test process's
 * environment leaks in. `nodeArgs` go before the script (e.g. `--require` a recorder); `node` is another
 * Node binary than this one (the Node 24 of test/support/lambda/invoke.ts).
 */
export function runBuiltCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { nodeArgs?: readonly string[]; node?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      options.node ?? process.execPath,
      [...(options.nodeArgs ?? []), CLI_PATH, ...args],
      { env: { PATH: process.env.PATH, ...env }, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          // Killed by a signal, or not started at all: not an exit code a test should compare.
          reject(Object.assign(error, { stdout, stderr }));
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}
