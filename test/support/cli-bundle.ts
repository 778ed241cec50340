/**
 * The executable operators run (dist/cli.mjs), as test/support/built-cli.ts builds it: a private
 * copy, so a test never races another test's rebuild of dist/, and never runs a stale bundle.
 */
import { type BuiltCli, buildCli } from './built-cli';

export type BundledRun = Awaited<ReturnType<BuiltCli['run']>>;

export interface CliBundle extends BuiltCli {
  /** Nothing to remove: the copy is shared by the test process. */
  close(): Promise<void>;
}

export async function buildCliBundle(): Promise<CliBundle> {
  return { ...(await buildCli()), close: async () => undefined };
}
