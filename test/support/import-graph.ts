/**
 * The import graph esbuild builds for one entry of this repository with the given options (nothing
 * written): the bundling tests read in it what a bundle reaches.
 */
import { join, resolve } from 'node:path';
import { type BuildOptions, build, type Metafile } from 'esbuild';

const REPO = resolve(import.meta.dirname, '../..');

export async function importGraph(entry: string, options: BuildOptions): Promise<Metafile> {
  const result = await build({
    ...options,
    absWorkingDir: REPO,
    entryPoints: [entry],
    outdir: join(REPO, 'dist', 'unused'),
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return result.metafile;
}
