/**
 * Before any worker starts:
 * - builds dist/cli.mjs once, as `npm ci` does: every CLI test runs that executable as its own
 *   process (test/support/cli-process.ts), so the tests exercise the bundle operators install, its
 *   lazily loaded chunks included. Built once because the build replaces dist/cli-chunks, which a
 *   test running the CLI at the same time would be reading;
 * - when this run includes tests that execute the Lambda bundles (test/integration, test/faults,
 *   test/lambda), fetches Node 24 and builds the bundles with one real `cdk synth` (both cached in
 *   node_modules/.cache/ until a source changes), so that no test pays for it inside its own timeout.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const RUNS_BUNDLES = /[\\/]test[\\/](integration|faults|lambda)[\\/]/;

export default async function setup(project: TestProject): Promise<void> {
  await promisify(execFile)(process.execPath, ['scripts/build-cli.mjs']);
  // The file filters of this run (`vitest run test/unit/x.test.ts`): vitest keeps them here.
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern;
  const { testFiles } = await project.globTestFiles(filters);
  if (!testFiles.some((file) => RUNS_BUNDLES.test(file))) return;
  // Loaded only then: the CDK is a large import.
  const [{ node24Binary }, { lambdaBundles }] = await Promise.all([
    import('./support/lambda/invoke'),
    import('./support/lambda/bundles'),
  ]);
  node24Binary();
  lambdaBundles();
}
