/**
 * The executable operators run (dist/cli.mjs), built by the project's own build script into a
 * private directory: a test never races another test's rebuild of dist/ (the build removes and
 * rewrites its chunks), and never runs a stale bundle.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface BundledRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliBundle {
  /** The built cli.mjs. */
  path: string;
  run(env: NodeJS.ProcessEnv, ...args: string[]): Promise<BundledRun>;
  close(): Promise<void>;
}

export async function buildCliBundle(): Promise<CliBundle> {
  const outdir = await mkdtemp(join(tmpdir(), 'rs-cli-bundle-'));
  await exec(process.execPath, ['scripts/build-cli.mjs', '--outdir', outdir]);
  const path = join(outdir, 'cli.mjs');
  return {
    path,
    async run(env, ...args) {
      try {
        const { stdout, stderr } = await exec(process.execPath, [path, ...args], {
          env: { PATH: process.env.PATH, ...env },
          maxBuffer: 64 * 1024 * 1024,
        });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code: number; stdout: string; stderr: string };
        if (typeof e.code !== 'number') throw error;
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    },
    close: () => rm(outdir, { recursive: true, force: true }),
  };
}
