/**
 * The CLI operators run (`npx rs-cert-watchdog`, dist/cli.mjs), as a separate process: the executable
 * test/global-setup.ts builds once per test run (nothing rebuilds dist/ while tests run), run through
 * test/support/cli-process.ts. These are the shapes some test files prefer.
 */
import { resolve } from 'node:path';
import { CLI_PATH, type CliRun, runBuiltCli as runCli } from './cli-process';

/** The path of the built cli.mjs. */
export async function builtCli(): Promise<string> {
  return resolve(CLI_PATH);
}

/** Runs the built CLI with only PATH and `env` in its environment; never throws on an exit code. */
export function runBuiltCli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliRun> {
  return runCli(args, env);
}

export interface BuiltCli {
  path: string;
  run(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliRun>;
}

/** The built CLI as an object: its path, and a runner. */
export async function buildCli(): Promise<BuiltCli> {
  return { path: await builtCli(), run: runBuiltCli };
}
