/**
 * The CLI operators run (`npx rs-cert-watchdog`, dist/cli.mjs), as a separate process: built once
 * per test process by scripts/build-cli.mjs (the same build as `npm ci`) into a directory of its
 * own, so that test files running side by side never rebuild each other's copy mid-run.
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CliRun } from './world';

const run = promisify(execFile);
let built: Promise<string> | undefined;

/** The path of a freshly built cli.mjs (built on first use). */
export function builtCli(): Promise<string> {
  built ??= (async () => {
    const outdir = await mkdtemp(join(tmpdir(), 'rs-cert-watchdog-cli-'));
    await run(process.execPath, ['scripts/build-cli.mjs', '--outdir', outdir]);
    return join(outdir, 'cli.mjs');
  })();
  return built;
}

/** Runs the built CLI with only PATH and `env` in its environment; never throws on an exit code. */
export async function runBuiltCli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliRun> {
  const cli = await builtCli();
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      env: { PATH: process.env.PATH, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export interface BuiltCli {
  path: string;
  run(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliRun>;
}

/** The built CLI as an object: its path, and a runner. */
export async function buildCli(): Promise<BuiltCli> {
  return { path: await builtCli(), run: runBuiltCli };
}
