/**
 * The executable as `npm ci` builds it (scripts/build-cli.mjs, the same options), built once per
 * test file into a directory of its own (another test file rebuilding dist/ can never pull a chunk
 * from under a running command), and run as its own process.
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface BuiltCli {
  path: string;
  run(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

export async function buildCli(): Promise<BuiltCli> {
  const dir = await mkdtemp(join(tmpdir(), 'rs-cert-watchdog-cli-'));
  await run(process.execPath, ['scripts/build-cli.mjs', '--outdir', dir]);
  const path = join(dir, 'cli.mjs');
  return {
    path,
    async run(env, ...args) {
      try {
        const { stdout, stderr } = await run(process.execPath, [path, ...args], {
          env: { PATH: process.env.PATH, ...env },
          maxBuffer: 16 * 1024 * 1024,
        });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    },
  };
}
